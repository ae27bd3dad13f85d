"""Base class for detectors that run a shipped network (unmask.learned): lazy loading, one place for it.

The network is loaded on first use and kept on the detector instance (one per Analyzer, so no global
state); its model card travels into the evidence details so a report names the exact weights used.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Detector


class LearnedDetector(Detector):
    """Set `model_name` (a model shipped in unmask/learned/weights); `run(rgb)` gives (P(fake), map|None)."""

    model_name: ClassVar[str]
    extra = "learned"
    requires = ("torch", "safetensors")

    def __init__(self) -> None:
        self._net: Any = None
        self.card: dict[str, Any] = {}

    def net(self) -> Any:
        if self._net is None:
            from ..learned.store import load_model

            self._net, self.card = load_model(self.model_name)
        return self._net

    def run(self, rgb: np.ndarray) -> tuple[float, np.ndarray | None]:
        from ..learned.infer import predict_image

        return predict_image(self.net(), rgb)

    def model_details(self) -> dict[str, Any]:
        return {"model": self.model_name, "model_digest": self.card.get("trained", {}).get("digest"),
                "model_date": self.card.get("trained", {}).get("date")}
