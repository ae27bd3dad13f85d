"""Colour-filter-array (Bayer) steps: bilinear re-interpolation residuals and the Bayer arrangement estimate.

A camera samples one colour per pixel through a 2x2 Bayer mosaic and interpolates the other two
(demosaicing). Re-interpolating with a bilinear kernel leaves almost no error at the sites the camera
interpolated and a large error at the sites it acquired (Popescu & Farid 2005; Dirik & Memon 2009). The
arrangement whose interpolated sites have the smallest re-interpolation error is the estimate of the
camera's pattern (Dirik & Memon's first feature; Kirchner 2010 for the full-mosaic view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..media import ImageMedia

BAYER_PATTERNS = ("RGGB", "GRBG", "GBRG", "BGGR")
# (row parity, column parity) of the red and the blue sample in each 2x2 arrangement.
_RB_PHASE = {
    "RGGB": ((0, 0), (1, 1)),
    "GRBG": ((0, 1), (1, 0)),
    "GBRG": ((1, 0), (0, 1)),
    "BGGR": ((1, 1), (0, 0)),
}


def _padded(x: np.ndarray) -> np.ndarray:
    """Mirror-pad by one pixel without repeating the edge, which keeps every sample on its Bayer lattice."""
    return np.pad(x, 1, mode="reflect")


def cross_residual(x: np.ndarray) -> np.ndarray:
    """x minus the mean of its 4 direct neighbours: bilinear green interpolation error at every site."""
    p = _padded(x)
    return x - 0.25 * (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:])


def _line_residuals(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear red/blue interpolation errors: from left+right, from up+down, and from the 4 diagonals."""
    p = _padded(x)
    horiz = x - 0.5 * (p[1:-1, :-2] + p[1:-1, 2:])
    vert = x - 0.5 * (p[:-2, 1:-1] + p[2:, 1:-1])
    diag = x - 0.25 * (p[:-2, :-2] + p[:-2, 2:] + p[2:, :-2] + p[2:, 2:])
    return horiz, vert, diag


def parity_means(x: np.ndarray) -> np.ndarray:
    """Mean of x over each of the 4 (row parity, column parity) sub-lattices, as a 2x2 array."""
    return np.array([[float(x[r::2, c::2].mean()) for c in (0, 1)] for r in (0, 1)])


def rgb_float(media: ImageMedia) -> np.ndarray:
    """The stored pixels as float32 HxWx3, shared by the CFA and resampling steps."""
    return media.shared("rgb_f32", lambda: media.rgb.astype(np.float32))


def green_residual(media: ImageMedia) -> np.ndarray:
    """Bilinear re-interpolation error of the green channel at every pixel (float32, HxW)."""
    return media.shared("cfa_green_residual", lambda: cross_residual(rgb_float(media)[..., 1]))


@dataclass(frozen=True)
class BayerFit:
    """The most likely Bayer arrangement and the mean squared re-interpolation error under each of the 4.

    `green_parity` is (row + column) % 2 of the pixels where the camera acquired green.
    `contrast` is log(error of the best opposite-lattice arrangement / error of the best one): near 0 when
    the image carries no CFA trace, large when it carries a clear one.
    """

    pattern: str
    errors: dict[str, float]
    green_parity: int
    contrast: float


def _rb_error(means: tuple[np.ndarray, np.ndarray, np.ndarray], phase: tuple[int, int]) -> float:
    """Re-interpolation error of one red/blue channel acquired at `phase`, over its interpolated sites."""
    horiz, vert, diag = means
    r, c = phase
    return float(horiz[r, 1 - c] + vert[1 - r, c] + diag[1 - r, 1 - c]) / 3.0


def fit_bayer(media: ImageMedia) -> BayerFit:
    """Estimate the Bayer arrangement by re-interpolating under all 4 and keeping the least error."""

    def compute() -> BayerFit:
        rgb = rgb_float(media)
        g = parity_means(green_residual(media) ** 2)
        g_err = {0: (g[0, 1] + g[1, 0]) / 2.0, 1: (g[0, 0] + g[1, 1]) / 2.0}  # green acquired at parity 0/1
        red = tuple(parity_means(e**2) for e in _line_residuals(rgb[..., 0]))
        blue = tuple(parity_means(e**2) for e in _line_residuals(rgb[..., 2]))
        errors = {}
        for name, (rp, bp) in _RB_PHASE.items():
            parity = (rp[0] + rp[1] + 1) % 2
            errors[name] = float(g_err[parity] + _rb_error(red, rp) + _rb_error(blue, bp))
        best = min(errors, key=errors.__getitem__)
        parity = (sum(_RB_PHASE[best][0]) + 1) % 2
        other = min(v for k, v in errors.items() if (sum(_RB_PHASE[k][0]) + 1) % 2 != parity)
        contrast = float(np.log((other + 1e-3) / (errors[best] + 1e-3)))
        return BayerFit(best, errors, parity, contrast)

    return media.shared("cfa_bayer_fit", compute)
