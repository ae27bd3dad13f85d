"""Training-free forensic maps as extra input channels of a learned network.

MMFusion (Triaridis & Mezaris 2024) shows that a localiser gains from several forensic "views" of the image
beside RGB. Here the views are the heatmaps of unmask's own training-free detectors (e.g. ELA, JPEG ghosts,
double quantisation, wavelet noise), computed from the encoded file exactly as `unmask scan` computes them,
so a network trained on them sees at inference the same maps it learned from. It runs detectors, so it
lives with them (the networks in `unmask.learned` never import a detector); the learned detectors
(unmask.detectors.network) and training (unmask.train.sources.maps) both use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import NotApplicable, UnmaskError
from ..media import ImageMedia
from .base import evidence_key
from .registry import Registry


class MapMaker:
    """Runs the named detectors (default settings) and stacks their heatmaps (H, W, K) as uint8 0..255;
    a detector without a map for this image (not applicable, no heatmap) contributes zeros. Evidence the
    Analyzer already computed for this media (or will reuse) is shared through the media cache."""

    def __init__(self, names: Sequence[str]) -> None:
        registry = Registry.default()
        self.names = list(names)
        self._detectors: list[Any] = [registry.get(n)() for n in self.names]

    @property
    def versions(self) -> list[str]:
        """name:version of each map's detector, in channel order (a change invalidates cached maps)."""
        return [f"{d.name}:{d.version}" for d in self._detectors]

    def __call__(self, media: ImageMedia) -> np.ndarray:
        out = np.zeros((media.height, media.width, len(self._detectors)), np.uint8)
        for k, det in enumerate(self._detectors):
            try:
                heat = media.shared(evidence_key(type(det)), lambda det=det: det.analyze(media)).heatmap
            except (NotApplicable, UnmaskError):
                continue
            if heat is not None and heat.shape == out.shape[:2]:
                out[..., k] = np.round(np.clip(heat, 0, 1) * 255).astype(np.uint8)
        return out
