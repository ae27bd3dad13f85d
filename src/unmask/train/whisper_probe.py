"""Fitter of the `whisper_probe` speech detector (ARCHS in unmask.train.audio): a linear probe on frozen
Whisper-base encoder frames (unmask.audio.probe).

Each clip is encoded once (its frames kept in `clip.memo["whisper"]` as float16; scoring the clip's windows
later, in calibration or in a benchmark, reuses them: unmask.train.audio passes a clip's memo entry named by
the model's `feature_key` to score_track).
The training rows are the mean frames of the windows the detector scores (unmask.audio.windows.score_track:
2 s every 0.5 s, those with enough sound), labelled by their clip. The probe is an L2 logistic regression
(balanced classes, C fixed in advance, default 1.0) on rows standardised by their mean and standard
deviation; its scale and offset come from out-of-fold window logits (unmask.train.audio.calibrated).

Frames can also be kept on disk between runs: with the environment variable UNMASK_WHISPER_FRAMES naming a
folder, each clip's frames are stored there as `<digest of its samples>.npy` (float16) and read back by any
later run that decodes the same samples (the same file and perturbation chain), so a second `unmask train` or
benchmark run skips the encoder (~0.9 s per clip of up to 30 s on one core).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .audio import Clip, calibrated

STORE = "UNMASK_WHISPER_FRAMES"
_TAG = b"whisper-base/int8/1"  # the encoder the stored frames come from


def digest(audio: np.ndarray) -> str:
    h = hashlib.blake2b(_TAG, digest_size=16)
    h.update(np.ascontiguousarray(audio, np.float32).tobytes())
    return h.hexdigest()


def frames(clip: Clip) -> np.ndarray:
    """The clip's encoder frames (float16): from its memo, else the UNMASK_WHISPER_FRAMES folder, else the
    encoder."""
    from ..audio.whisper import WhisperEncoder

    f = clip.memo.get("whisper")
    if f is None:
        clip.audio = np.ascontiguousarray(clip.audio, np.float32)
        store = os.environ.get(STORE)
        path = Path(store) / f"{digest(clip.audio)}.npy" if store else None
        if path is not None and path.is_file():
            f = np.load(path)
        else:
            f = WhisperEncoder.shared().features(clip.audio).astype(np.float16)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                with tmp.open("wb") as out:
                    np.save(out, f)
                os.replace(tmp, path)
        clip.memo["whisper"] = f
    return f


class _Rows:
    """A FrameModel that records the mean frame of every window score_track scores (and scores it 0)."""

    frame_s = 0.02

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def features(self, x: np.ndarray) -> np.ndarray:
        raise AssertionError("_Rows reads cached frames only")

    def logit(self, frames: np.ndarray) -> float:
        self.rows.append(np.asarray(frames, np.float64).mean(axis=0).astype(np.float32))
        return 0.0


def window_rows(clip: Clip) -> np.ndarray:
    """(windows, 512) mean frames of the clip's windows with sound (memoised in clip.memo)."""
    from ..audio.vad import SileroSpeech
    from ..audio.whisper import DIM
    from ..audio.windows import score_track

    rows = clip.memo.get("whisper_windows")
    if rows is None:
        collect = _Rows()
        score_track(iter([clip.audio]), collect, features=frames(clip), speech=SileroSpeech())
        rows = np.stack(collect.rows) if collect.rows else np.zeros((0, DIM), np.float32)
        clip.memo["whisper_windows"] = rows
    return rows


def fit(clips: list[Clip], kwargs: dict[str, Any], seed: int, echo: Callable[[str], None]) -> Any:
    """The calibrated WhisperProbe of `clips` (kwargs: C, calibration_folds, max_iter)."""
    from sklearn.linear_model import LogisticRegression

    from ..audio.probe import WhisperProbe

    c, folds, max_iter = float(kwargs.get("C", 1.0)), int(kwargs.get("calibration_folds", 3)), \
        int(kwargs.get("max_iter", 2000))
    t0, todo = time.time(), sum("whisper_windows" not in clip.memo for clip in clips)
    rows = []
    for i, clip in enumerate(clips):
        rows.append(window_rows(clip))
        if todo and (i + 1) % 200 == 0:
            echo(f"whisper frames: {i + 1}/{len(clips)} clips, {time.time() - t0:.0f} s")
    labels = np.array([clip.label for clip in clips])

    def fit_rows(idx: np.ndarray) -> WhisperProbe:
        x = np.concatenate([rows[i] for i in idx]).astype(np.float64)
        y = np.concatenate([np.full(len(rows[i]), labels[i]) for i in idx])
        mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=max_iter).fit((x - mu) / sd, y)
        return WhisperProbe(mu, sd, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))

    return calibrated(fit_rows, clips, folds, seed, echo)
