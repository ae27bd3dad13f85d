"""Error level analysis, multi-quality and normalised for content.

Krawetz, "A Picture's Worth" (Black Hat 2007): re-saving a JPEG at a known quality changes regions that were
compressed differently from the rest by a different amount. Plain ELA mostly lights up edges and texture, so
the expected error for a given amount of local texture (mean |Laplacian|) is learned from the image itself (a
quadratic fit of log error on log texture) and only the residual is kept: a region is anomalous when it
changes more (or less) than regions of the same texture elsewhere in the same image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...media import ImageMedia
from ...preprocess.image import abs_laplacian, block_means, box_mean, recompressed, upsample
from ...preprocess.residual import peak_share_score
from .. import wording
from ..base import Detector
from ..evidence import Evidence


def _grid_shape(media: ImageMedia, block: int = 8) -> tuple[int, int]:
    return -(-media.height // block), -(-media.width // block)


def _texture_residual(log_err: np.ndarray, design: np.ndarray) -> np.ndarray:
    """Log error minus what the image's own texture-to-error relation predicts (least squares)."""
    beta, *_ = np.linalg.lstsq(design, log_err, rcond=None)
    return log_err - design @ beta


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

    def __init__(self, qualities: tuple[int, ...] = (75, 85, 95)) -> None:
        self.qualities = tuple(qualities)

    def predict(self, media: ImageMedia) -> ELAOutput:
        """Work on the 8x8 JPEG block grid (smoothed over 3x3 blocks), then upsample the map to pixels."""
        original = media.rgb.astype(np.int16)
        texture = np.log(box_mean(block_means(abs_laplacian(media)), 1) + 2.0).ravel()
        design = np.stack([np.ones_like(texture), texture, texture**2], axis=1)
        levels, residuals = {}, []
        for q in self.qualities:
            err = np.abs(original - recompressed(media, q)).sum(axis=2, dtype=np.int16) / np.float32(3.0)
            levels[q] = err
            log_err = np.log(box_mean(block_means(err), 1) + 0.5).ravel()
            residuals.append(_texture_residual(log_err, design))
        resid = np.max(residuals, axis=0).reshape(_grid_shape(media))
        med = float(np.median(resid))
        mad = float(np.median(np.abs(resid - med))) * 1.4826 + 1e-6
        anomaly = 1.0 / (1.0 + np.exp(-((resid - med) / mad - 3.0)))
        return ELAOutput(levels, upsample(anomaly, media.height, media.width))

    def to_evidence(self, native: ELAOutput, media: ImageMedia) -> Evidence:
        score, frac, peak = peak_share_score(native.anomaly)
        where = wording.region(frac)
        summary = wording.say(
            score,
            clear=f"When re-saved as JPEG, {where} changed by an unusual amount for its texture, which suggests "
                  "it was pasted in or edited.",
            unclear=f"When re-saved as JPEG, {where} changed by a somewhat unusual amount for its texture: a weak "
                    "sign, not enough on its own to point to a paste or an edit.",
            none="No clear sign of editing: when re-saved as JPEG, "
                 + (f"only {where} changed by an unusual amount for its texture, too little to stand out."
                    if frac > 0.001 else "no region changed by an unusual amount for its texture."),
        )
        return Evidence(
            score=score,
            summary=summary,
            heatmap=native.anomaly,
            details={"anomalous_fraction": frac, "region_share": frac, "band": wording.band(score), "peak": peak,
                     "qualities": list(self.qualities)},
        )
