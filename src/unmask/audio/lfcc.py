"""Linear-frequency cepstral coefficients (LFCC), the front end of the ASVspoof 2019/2021 LFCC-GMM baseline
(Sahidullah, Kinnunen & Hanilçi, Interspeech 2015; Todisco et al. 2019).

20 ms Hamming frames every 10 ms, a 512-point power spectrum, 20 triangular filters spaced linearly over
0-8 kHz, log, DCT-II to 20 coefficients, then deltas and double deltas. A linear scale keeps the high band,
where vocoders leave most of their traces, as finely resolved as the low one. The static c0 is left out (59
values per frame): a change of gain adds a constant to every log filter energy, which moves c0 and nothing
else, so without it the features do not depend on how loud a file is; on this project's speech dev data the
level alone separates real from synthetic clips at AUC 0.75, a shortcut no detector should learn.
"""

from __future__ import annotations

import numpy as np

from .signal import RATE

WIN = 320
HOP = 160
NFFT = 512
N_FILTERS = 20
N_CEPS = 20


def linear_filterbank(n_filters: int = N_FILTERS, nfft: int = NFFT, rate: int = RATE) -> np.ndarray:
    """(n_filters, nfft//2+1) triangular filters with edges equally spaced from 0 to rate/2."""
    edges = np.linspace(0, rate / 2, n_filters + 2)
    freqs = np.linspace(0, rate / 2, nfft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lo) / (mid - lo)
    falling = (hi - freqs) / (hi - mid)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II basis (n_out, n_in)."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    return basis


def deltas(c: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over ±`width` frames (edges repeated), as in HTK."""
    if len(c) == 0:
        return c
    padded = np.pad(c, ((width, width), (0, 0)), mode="edge")
    num = sum(k * (padded[width + k:len(c) + width + k] - padded[width - k:len(c) + width - k])
              for k in range(1, width + 1))
    return num / (2 * sum(k * k for k in range(1, width + 1)))


def power_spectrum(x: np.ndarray, win: int = WIN, hop: int = HOP, nfft: int = NFFT) -> np.ndarray:
    """(frames, nfft//2+1) power spectrum of Hamming-windowed frames; a block shorter than a frame is padded."""
    x = np.asarray(x, np.float32)
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    n = 1 + (x.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    frames = x[idx] * np.hamming(win).astype(np.float32)
    return np.abs(np.fft.rfft(frames, nfft, axis=1)) ** 2


def lfcc(x: np.ndarray) -> np.ndarray:
    """(frames, 59) LFCC c1-c19 + deltas + double deltas of c0-c19, of 16 kHz mono samples, one frame every
    10 ms; unchanged by a change of gain."""
    spec = power_spectrum(x)
    energies = np.log(spec @ linear_filterbank().T + 1e-10)
    c = energies @ dct_matrix(N_FILTERS, N_CEPS).T
    d = deltas(c)
    return np.concatenate([c[:, 1:], d, deltas(d)], axis=1).astype(np.float32)
