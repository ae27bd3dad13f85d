"""Per-window scoring of any length of audio into a score track and segments, with bounded memory.

A detector supplies a `FrameModel`: frame features for a block of 16 kHz mono audio (`features`, one row per
`frame_s` seconds) and a logit for the frames of one window (`logit`). The audio is decoded in blocks
(unmask.audio.signal), each block's features are computed once, and windows of `window_s` every `hop_s`
are scored from them; frames are kept only as long as a window still needs them. Windows where the energy
VAD finds less than `MIN_ACTIVE` of sound (or, given a speech detector, of speech) are skipped and counted,
not scored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from math import lcm
from typing import Protocol

import numpy as np

from . import vad
from .signal import RATE

WINDOW_S = 2.0
HOP_S = 0.5
MIN_ACTIVE = 0.3
MIN_CLIP_S = 0.5  # shorter audio is not scored
TAIL_S = 0.1  # an uncovered end shorter than this gets no window of its own
STRETCH_S = 2.0  # a flagged run this long sets the clip's probability on its own


class FrameModel(Protocol):
    frame_s: float

    def features(self, x: np.ndarray) -> np.ndarray: ...

    def logit(self, frames: np.ndarray) -> float: ...


@dataclass
class ScoreTrack:
    """Native output of a windowed audio detector: each window's start (s), logit (NaN when skipped: too little
    sound, or given a speech detector too little speech), share of frames with sound and of frames with speech,
    the window length, and the audio's duration."""

    starts: np.ndarray
    logits: np.ndarray
    active: np.ndarray
    window_s: float
    duration_s: float
    speech: np.ndarray | None = None  # each window's share of 10-ms frames holding speech, when measured

    @property
    def scored(self) -> np.ndarray:
        return ~np.isnan(self.logits)

    def probabilities(self) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits))

    def clip_probability(self, threshold: float = 0.5, stretch_s: float = STRETCH_S) -> float:
        """The clip's probability: the mean over the scored windows, raised to the mean of a run of consecutive
        windows at or above `threshold` spanning `stretch_s` or more (a run of n windows spans n hops), so a
        real recording with one synthetic sentence is not averaged away. NaN when no window was scored."""
        p = self.probabilities()
        if not self.scored.any():
            return float("nan")
        hop = float(np.median(np.diff(self.starts))) if len(self.starts) > 1 else self.window_s
        best, run = float(np.nanmean(p)), []
        for v in [*p, np.nan]:
            if v >= threshold:
                run.append(v)
                continue
            if len(run) * hop >= stretch_s:
                best = max(best, float(np.mean(run)))
            run = []
        return best


def score_track(blocks: Iterable[np.ndarray], model: FrameModel, window_s: float = WINDOW_S,
                hop_s: float = HOP_S, features: np.ndarray | None = None,
                speech: Callable[[np.ndarray], np.ndarray] | None = None) -> ScoreTrack:
    """Score every window of the audio in `blocks` (16 kHz mono, in order) with `model`. `features`: the model's
    frame features of the whole audio computed before (a trainer's cache, rows on the model's frame grid), used
    instead of `model.features`. `speech`: a speech detector of one recording (vad.SileroSpeech): with it a window
    is scored when speech fills MIN_ACTIVE of its frames (music, tones and noise are skipped), without it when
    sound does (energy VAD)."""
    per_s = 1.0 / model.frame_s
    feats: list[np.ndarray] = []  # frame features not yet dropped, from frame index `first`
    acts: list[np.ndarray] = []  # VAD per 10 ms, from index `first_vad`
    first = first_vad = 0
    starts, logits, active, voiced = [], [], [], []
    samples = 0
    next_start = 0.0
    grid = lcm(round(model.frame_s * RATE), vad.HOP, vad.SileroSpeech.CHUNK if speech else 1)
    for x in _on_grid(blocks, grid):
        before, samples = samples, samples + x.size
        # rows pinned to the timeline (a block's frame count is rounded from the running total) so that no
        # drift accumulates over a long file
        rows = model.features(x) if features is None else features[_count(before, per_s):_count(samples, per_s)]
        feats.append(_fit(np.asarray(rows), _count(samples, per_s) - _count(before, per_s)))
        on = vad.active(x)
        heard = speech(x)[: len(on)] if speech else np.full(len(on), np.nan)
        acts.append(_fit(np.stack([on, heard], axis=1), _count(samples, 100.0) - _count(before, 100.0)))
        have_s = samples / RATE
        while next_start + window_s <= have_s:
            first, first_vad = _score(model, feats, acts, first, first_vad, next_start, window_s, per_s,
                                      starts, logits, active, voiced)
            next_start += hop_s
    duration = samples / RATE
    if not starts and duration >= MIN_CLIP_S:  # a clip shorter than one window is scored whole
        _score(model, feats, acts, first, first_vad, 0.0, duration, per_s, starts, logits, active, voiced)
    elif starts and starts[-1] + window_s < duration - TAIL_S:  # the tail the last hop did not reach
        _score(model, feats, acts, first, first_vad, duration - window_s, window_s, per_s, starts, logits, active,
               voiced)
    return ScoreTrack(np.array(starts), np.array(logits, float), np.array(active), min(window_s, duration),
                      duration, speech=np.array(voiced, float) if speech else None)


def _score(model: FrameModel, feats: list[np.ndarray], acts: list[np.ndarray], first: int, first_vad: int,
           start: float, length: float, per_s: float, starts: list, logits: list, active: list, voiced: list
           ) -> tuple[int, int]:
    """Score one window, append its results, and drop the frames no later window needs."""
    all_feats, all_acts = _joined(feats), _joined(acts)
    lo, hi = round(start * per_s) - first, round((start + length) * per_s) - first
    vlo, vhi = round(start * 100) - first_vad, round((start + length) * 100) - first_vad
    frames, on = all_feats[max(lo, 0):hi], all_acts[max(vlo, 0):vhi]
    share = float(on[:, 0].mean()) if on.size else 0.0
    heard = float(on[:, 1].mean()) if on.size else 0.0  # NaN when no speech detector ran
    starts.append(start)
    active.append(share)
    voiced.append(heard)
    gate = share if np.isnan(heard) else heard
    logits.append(model.logit(frames) if gate >= MIN_ACTIVE and len(frames) else np.nan)
    # keep from the next window's start on (windows advance; the tail window may reach back one window)
    keep, keep_vad = max(lo, 0), max(vlo, 0)
    feats[:], acts[:] = [all_feats[keep:]], [all_acts[keep_vad:]]
    return first + keep, first_vad + keep_vad


def _on_grid(blocks: Iterable[np.ndarray], step: int) -> Iterator[np.ndarray]:
    """The blocks re-cut to whole multiples of `step` samples, so that every block starts on the frame grid of
    the model and of the VADs; the few samples left at the end join the last block rather than travel alone
    (a model that pads every block, as Whisper does to 30 s, would pay a whole block for them)."""
    carry, pending = np.zeros(0, np.float32), None
    for x in blocks:
        x = np.concatenate([carry, x]) if carry.size else x
        cut = x.size - x.size % step
        carry = x[cut:]
        if cut:
            if pending is not None:
                yield pending
            pending = x[:cut]
    if pending is not None:
        yield np.concatenate([pending, carry]) if carry.size else pending
    elif carry.size:
        yield carry


def _count(samples: int, per_s: float) -> int:
    return round(samples * per_s / RATE)


def _fit(rows: np.ndarray, n: int) -> np.ndarray:
    """`rows` trimmed, or padded by repeating its last row, to exactly `n` rows."""
    if len(rows) >= n or not len(rows):
        return rows[:n]
    return np.concatenate([rows, np.repeat(rows[-1:], n - len(rows), axis=0)])


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
