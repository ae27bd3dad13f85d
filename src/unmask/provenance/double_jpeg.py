"""Signs of aligned double JPEG compression in the histograms of quantized DCT coefficients.

When a JPEG is decoded and saved again on the same 8x8 grid, each coefficient is quantized twice: first
with step s1, then with the file's step q2. The second quantization can only reach some multiples of q2
(or reaches some of them twice as often), so the histogram of the stored integers is modulated by a
periodic comb instead of decaying smoothly (Popescu & Farid 2004; Lukáš & Fridrich 2003). Per AC mode:
1. histogram h of |k| over 1..M (k the stored coefficient), and a smooth envelope e (a weighted cubic fit
   of log h);
2. a comb test: for each period p in 2..8 the residuals (h-e)/sqrt(e) are averaged per phase (k mod p);
   their energy is chi-square with p-1 degrees of freedom under a smooth histogram (Bonferroni over p);
3. the comb's relative amplitude (phase means of (h-e)/e), because with many blocks a tiny misfit of the
   envelope is also "significant"; a mode counts when p < 1e-6 and the amplitude exceeds 0.2.
The image shows double compression when most analysed modes count. The first step s1 is then estimated
per mode by matching (h/e) to the expected number of first-quantization levels that land in each bin, and
mapped to the nearest libjpeg quality (Lukáš & Fridrich's primary-quantization estimation, simplified).

Limits: only aligned recompression (no crop between saves) with a coarser first compression (s1 > q2, or
s1 not dividing q2) leaves this trace; re-saving at the same or a lower quality mostly does not, so "no
sign" never proves a single compression. Thresholds were set on scikit-image sample photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .jpeg_tables import ANNEX_K_LUMA, ZIGZAG, ijg_all

MODES = tuple(range(1, 16))  # the first 15 AC coefficients in zig-zag order carry most of the signal
MIN_NONZERO = 300
MAX_BIN = 40
MAX_PERIOD = 8
SIG_LEVEL = 1e-6
MIN_AMPLITUDE = 0.2
DETECT_FRACTION = 0.6
WEAK_FRACTION = 0.3


@dataclass(frozen=True)
class ModeComb:
    """The comb test on one AC mode."""

    mode: int  # zig-zag index
    q2: int  # the file's quantization step for this mode
    period: int
    p_value: float
    amplitude: float
    primary_step: int | None = None  # estimated first-compression step, when detected
    fit: float = 0.0  # correlation behind primary_step


@dataclass
class DoubleJpeg:
    """Aligned double-compression evidence for the luminance channel."""

    modes: list[ModeComb]

    @property
    def flagged(self) -> list[ModeComb]:
        return [m for m in self.modes if m.p_value < SIG_LEVEL and m.amplitude > MIN_AMPLITUDE]

    @property
    def fraction(self) -> float:
        return len(self.flagged) / len(self.modes) if self.modes else 0.0

    @property
    def verdict(self) -> str:
        """'double', 'weak' or 'none' (or 'unknown' when too few modes could be analysed)."""
        if len(self.modes) < 4:
            return "unknown"
        if self.fraction >= DETECT_FRACTION:
            return "double"
        return "weak" if self.fraction >= WEAK_FRACTION else "none"

    @cached_property
    def primary_quality(self) -> int | None:
        """Nearest libjpeg quality of the first compression (None unless detected and estimable)."""
        steps = [(m.mode, m.primary_step) for m in self.flagged if m.primary_step and m.fit > 0.7]
        if self.verdict != "double" or len(steps) < 3:
            return None
        modes, found = np.array([ZIGZAG[m] for m, _ in steps]), np.array([s for _, s in steps])
        errors = np.abs(ijg_all(ANNEX_K_LUMA).reshape(100, 64)[:, modes] - found[None]).sum(axis=1)
        return int(np.argmin(errors)) + 1


def _histogram(k: np.ndarray) -> np.ndarray | None:
    nz = np.abs(k[k != 0]).astype(np.int64)
    if len(nz) < MIN_NONZERO:
        return None
    top = int(min(MAX_BIN, max(12, np.percentile(nz, 99))))
    h = np.bincount(np.minimum(nz, top + 1), minlength=top + 2)[1: top + 1].astype(np.float64)
    return h if np.count_nonzero(h) >= 8 else None


def _envelope(h: np.ndarray) -> np.ndarray:
    j = np.arange(1, len(h) + 1, dtype=np.float64)
    return np.exp(np.polyval(np.polyfit(j, np.log(h + 0.5), 3, w=np.sqrt(h + 1.0)), j))


def _comb(h: np.ndarray, e: np.ndarray) -> tuple[int, float, float]:
    """Best period, its Bonferroni-corrected p-value and the comb's relative amplitude."""
    from scipy.special import chdtrc  # chi-square survival function; scipy.stats costs ~0.4 s to import

    j = np.arange(1, len(h) + 1)
    z = (h - e) / np.sqrt(e + 1.0)
    rel = (h - e) / np.maximum(e, 1.0)
    periods = range(2, min(MAX_PERIOD, len(h) // 3) + 1)
    best = (2, 1.0, 0.0)
    for p in periods:
        phase = j % p
        sums = np.bincount(phase, weights=z, minlength=p) / np.sqrt(np.bincount(phase, minlength=p))
        pv = float(chdtrc(p - 1, float(np.sum(sums**2)))) * len(periods)
        if pv < best[1]:
            amp = np.bincount(phase, weights=rel * e, minlength=p) / np.bincount(phase, weights=e, minlength=p)
            best = (p, min(pv, 1.0), float(np.sqrt(np.mean(amp**2))))
    return best


def _landing(steps: np.ndarray, q2: int, n_bins: int, sigma: float = 0.5) -> np.ndarray:
    """For each candidate first step s1: the expected number of first-quantization levels m*s1 (m >= 1)
    that land in each bin 1..n_bins after requantization with q2, scaled by s1/q2. Shape (len(steps), n_bins)."""
    from scipy.special import ndtr

    counts = ((n_bins + 1) * q2 // steps + 2).astype(np.int64)
    group = np.repeat(np.arange(len(steps)), counts)
    m = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    centre = m * steps[group] / q2
    edges = np.arange(0.5, n_bins + 1.5)
    mass = np.diff(ndtr((edges[None, :] - centre[:, None]) * q2 / sigma), axis=1)
    return np.add.reduceat(mass, np.cumsum(counts) - counts, axis=0) * (steps / q2)[:, None]


def _primary_step(h: np.ndarray, e: np.ndarray, q2: int) -> tuple[int | None, float]:
    """First-compression step whose landing pattern best correlates with h/e."""
    steps = np.arange(1, min(int(q2 * len(h) / 3), 80) + 1)
    patterns = _landing(steps, q2, len(h))
    ratio = h / np.maximum(e, 1.0)
    spread = patterns.std(axis=1)
    usable = spread >= 0.05  # s1 dividing q2 (or equal to it) leaves no trace to match
    if not usable.any():
        return None, 0.0
    p = patterns[usable] - patterns[usable].mean(axis=1, keepdims=True)
    r = ratio - ratio.mean()
    corr = (p @ r) / (np.linalg.norm(p, axis=1) * np.linalg.norm(r) + 1e-12)
    best = int(np.argmax(corr))
    return int(steps[usable][best]), float(corr[best])


def analyse(coefs: np.ndarray, qtable: np.ndarray) -> DoubleJpeg:
    """Comb tests on the luminance coefficients (blocks..., 8, 8 natural order) quantized with `qtable`."""
    flat = coefs.reshape(-1, 64)
    q = np.asarray(qtable).ravel()
    modes = []
    for mode in MODES:
        idx = ZIGZAG[mode]
        h = _histogram(flat[:, idx])
        if h is None:
            continue
        e = _envelope(h)
        period, pv, amp = _comb(h, e)
        comb = ModeComb(mode, int(q[idx]), period, pv, amp)
        if pv < SIG_LEVEL and amp > MIN_AMPLITUDE:
            step, fit = _primary_step(h, e, int(q[idx]))
            comb = ModeComb(mode, int(q[idx]), period, pv, amp, step, fit)
        modes.append(comb)
    return DoubleJpeg(modes)
