"""Base classes for detectors that run a shipped network: lazy loading, one place for it.

The networks themselves (definitions, weights, model cards) are the package `unmask.learned`; this module is
the detector side of them, named for what such a detector runs so the two are not confused.

The network is loaded on first use and kept on the detector instance (one per Analyzer, so no global
state); its model card travels into the evidence details so a report names the exact weights used. The
detector's version carries a hash of the shipped weights ("1+3fa2c9d1"), so benchmark caches, calibrations
and the verdict models notice a retrained model instead of mixing its scores with the old one's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import NotApplicable
from . import wording
from .base import Detector
from .evidence import Evidence


def weights_hash(model_name: str) -> str:
    """First 8 hex digits of the SHA-256 of the shipped weights file, or "unshipped"."""
    from ..learned.store import weights_dir

    path = weights_dir() / f"{model_name}.safetensors"
    if not path.is_file():
        return "unshipped"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


class LearnedDetector(Detector):
    """Set `model_name` (a model shipped in unmask/learned/weights); `run(rgb)` gives (P(fake), map|None)."""

    model_name: ClassVar[str]
    extra = "learned"
    requires = ("torch", "safetensors")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model_name" in cls.__dict__:
            cls.version = f"{cls.__dict__.get('version', '1')}+{weights_hash(cls.model_name)}"

    def __init__(self) -> None:
        self._net: Any = None
        self._maps: Any = None
        self.card: dict[str, Any] = {}

    def net(self) -> Any:
        if self._net is None:
            from ..learned.infer import for_inference
            from ..learned.store import load_model

            net, self.card = load_model(self.model_name)
            self._net = for_inference(net)
        return self._net

    def inputs(self, media: Any) -> np.ndarray:
        """The network's input for an image: RGB, plus the training-free maps it was trained with (if any),
        computed by those detectors from the file as in training (unmask.detectors.maps)."""
        names = getattr(self.net(), "maps", [])
        if not names:
            return media.rgb
        if self._maps is None:
            from .maps import MapMaker

            self._maps = MapMaker(names)
        return np.concatenate([media.rgb, self._maps(media)], axis=2)

    def run(self, image: np.ndarray) -> tuple[float, np.ndarray | None]:
        """(P(fake), per-pixel map or None) for the network input `image` (RGB, or `inputs(media)`)."""
        from ..learned.infer import predict_image

        return predict_image(self.net(), image)

    def model_details(self) -> dict[str, Any]:
        return {"model": self.model_name, "model_digest": self.card.get("trained", {}).get("digest"),
                "model_date": self.card.get("trained", {}).get("date")}


@dataclass
class AIImageOutput:
    """Native output: the network's probability that the image was made by a generative model."""

    probability: float


class AIImageDetector(LearnedDetector):
    """An image-level AI-generation classifier (npr, spectral_residual): set `min_side`, `model_label` (as
    in "the NPR model needs ...") and `reads` (as in "a model that reads the <reads> left by ...")."""

    modalities = ("image",)
    outputs = ("score", "attribution")
    profiles = ("default", "thorough")
    min_side: ClassVar[int] = 64
    model_label: ClassVar[str]
    reads: ClassVar[str]

    def predict(self, media: Any) -> AIImageOutput:
        if min(media.height, media.width) < self.min_side:
            raise NotApplicable(f"the image is {media.width}x{media.height}: {self.model_label} needs at least "
                                f"{self.min_side} px on each side")
        prob, _ = self.run(media.rgb)
        return AIImageOutput(prob)

    def to_evidence(self, native: AIImageOutput, media: Any) -> Evidence:
        """Score, attribution and one plain sentence."""
        p = native.probability

        def says(verdict: str) -> str:
            return f"A model that reads the {self.reads} left by AI image generators says this image {verdict} " \
                   f"(probability {p:.2f})."

        summary = wording.say(p, clear=says("looks AI-generated"),
                              unclear=says("shows weak or unclear signs of AI generation"),
                              none=says("shows no clear sign of AI generation"))
        held = self.card.get("heldout", {})
        return Evidence(score=p, summary=summary, attribution={"ai-generated": p},
                        details={**self.model_details(), "heldout_auc_simulated": held.get("image_auc"),
                                 "band": wording.band(p)})
