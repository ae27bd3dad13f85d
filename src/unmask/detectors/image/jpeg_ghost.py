"""JPEG ghosts: a region that was once saved at another JPEG quality than the rest.

Paper: Farid 2009, "Exposing digital forgeries from JPEG ghosts" (IEEE TIFS 4(1)). Re-saving an image at
quality q changes a region least when q equals the quality that region was last quantized with, so a
region pasted from a JPEG saved at q0 shows a local minimum ("ghost") of the re-compression error at q0
that the rest of the image does not share. Farid computes, for a range of q, the squared difference
between the image and its re-compressed version averaged over 16x16 pixels and normalised per quality,
and looks for a region that is distinctly dark at one q.

Implementation: the luma is re-quantized at qualities 50, 55, ..., 95 (libjpeg's tables) on the image's own
8x8 grid (found from the decoded pixels, so crops are handled), in the DCT domain rather than by re-encoding
(the same error by Parseval, much faster), and the error is averaged over 16x16 blocks. Raw errors
depend mostly on texture, and so does the shape of a block's error-versus-quality curve, which made the
plain normalised maps light up textured areas of untouched photos. So each block's curve is taken in
log, minus its own mean (which removes the texture's scale), and the shape that the block's texture
level predicts - a quadratic fit per quality of the log-error shape on the block's mean log error,
learned from the image itself - is subtracted (which removes the texture's shape). What remains is the
ghost: the heatmap marks blocks whose smoothed residual dips by more than a factor 1.5 at some quality.

Assumptions and limits: the pasted region was JPEG-compressed at a lower quality than the final save and
on the same 8x8 grid as the final save (a shifted paste weakens the ghost; Farid searches over shifts,
which this default-speed version does not). When the last save is at a lower quality than the pasted
region's, its ghost is erased. Small regions (under ~3x3 blocks of 16 px) and very flat areas are hard.
Luma only: chroma ghosts are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...media import ImageMedia
from ...preprocess.image import box_mean
from ...preprocess.jpeg import block_map_to_pixels, global_grid, luma_dct
from ...preprocess.residual import peak_share_score
from ...provenance.jpeg_tables import ANNEX_K_LUMA, ijg_scale
from .. import wording
from ..base import Detector
from ..evidence import Evidence

_TILE = 16
_ERROR_FLOOR = 0.5  # squared grey levels added before the log: differences below ~0.7 levels are noise
_MIN_GRID_CONTRAST = 0.02  # below this the image shows no 8x8 grid and is re-compressed from its origin


@dataclass
class GhostOutput:
    """Native output on the 16x16 tile grid: the mean squared re-compression error per quality
    (n_q, th, tw), the texture-corrected log residual, the dip depth (natural log) and its quality, and
    where the tile grid starts in the image (the 8x8 grid phase)."""

    qualities: tuple[int, ...]
    errors: np.ndarray
    residual: np.ndarray
    dip: np.ndarray
    dip_quality: np.ndarray
    origin: tuple[int, int]


def requantization_errors(coefs: np.ndarray, qualities: tuple[int, ...]) -> np.ndarray:
    """Mean squared pixel error per 16x16 tile of re-quantizing luma DCT blocks with libjpeg's table at
    each quality, (n_q, th, tw). By Parseval the coefficient error equals the pixel error of a re-save, up
    to the decoder's rounding to integers, which adds ~1/12 per pixel; computing it in the DCT domain
    skips the JPEG encode and decode (several times faster than re-saving with an encoder)."""
    th, tw = coefs.shape[0] // 2, coefs.shape[1] // 2
    c = coefs[: 2 * th, : 2 * tw]
    out = np.empty((len(qualities), th, tw), np.float32)
    for i, quality in enumerate(qualities):
        step = ijg_scale(ANNEX_K_LUMA, quality).astype(np.float32)
        err = c - step * np.round(c * (1.0 / step))
        block = np.einsum("abij,abij->ab", err, err)
        out[i] = block.reshape(th, 2, tw, 2).sum(axis=(1, 3)) / (_TILE * _TILE) + 1.0 / 12.0
    return out


def texture_corrected(log_error: np.ndarray) -> np.ndarray:
    """Each tile's log-error curve minus its mean and minus the shape its texture level predicts.

    The predictor is a per-quality quadratic in the tile's mean log error, fitted by least squares over
    all tiles of the image (so the correction is learned from the image, not tuned on data)."""
    level = log_error.mean(axis=0)
    shape = log_error - level
    t = level.ravel()
    design = np.stack([np.ones_like(t), t, t * t], axis=1)
    targets = shape.reshape(shape.shape[0], -1).T
    beta, *_ = np.linalg.lstsq(design, targets, rcond=None)
    return (targets - design @ beta).T.reshape(shape.shape)


class JpegGhost(Detector):
    name = "jpeg_ghost"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "heatmap")
    profiles = ("default", "thorough")  # ten re-encodes: ~70-100 ms per megapixel, too slow for "fast"
    paper = "Farid 2009, 'Exposing digital forgeries from JPEG ghosts'"
    description = "Re-saves the image at many JPEG qualities and maps a region that matches a different one."

    def __init__(self, qualities: tuple[int, ...] = tuple(range(50, 100, 5)), dip_factor: float = 1.5,
                 smooth_radius: int = 1) -> None:
        """`dip_factor`: how many times smaller than predicted a tile's error must be at some quality to
        count as a ghost; `smooth_radius` (tiles) pools neighbouring tiles before that test."""
        self.qualities = tuple(qualities)
        self.threshold = float(np.log(dip_factor))
        self.smooth_radius = smooth_radius

    def predict(self, media: ImageMedia) -> GhostOutput:
        grid = global_grid(media)
        dy, dx = (grid.row_phase, grid.col_phase) if grid.contrast >= _MIN_GRID_CONTRAST else (0, 0)
        if min(media.height - dy, media.width - dx) < 3 * _TILE:
            return GhostOutput(self.qualities, np.zeros((len(self.qualities), 0, 0)), np.zeros((0, 0, 0)),
                               np.zeros((0, 0)), np.zeros((0, 0), int), (dy, dx))
        errors = requantization_errors(luma_dct(media, (dy, dx)), self.qualities)
        residual = texture_corrected(np.log(errors + _ERROR_FLOOR))
        if self.smooth_radius:
            residual = np.stack([box_mean(r, self.smooth_radius) for r in residual])
        lowest = residual.argmin(axis=0)
        dip = -np.take_along_axis(residual, lowest[None], axis=0)[0]
        return GhostOutput(self.qualities, errors.astype(np.float32), residual.astype(np.float32),
                           dip.astype(np.float32), np.asarray(self.qualities)[lowest], (dy, dx))

    def _heatmap(self, native: GhostOutput, media: ImageMedia) -> tuple[np.ndarray, np.ndarray]:
        tiles = 1.0 / (1.0 + np.exp(-(native.dip - self.threshold) / 0.1))
        heat = np.zeros((media.height, media.width), np.float32)
        dy, dx = native.origin
        if tiles.size:
            heat[dy:, dx:] = block_map_to_pixels(tiles, (media.height - dy, media.width - dx), (_TILE, _TILE))
        return tiles, heat

    def to_evidence(self, native: GhostOutput, media: ImageMedia) -> Evidence:
        tiles, heat = self._heatmap(native, media)
        if not tiles.size:
            return Evidence(score=None, summary="The image is too small to look for JPEG ghosts.",
                            details={"tiles": 0})
        score, frac, peak = peak_share_score(tiles)
        at = np.unravel_index(int(np.argmax(native.dip)), native.dip.shape)
        quality = int(native.dip_quality[at])
        share = wording.share(heat)  # what the map shows, at its pixels
        details = {"ghost_fraction": frac, "region_share": share, "peak": peak, "ghost_quality": quality,
                   "max_dip_factor": float(np.exp(native.dip.max())), "qualities": list(native.qualities),
                   "band": wording.band(score)}
        where = wording.region(share)
        summary = wording.say(
            score,
            clear=f"Re-saved as JPEG at quality {quality}, {where} changes much less than expected, a 'ghost' of "
                  "an earlier save at that quality that the rest does not share, which suggests it was pasted in.",
            unclear=f"Re-saved as JPEG at quality {quality}, {where} changes somewhat less than expected, a faint "
                    "'ghost' of an earlier save at that quality: a weak sign, not enough on its own to point to a "
                    "paste.",
            none="Re-saving at JPEG qualities 50-95 shows no clear JPEG ghost: " + (
                f"only {where} changes less than expected (strongest at quality {quality}), too little to stand out."
                if share > 0.001 else "no part of the image keeps its own earlier quality."),
        )
        return Evidence(score=score, summary=summary, heatmap=heat, details=details)
