"""Learned manipulation localisation: the shipped `forensic_unet` network (unmask.learned.archs).

An encoder-decoder over RGB plus SRM and Bayar-constrained residuals (ManTra-Net, Wu et al. CVPR 2019;
MVSS-Net, Chen et al. ICCV 2021), trained by `unmask train configs/train/forensic_unet.yaml` on synthetic
edits of authentic photos and the CASIA v1 training groups (docs/models/forensic_unet.md gives its data,
held-out numbers and failure modes). It runs on the image at its own resolution: no resizing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import NotApplicable
from ...media import ImageMedia
from ..evidence import Evidence
from ..learned import LearnedDetector

MIN_SIDE = 32


@dataclass
class UNetOutput:
    """Native output: the network's image probability and its per-pixel probability map."""

    probability: float
    mask_probability: np.ndarray


class ForensicUNetDetector(LearnedDetector):
    name = "forensic_unet"
    version = "1"
    model_name = "forensic_unet"
    modalities = ("image",)
    outputs = ("score", "heatmap", "mask")
    profiles = ("default", "thorough")
    paper = "Wu et al. CVPR 2019 (ManTra-Net); Chen et al. ICCV 2021 (MVSS-Net); Bayar & Stamm 2018"
    description = ("Learned localiser (small U-Net on RGB + SRM/Bayar residuals) trained on synthetic edits and "
                   "CASIA v1; maps spliced, copied, retouched or re-compressed regions.")

    def predict(self, media: ImageMedia) -> UNetOutput:
        if min(media.height, media.width) < MIN_SIDE:
            raise NotApplicable(f"the image is smaller than {MIN_SIDE} px on a side")
        prob, mask = self.run(self.inputs(media))
        return UNetOutput(prob, mask if mask is not None else np.zeros((media.height, media.width), np.float32))

    def to_evidence(self, native: UNetOutput, media: ImageMedia) -> Evidence:
        region = native.mask_probability >= 0.5
        frac = float(region.mean())
        if native.probability >= 0.5 and frac > 0:
            summary = (f"A trained localiser finds signs of editing (probability {native.probability:.2f}), "
                       f"concentrated in {frac:.1%} of the image.")
        elif native.probability >= 0.5:
            summary = f"A trained localiser finds signs of editing (probability {native.probability:.2f})."
        else:
            summary = f"A trained localiser finds no clear sign of editing (probability {native.probability:.2f})."
        return Evidence(score=native.probability, summary=summary, heatmap=native.mask_probability,
                        mask=region if region.any() else None,
                        details={"masked_fraction": frac, **self.model_details()})
