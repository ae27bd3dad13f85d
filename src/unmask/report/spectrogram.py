"""A small spectrogram picture of a media's sound, for the HTML report and the web page.

Time runs left to right over the whole duration, 0-8 kHz bottom to top, loudness in the magma colour map
(dark = quiet, bright = loud; 80 dB of range under the loudest column). The audio is read as 16 kHz mono
blocks (unmask.audio.signal.blocks) and each block's short-time spectra are averaged into the picture's columns
at once, so memory stays at one block plus one picture whatever the length (an hour is 900 columns, not 225,000
spectra).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import UnmaskError

WIDTH, HEIGHT = 900, 160
RATE = 16000
N_FFT = 512
RANGE_DB = 80.0
MAX_HOP = 4 * N_FFT  # past 10 minutes the spectra are spaced out (a 4-s column of an hour still averages 31)
PREVIEW_KEY = "audio"  # Report.previews key of the spectrogram (images use None and 'images[i]')
# magma (matplotlib) at 0, 1/8, ..., 1: perceptually uniform and readable in gray
_MAGMA = np.array([(0, 0, 4), (29, 17, 71), (81, 18, 124), (131, 38, 129), (183, 55, 121), (231, 82, 99),
                   (252, 137, 97), (254, 196, 136), (252, 253, 191)], np.float64)


def speech_entries(report: Any) -> list[Any]:
    """The report's evidence entries with a speech score track: details `window_starts` and `window_scores`
    (one probability per window, None for a window skipped as too quiet) of the same length."""
    def windowed(entry: Any) -> bool:
        starts, scores = entry.details.get("window_starts"), entry.details.get("window_scores")
        return isinstance(starts, list) and isinstance(scores, list) and len(starts) == len(scores) > 0
    return [e for e in report.evidence if windowed(e)]


def clock(t: float) -> str:
    """Seconds as m:ss.s (75.25 -> '1:15.2'), the way the speech detectors' sentences write times; '?' for a
    time that is not a finite number (a report's NaN or infinite duration must not stop the page)."""
    if not math.isfinite(t * 10):  # 1e308 s overflows too
        return "?"
    tenths = round(max(t, 0.0) * 10)
    return f"{tenths // 600}:{tenths % 600 / 10:04.1f}"


def magma(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] as RGB uint8 (..., 3)."""
    v = np.clip(values, 0.0, 1.0) * (len(_MAGMA) - 1)
    i = np.minimum(v.astype(np.int64), len(_MAGMA) - 2)
    f = (v - i)[..., None]
    return np.round(_MAGMA[i] * (1 - f) + _MAGMA[i + 1] * f).astype(np.uint8)


def spectrogram(blocks: Iterable[np.ndarray], duration_s: float, width: int = WIDTH, height: int = HEIGHT,
                rate: int = RATE) -> np.ndarray | None:
    """An RGB uint8 (height, width, 3) picture of mono `blocks` at `rate` lasting about `duration_s`; None
    when there is no sound to draw (no duration, or nothing decoded)."""
    if not duration_s or duration_s <= 0:
        return None
    per_column = duration_s * rate / width
    hop = int(np.clip(per_column // 8, 8, MAX_HOP))  # 8 spectra per column or more
    window = np.hanning(N_FFT).astype(np.float32)
    power = np.zeros((width, N_FFT // 2 + 1))
    count = np.zeros(width)
    carry, first = np.zeros(0, np.float32), 0  # samples not framed yet, and the sample index of carry[0]
    for block in blocks:
        buf = np.concatenate([carry, np.asarray(block, np.float32)])
        n = 1 + (len(buf) - N_FFT) // hop if len(buf) >= N_FFT else 0
        if n:
            frames = np.lib.stride_tricks.sliding_window_view(buf, N_FFT)[::hop][:n] * window
            centres = first + np.arange(n) * hop + N_FFT / 2
            cols = np.minimum((centres / per_column).astype(np.int64), width - 1)
            _accumulate(power, count, cols, np.abs(np.fft.rfft(frames, axis=1)) ** 2)
        carry, first = buf[n * hop:], first + n * hop
    if not count.any() and len(carry):  # shorter than one spectrum: one zero-padded spectrum
        frame = np.pad(carry, (0, N_FFT - len(carry))) * window
        _accumulate(power, count, np.zeros(1, np.int64), np.abs(np.fft.rfft(frame[None], axis=1)) ** 2)
    seen = count > 0
    if not seen.any():
        return None
    filled = np.interp(np.arange(width), np.flatnonzero(seen), np.arange(width)[seen])  # nearest seen column
    mean = (power / np.maximum(count, 1)[:, None])[np.round(filled).astype(np.int64)]
    db = 10 * np.log10(mean @ _rows(N_FFT // 2 + 1, height) + 1e-10)
    level = np.clip((db - (db.max() - RANGE_DB)) / RANGE_DB, 0.0, 1.0) if db.max() > -90 else np.zeros_like(db)
    return np.ascontiguousarray(magma(level.T[::-1]))


def _accumulate(power: np.ndarray, count: np.ndarray, cols: np.ndarray, spectra: np.ndarray) -> None:
    """Add each spectrum to its column (`cols` is sorted: one sum per run of equal columns)."""
    starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])
    power[cols[starts]] += np.add.reduceat(spectra, starts, axis=0)
    count[cols[starts]] += np.diff(np.r_[starts, len(cols)])


def _rows(bins: int, height: int) -> np.ndarray:
    """(bins, height) weights that interpolate `bins` frequency bins linearly onto `height` rows."""
    pos = np.linspace(0, bins - 1, height)
    low = np.minimum(pos.astype(np.int64), bins - 2)
    frac = pos - low
    weights = np.zeros((bins, height))
    weights[low, np.arange(height)] = 1 - frac
    weights[low + 1, np.arange(height)] += frac
    return weights


def audio_picture(media: Any) -> np.ndarray | None:
    """The spectrogram of an audio file or of a video's sound track; None when it has no sound that decodes
    (no audio track, a corrupt stream): the report then simply has no picture of it."""
    from ..audio.signal import blocks

    duration = float(getattr(media, "duration_s", 0.0) or 0.0)
    try:
        return spectrogram(blocks(media), duration)
    except (UnmaskError, OSError, ValueError, RuntimeError, MemoryError):
        return None
