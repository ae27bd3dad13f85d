"""Learned manipulation localisation: the shipped `forensic_unet` network (unmask.learned.archs).

A U-Net on an ImageNet MobileNetV2 encoder (Sandler et al. CVPR 2018) with a forensic branch injected into
it: SRM and Bayar-constrained residuals (ManTra-Net, Wu et al. CVPR 2019) and the heatmaps of four
training-free detectors, two views fused as in MVSS-Net (Chen et al. ICCV 2021). Trained by `unmask train
configs/train/forensic_unet.yaml` on synthetic edits of authentic photos and the CASIA v1 training groups
(docs/models/forensic_unet.md gives its data, held-out numbers and failure modes). It runs on the image at its
own resolution: no resizing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import NotApplicable
from ...media import ImageMedia
from .. import wording
from ..evidence import Evidence
from ..network import LearnedDetector

MIN_SIDE = 32


@dataclass
class UNetOutput:
    """Native output: the network's image probability and its per-pixel probability map."""

    probability: float
    mask_probability: np.ndarray


class ForensicUNetDetector(LearnedDetector):
    name = "forensic_unet"
    version = "2"
    model_name = "forensic_unet"
    modalities = ("image",)
    outputs = ("score", "heatmap", "mask")
    profiles = ("default", "thorough")
    paper = ("Chen et al. ICCV 2021 (MVSS-Net); Wu et al. CVPR 2019 (ManTra-Net); Bayar & Stamm 2018; "
             "Sandler et al. CVPR 2018 (MobileNetV2)")
    description = ("Learned localiser (U-Net on an ImageNet MobileNetV2, plus SRM/Bayar residuals and four "
                   "forensic maps) trained on synthetic edits and CASIA v1; maps spliced, copied, retouched or "
                   "re-compressed regions.")

    def predict(self, media: ImageMedia) -> UNetOutput:
        if min(media.height, media.width) < MIN_SIDE:
            raise NotApplicable(f"the image is smaller than {MIN_SIDE} px on a side")
        prob, mask = self.run(self.inputs(media))
        return UNetOutput(prob, mask if mask is not None else np.zeros((media.height, media.width), np.float32))

    def to_evidence(self, native: UNetOutput, media: ImageMedia) -> Evidence:
        region = native.mask_probability >= 0.5
        frac = wording.share(region)  # the mask's share: what the user sees on the overlay
        p = native.probability
        marks = (f"its mask (map at or above 0.5) marks {wording.of_image(frac)}" if region.any() else
                 "its map stays under 0.5 everywhere (no mask)")
        summary = wording.say(
            p,
            clear=f"A trained localiser finds signs of editing (probability {p:.2f}); {marks}.",
            unclear=f"A trained localiser finds weak or unclear signs of editing (probability {p:.2f}); {marks}.",
            none=f"A trained localiser finds no clear sign of editing (probability {p:.2f}); {marks}.",
        )
        return Evidence(score=p, summary=summary, heatmap=native.mask_probability,
                        mask=region if region.any() else None,
                        details={"masked_fraction": frac, "region_share": frac, "band": wording.band(p),
                                 **self.model_details()})
