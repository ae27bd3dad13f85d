"""Error level analysis, multi-quality and normalised for content.

Krawetz, "A Picture's Worth" (Black Hat 2007): re-saving a JPEG at a known quality changes regions that were
compressed differently from the rest by a different amount. Plain ELA mostly lights up edges and texture, so
the error at each quality is divided by the local texture (mean |Laplacian|) and the residual anomaly is
measured against the image's own median, making flat and textured regions comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...media import ImageMedia
from ...preprocess.image import box_mean, local_activity, recompressed
from ..base import Detector
from ..evidence import Evidence


@dataclass
class ELAOutput:
    """Native output: the raw error level per quality and the content-normalised anomaly map."""

    error_levels: dict[int, np.ndarray]
    anomaly: np.ndarray


class ErrorLevelAnalysis(Detector):
    name = "ela"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "heatmap")
    paper = "Krawetz 2007, 'A Picture's Worth: Digital Image Analysis and Forensics'"
    description = "Re-saves the image at several JPEG qualities and maps regions whose error level is unusual."

    def __init__(self, qualities: tuple[int, ...] = (75, 85, 95), radius: int = 8) -> None:
        self.qualities = tuple(qualities)
        self.radius = radius

    def predict(self, media: ImageMedia) -> ELAOutput:
        original = media.rgb.astype(np.float32)
        activity = local_activity(media) + 2.0
        levels, ratios = {}, []
        for q in self.qualities:
            err = np.abs(original - recompressed(media, q)).mean(axis=2)
            levels[q] = err
            ratios.append(box_mean(err, self.radius) / box_mean(activity, self.radius))
        ratio = np.log(np.mean(ratios, axis=0) + 1e-3)
        med = float(np.median(ratio))
        mad = float(np.median(np.abs(ratio - med))) * 1.4826 + 1e-6
        anomaly = 1.0 / (1.0 + np.exp(-((ratio - med) / mad - 3.0)))
        return ELAOutput(levels, anomaly.astype(np.float32))

    def to_evidence(self, native: ELAOutput, media: ImageMedia) -> Evidence:
        hot = native.anomaly > 0.5
        frac = float(hot.mean())
        peak = float(np.percentile(native.anomaly, 99.5))
        score = peak * min(1.0, frac / 0.02) if frac < 0.5 else 0.5
        where = f"{frac:.1%} of the image" if frac > 0.001 else "no region"
        summary = (
            f"When re-saved as JPEG, {where} changed by an unusual amount for its texture"
            + (", which can mean it was pasted in or edited." if frac > 0.001 else ".")
        )
        return Evidence(
            score=score,
            summary=summary,
            heatmap=native.anomaly,
            details={"anomalous_fraction": frac, "peak": peak, "qualities": list(self.qualities)},
        )
