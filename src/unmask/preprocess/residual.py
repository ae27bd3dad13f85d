"""Noise residuals several local-noise detectors share: the finest wavelet diagonal band and the
quantised third-order residual co-occurrence codes, plus the robust statistics used to read them and the
rules that turn an anomaly map into an image score.

Each residual is memoised per media with `media.shared`, so it is computed once per input.
"""

from __future__ import annotations

import numpy as np

from ..media import ImageMedia
from .image import gray

# SPAM/SRM-style co-occurrences of 4 residuals quantised to {-2..2}: 5^4 codes, 169 classes once a tuple, its
# negation and its reversal are pooled (Burnside: (625 + 1 + 25 + 25) / 4).
COOC_LEVELS = 5
COOC_ORDER = 4


def wavelet_hh(media: ImageMedia, wavelet: str = "db8") -> np.ndarray:
    """HH1, the finest diagonal detail band of a one-level 2-D DWT of luma (periodised, so exactly half
    size), as float32. It is mostly noise in natural images (Donoho & Johnstone 1994). Only the high-pass
    halves are computed: rows, then the columns of the row detail."""
    import pywt

    def compute() -> np.ndarray:
        rows = pywt.dwt(gray(media), wavelet, mode="periodization", axis=1)[1]
        return pywt.dwt(rows, wavelet, mode="periodization", axis=0)[1].astype(np.float32)

    return media.shared(f"dwt_hh1_{wavelet}", compute)


def cell_quantiles(x: np.ndarray, cell: int, q: float = 0.5) -> np.ndarray:
    """The `q` quantile of each non-overlapping `cell` x `cell` tile (the ragged border is dropped), by
    partial sorting; for q = 0.5 the mean of the two middle values."""
    h, w = x.shape[0] // cell * cell, x.shape[1] // cell * cell
    tiles = x[:h, :w].reshape(h // cell, cell, w // cell, cell).transpose(0, 2, 1, 3)
    flat = tiles.reshape(h // cell, w // cell, cell * cell)
    k = min(max(round(q * cell * cell), 1), cell * cell - 1)
    return np.partition(flat, (k - 1, k), axis=2)[..., k - 1 : k + 1].mean(axis=2)


def cell_sums(x: np.ndarray, cell: int) -> np.ndarray:
    """Sum of each non-overlapping `cell` x `cell` tile (the ragged border is dropped)."""
    h, w = x.shape[0] // cell * cell, x.shape[1] // cell * cell
    return x[:h, :w].reshape(h // cell, cell, w // cell, cell).sum(axis=(1, 3))


def _cooc_classes() -> np.ndarray:
    """Map each of the 625 codes to one of 169 classes, pooling a tuple with its negation and reversal."""
    digits = np.stack(np.unravel_index(np.arange(COOC_LEVELS**COOC_ORDER), (COOC_LEVELS,) * COOC_ORDER), 1)
    weights = COOC_LEVELS ** np.arange(COOC_ORDER - 1, -1, -1)
    variants = [digits, 4 - digits, digits[:, ::-1], 4 - digits[:, ::-1]]
    canonical = np.min([v @ weights for v in variants], axis=0)
    _, classes = np.unique(canonical, return_inverse=True)
    return classes.astype(np.int32)


COOC_CLASSES = _cooc_classes()
N_COOC_CLASSES = int(COOC_CLASSES.max()) + 1
ZERO_CLASS = int(COOC_CLASSES[(((2 * 5 + 2) * 5 + 2) * 5) + 2])  # four zero residuals: a flat run


def third_order_codes(media: ImageMedia, q: float, t: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Co-occurrence class of 4 consecutive quantised third-order residuals, along rows and along columns.

    The residual is the SRM third-order difference -x[i-1] + 3x[i] - 3x[i+1] + x[i+2] (Fridrich & Kodovsky
    2012), quantised as clip(round(r / q), -t, t). Returns int32 class maps (H, W-6) and (H-6, W) with
    values in [0, 169). Used by Splicebuster (Cozzolino, Poggi & Verdoliva 2015).
    """
    if t != 2:
        raise ValueError("the co-occurrence classes are built for t = 2 (5 levels)")

    def compute() -> tuple[np.ndarray, np.ndarray]:
        g = gray(media)
        return _codes_along_rows(g, q), _codes_along_rows(g.T, q).T

    return media.shared(f"srm3_codes_q{q:g}", compute)


def third_order_scale(media: ImageMedia) -> float:
    """Median |third-order residual| of luma over the image (rows subsampled by 4): the residual's typical
    size, used to set the quantisation step relative to the image's own noise and texture."""

    def compute() -> float:
        g = gray(media)[::4]
        r = (g[:, 3:] - g[:, :-3]) + 3.0 * (g[:, 1:-2] - g[:, 2:-1])
        return float(np.median(np.abs(r)))

    return media.shared("srm3_scale", compute)


def third_order_activity(media: ImageMedia, cell: int) -> np.ndarray:
    """Mean |horizontal third-order residual| of luma per `cell` x `cell` tile: how much noise (or fine
    texture) a tile carries. 8-bit rounding of a smooth gradient alone gives about 0.5; sensor noise of one
    grey level about 3.7."""

    def compute() -> np.ndarray:
        g = gray(media)
        r = np.abs((g[:, 3:] - g[:, :-3]) + 3.0 * (g[:, 1:-2] - g[:, 2:-1]))
        return cell_sums(r, cell) / np.float32(cell * cell)

    return media.shared(f"srm3_activity_{cell}", compute)


def _codes_along_rows(g: np.ndarray, q: float) -> np.ndarray:
    r = (g[:, 3:] - g[:, :-3]) + 3.0 * (g[:, 1:-2] - g[:, 2:-1])
    d = (np.clip(np.rint(r * np.float32(1.0 / q)), -2, 2) + 2).astype(np.int16)
    code = ((d[:, :-3] * 5 + d[:, 1:-2]) * 5 + d[:, 2:-1]) * 5 + d[:, 3:]
    return COOC_CLASSES[code]


def robust_z(x: np.ndarray, weights_mask: np.ndarray | None = None, floor: float = 1e-6) -> np.ndarray:
    """(x - median) / (1.4826 MAD), the statistics taken over `weights_mask` (all values when None).

    `floor` bounds the scale from below so near-constant inputs do not turn rounding into anomalies.
    """
    ref = x[weights_mask] if weights_mask is not None else x
    if ref.size == 0:
        return np.zeros_like(x)
    med = float(np.median(ref))
    mad = max(float(np.median(np.abs(ref - med))) * 1.4826, floor)
    return (x - med) / mad


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, clipped so very large |x| neither overflows nor warns."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def region_score(heat: np.ndarray, min_share: float = 0.02,
                 diffuse_share: float = 0.33) -> tuple[float, float]:
    """Image score from a window-level [0,1] anomaly: the mean heat of the hottest `min_share` of windows
    (so one hot window in a large image counts little), damped when more than `diffuse_share` of windows
    are hot (no single typical level then). Returns (score, share of windows with heat > 0.5)."""
    if heat.size == 0:
        return 0.0, 0.0
    k = max(1, int(np.ceil(min_share * heat.size)))
    score = float(np.partition(heat.ravel(), heat.size - k)[-k:].mean())
    frac = float((heat > 0.5).mean())
    if frac > diffuse_share:
        score *= max(0.3, 1.0 - (frac - diffuse_share) / (0.5 - diffuse_share))
    return score, frac


def peak_share_score(heat: np.ndarray) -> tuple[float, float, float]:
    """(score, share, peak) of a [0,1] anomaly map: the 99.5th-percentile heat, scaled down while less than
    2% of the map is hot (> 0.5), and 0.5 when half or more is (then nothing stands out from the rest)."""
    share = float((heat > 0.5).mean())
    peak = float(np.percentile(heat, 99.5))
    score = peak * min(1.0, share / 0.02) if share < 0.5 else 0.5
    return score, share, peak


def pad_to(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """Edge-replicate a map cropped to whole tiles back to the full image size."""
    return np.pad(x, ((0, height - x.shape[0]), (0, width - x.shape[1])), mode="edge")
