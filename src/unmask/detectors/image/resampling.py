"""Resampling traces: regions that were resized or rotated show a periodic correlation the rest lacks.

Papers: Popescu & Farid 2005, "Exposing digital forgeries by detecting traces of resampling" (IEEE TSP);
the fast variant implemented here is Kirchner 2008, "Fast and reliable resampling detection by spectral
analysis of fixed linear predictor residue" (ACM MM&Sec).

Method: interpolation makes every resampled pixel a fixed linear combination of its neighbours, with
weights that repeat with the resampling period. A fixed 3x3 linear predictor (Kirchner's) is applied to
luma; its residue e becomes a p-map p = exp(-e^2 / sigma), which is periodic where the image was
resampled. The p-map is cut into 64x64 blocks (aligned to the 8x8 JPEG grid, overlapping by half on
small images), each block is windowed and transformed in one batched FFT, and every bin's power is divided
by the mean power of its 7x7 neighbourhood (a sharp periodic peak survives, the smooth spectrum of
content does not). Frequencies that JPEG blocking (multiples of 1/8) or colour-filter interpolation (1/2)
produce in untouched photos, and the lowest frequencies (< 0.1 cycle/pixel), are excluded; the largest
remaining contrast is the block's statistic. A block counts as resampled above a threshold set from
unresampled natural images (scikit-image samples, PNG and JPEG), not from test data.

Limits: the trace lives in the highest frequencies, so any JPEG compression after the edit, even at
quality 95-100, mostly erases it; most real splices (CASIA included) are therefore out of reach and get a
low score with a near-chance map. Scaling by 2x (4x, 8x) or by about 1.3x puts the peaks on excluded
JPEG-grid frequencies, scaling by less than about 1.1x puts them below the cut-off, and down-scaling
leaves little trace. Rotation by a few degrees is only partly detected in 64x64 blocks. A whole-image
resize lights up every block, which is reported as a global resize with no score rather than as a local
edit. Strongly periodic textures (fences, fabric, stripes) can give spurious peaks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import NotApplicable
from ...media import ImageMedia
from ...preprocess.image import gray
from .. import wording
from ..base import Detector
from ..evidence import Evidence

# Kirchner 2008's fixed predictor: 4-neighbours weighted +1/2, diagonals -1/4 (its weights sum to 1).
_PREDICTOR_CROSS = 0.5
_PREDICTOR_DIAG = -0.25


@dataclass
class ResamplingOutput:
    """Native output: per-block statistic (log of the largest local spectral contrast) on a grid with
    `stride` pixels between block origins, that peak's frequency (cycles/pixel), and the p-map."""

    peak: np.ndarray
    peak_freq: np.ndarray
    pmap: np.ndarray
    block: int
    stride: int


def predictor_residue(x: np.ndarray) -> np.ndarray:
    """Residue of Kirchner's fixed 3x3 linear predictor (edge pixels use mirrored neighbours)."""
    p = np.pad(x, 1, mode="reflect")
    cross = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
    diag = p[:-2, :-2] + p[:-2, 2:] + p[2:, :-2] + p[2:, 2:]
    return x - _PREDICTOR_CROSS * cross - _PREDICTOR_DIAG * diag


def pmap(x: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Kirchner's p-map exp(-e^2 / sigma): near 1 where the predictor is exact, near 0 elsewhere."""
    e = predictor_residue(x.astype(np.float32))
    return np.exp(-(e * e) / np.float32(sigma))


def block_stack(x: np.ndarray, block: int, stride: int) -> np.ndarray:
    """Overlapping block x block views with origins every `stride` pixels, shape (ny, nx, block, block)."""
    view = np.lib.stride_tricks.sliding_window_view(x, (block, block))
    return view[::stride, ::stride]


def frequency_mask(block: int, low: float = 0.1, guard: int = 1) -> np.ndarray:
    """Bins of an rfft2 spectrum that may hold resampling peaks: not near DC, nor within `guard` bins of
    a multiple of 1/8 cycle/pixel on both axes (JPEG blocking, and 1/2 for colour-filter interpolation)."""
    fy = np.fft.fftfreq(block)[:, None]
    fx = np.fft.rfftfreq(block)[None, :]
    ok = np.hypot(fy, fx) >= low
    step = block // 8
    ky = np.round(fy * block).astype(int) % block
    kx = np.round(fx * block).astype(int)
    near_y = np.minimum(ky % step, step - ky % step) <= guard
    near_x = np.minimum(kx % step, step - kx % step) <= guard
    return ok & ~(near_y & near_x)


def local_contrast(power: np.ndarray, k: int = 7) -> np.ndarray:
    """Each bin's power over the mean of the other bins in its k x k neighbourhood.

    `power` is the half spectrum (n, B, B//2+1) of real blocks; the neighbourhood wraps around the
    vertical frequency axis and reflects through the conjugate symmetry P(-u,-v) = P(u,v) at the ends of
    the horizontal one. A resampling peak is sharp; content, JPEG noise and colour-filter modulation spread
    over neighbouring bins, so dividing by the neighbourhood mean keeps the first and flattens the rest.
    """
    from scipy.ndimage import uniform_filter

    r = k // 2
    flip = (-np.arange(power.shape[1])) % power.shape[1]
    left = power[:, :, r:0:-1][:, flip]
    right = power[:, :, -2 : -2 - r : -1][:, flip]
    padded = np.concatenate([left, power, right], axis=2)
    around = uniform_filter(padded, size=(1, k, k), mode="wrap")[:, :, r : r + power.shape[2]]
    around *= k * k
    around -= power
    around *= 1.0 / (k * k - 1)
    around += 1e-12
    return np.divide(power, around, out=around)


def block_peaks(p: np.ndarray, block: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Per block: log of the largest local spectral contrast among allowed bins, and its frequency."""
    import scipy.fft

    blocks = block_stack(p, block, stride)
    ny, nx = blocks.shape[:2]
    flat = blocks.reshape(ny * nx, block, block)
    window = np.hanning(block).astype(np.float32)
    centred = (flat - flat.mean(axis=(1, 2), keepdims=True)) * (window[:, None] * window[None, :])
    spectrum = scipy.fft.rfft2(centred, workers=1)  # float32 in, complex64 out
    half = local_contrast(spectrum.real**2 + spectrum.imag**2)
    allowed = frequency_mask(block)
    half *= allowed[None]
    scores = half.reshape(ny * nx, -1)
    best = scores.argmax(axis=1)
    fy = np.fft.fftfreq(block)[best // allowed.shape[1]]
    fx = np.fft.rfftfreq(block)[best % allowed.shape[1]]
    peak = np.log(scores[np.arange(best.size), best] + 1e-12).reshape(ny, nx)
    return peak.astype(np.float32), np.hypot(fy, fx).reshape(ny, nx).astype(np.float32)


def grid_to_pixels(grid: np.ndarray, block: int, stride: int, shape: tuple[int, int]) -> np.ndarray:
    """Pixel map where each pixel takes the mean of the block values covering it (edges replicated)."""
    reps = block // stride
    ny, nx = grid.shape
    acc = np.zeros((ny + reps - 1, nx + reps - 1), np.float64)
    cnt = np.zeros_like(acc)
    for dy in range(reps):
        for dx in range(reps):
            acc[dy : dy + ny, dx : dx + nx] += grid
            cnt[dy : dy + ny, dx : dx + nx] += 1.0
    cells = np.repeat(np.repeat(acc / cnt, stride, axis=0), stride, axis=1)[: shape[0], : shape[1]]
    pad = ((0, shape[0] - cells.shape[0]), (0, shape[1] - cells.shape[1]))
    return np.pad(cells, pad, mode="edge").astype(np.float32)


class ResamplingTraces(Detector):
    name = "resampling"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "heatmap")
    extra = "image"
    requires = ("scipy",)
    paper = (
        "Popescu & Farid 2005, 'Exposing digital forgeries by detecting traces of resampling'; "
        "Kirchner 2008, 'Fast and reliable resampling detection by spectral analysis of fixed linear "
        "predictor residue'"
    )
    description = "Maps regions that were resized or rotated, from periodic peaks in the predictor residue."

    def __init__(self, block: int = 64, stride: int = 32, threshold: float = 2.5, width: float = 0.1,
                 support: int = 3, max_blocks: int = 400) -> None:
        """`threshold` is the log peak contrast a block needs to count as resampled (above the 99.9th
        percentile of unresampled natural-image blocks, PNG and JPEG, measured on scikit-image samples);
        `width` softens that decision for the heatmap; the score averages the `support` strongest blocks.
        Blocks overlap by `block - stride`; when that would give more than `max_blocks` blocks (large
        images) they are laid edge to edge instead, which keeps a 1 MP image near 30 ms."""
        if block % 8 or stride % 8 or block % stride:
            raise ValueError("block and stride must be multiples of 8 (the JPEG grid), block of stride")
        self.block = block
        self.stride = stride
        self.threshold = threshold
        self.width = width
        self.support = support
        self.max_blocks = max_blocks

    def predict(self, media: ImageMedia) -> ResamplingOutput:
        if min(media.height, media.width) < self.block:
            raise NotApplicable(f"image is smaller than one {self.block}x{self.block} analysis block")
        p = media.shared("kirchner_pmap", lambda: pmap(gray(media)))
        stride = self._stride(media.height, media.width)
        peak, freq = block_peaks(p, self.block, stride)
        return ResamplingOutput(peak, freq, p, self.block, stride)

    def _stride(self, height: int, width: int) -> int:
        """The configured stride, or edge-to-edge blocks when overlap would exceed `max_blocks`."""
        count = ((height - self.block) // self.stride + 1) * ((width - self.block) // self.stride + 1)
        return self.stride if count <= self.max_blocks else self.block

    def to_evidence(self, native: ResamplingOutput, media: ImageMedia) -> Evidence:
        prob = 1.0 / (1.0 + np.exp(-np.clip((native.peak - self.threshold) / self.width, -50.0, 50.0)))
        heat = grid_to_pixels(prob, native.block, native.stride, (media.height, media.width))
        frac = float((prob > 0.5).mean())
        top = np.sort(prob.ravel())[::-1][: self.support]
        support = float(top.sum() / self.support)  # one stray block cannot reach a high score on its own
        details = {"resampled_fraction": frac, "support": support, "blocks": int(prob.size),
                   "median_log_peak": float(np.median(native.peak)), "threshold": self.threshold}
        score: float | None
        if frac >= 0.5:
            score = None
            summary = ("Most of the image shows resizing traces, which usually means the whole picture was "
                       "resized rather than that one part was edited.")
        else:
            score = support
            share = wording.share(heat)  # what the map shows, at its pixels
            where = wording.region(share)
            details.update({"region_share": share, "band": wording.band(score)})
            summary = wording.say(
                score,
                clear=f"{where[:1].upper()}{where[1:]} shows traces of being resized or rotated that the rest "
                      "lacks, which suggests that part was pasted in.",
                unclear=f"{where[:1].upper()}{where[1:]} shows faint traces of being resized or rotated: a weak "
                        "sign, not enough on its own to point to a pasted part.",
                none="No clear sign of a resized or rotated region" + (
                    f": only {where} shows faint traces, too little to stand out" if share > 0.001 else "")
                     + " (JPEG compression can hide them).",
            )
        details["dominant_frequency"] = float(np.median(native.peak_freq[prob > 0.5])) if frac > 0 else None
        return Evidence(score=score, summary=summary, heatmap=heat, details=details)
