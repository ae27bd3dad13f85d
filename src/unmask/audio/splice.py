"""Partial-spoof test clips: a synthetic utterance spliced into a real recording, with exact boundaries.

The PartialSpoof idea (Zhang et al., Interspeech 2021; IEEE/ACM TASLP 2023): most of the clip is bona fide,
one stretch is not, and a detector must say where. Here the synthetic speech is inserted (the real recording
stays whole around it), brought to the loudness of the host's speech, with short raised-cosine fades so no
click marks the joints.
"""

from __future__ import annotations

import numpy as np

from . import vad

FADE = 160  # 10 ms at 16 kHz


def speech_span(x: np.ndarray, max_len: int) -> np.ndarray:
    """The part of `x` from its first to its last active VAD frame, at most `max_len` samples."""
    on = np.flatnonzero(vad.active(x))
    if not on.size:
        return x[:max_len]
    start, end = on[0] * vad.HOP, min(x.size, on[-1] * vad.HOP + vad.FRAME)
    return x[start:min(end, start + max_len)]


def active_rms(x: np.ndarray) -> float:
    """Root mean square level over the frames with sound (all frames when none has)."""
    db, on = vad.frame_energy_db(x), vad.active(x)
    power = 10 ** (db[on] / 10) if on.any() else 10 ** (db / 10)
    return float(np.sqrt(power.mean()))


def splice(host: np.ndarray, insert: np.ndarray, at: int, fade: int = FADE) -> tuple[np.ndarray, tuple[int, int]]:
    """`insert` put into `host` at sample `at` (level-matched, faded in and out); returns the clip and the
    inserted span [start, end) in samples."""
    at = int(np.clip(at, 0, host.size))
    piece = insert * (active_rms(host) / max(active_rms(insert), 1e-9))
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, min(fade, piece.size // 2)))
    piece = piece.copy()
    piece[: ramp.size] *= ramp
    piece[piece.size - ramp.size:] *= ramp[::-1]
    out = np.concatenate([host[:at], piece, host[at:]]).astype(np.float32)
    return np.clip(out, -1.0, 1.0), (at, at + piece.size)
