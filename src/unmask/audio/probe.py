"""A linear probe on frozen Whisper encoder frames: the frame model of the `whisper_probe` speech detector.

Kawa et al. (Interspeech 2023, "Improved DeepFake detection using Whisper features") show that the encoder of
an ASR model trained on 680k hours of varied speech carries what a spoof detector needs; the UnivFD idea
(Ojha et al., CVPR 2023) is that a *linear* classifier on such frozen features generalises to unseen
generators better than a network trained end to end on a few. Here the features are Whisper-base's 512-d
frames (unmask.audio.whisper, one per 20 ms), and a window's logit is a linear map of its mean frame,
standardised by the training rows' mean and standard deviation:

    logit = scale * (w . (mean(frames) - mu) / sd + b) + offset

Linear on the mean, so a window's logit is the mean of its frames' linear scores. `w`, `b` come from an L2
logistic regression on the mean frames of training windows; `scale`, `offset` from a logistic fit of
out-of-fold window logits (unmask.train.whisper_probe).

Memoised frames. The encoder costs ~0.9 s per 30-s piece, so a trainer that has the frames of a clip already
registers them (`remember`); `WhisperProbe.features` of that clip's samples, or of any frame-aligned stretch
of them (the blocks unmask.audio.windows cuts from it are views into the same memory), then returns the stored
rows instead of encoding again. The registry keeps a reference to each registered array (so its memory is
never reused while it is registered); `forget()` empties it. The audio must not be changed in place after it
is registered. A detector at inference registers nothing and always encodes.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from .whisper import DIM, HOP, WhisperEncoder

# start address -> (samples, their frames): the frames of the whole array, one row per HOP samples
_MEMO: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_STARTS: list[int] = []  # sorted keys of _MEMO


def _address(x: np.ndarray) -> int:
    return int(x.__array_interface__["data"][0])


def remember(audio: np.ndarray, frames: np.ndarray) -> None:
    """Register the encoder frames of a 1-D float32 array (WhisperEncoder.features of it, any float dtype)."""
    if audio.dtype != np.float32 or audio.ndim != 1 or not audio.flags.c_contiguous:
        raise ValueError("only contiguous 1-D float32 samples can be registered")
    if len(frames) != math.ceil(audio.size / HOP):
        raise ValueError(f"{len(frames)} frames for {audio.size} samples; expected {math.ceil(audio.size / HOP)}")
    start = _address(audio)
    if start not in _MEMO:
        bisect.insort(_STARTS, start)
    _MEMO[start] = (audio, frames)


def forget() -> None:
    """Empty the registry."""
    _MEMO.clear()
    _STARTS.clear()


def recall(x: np.ndarray) -> np.ndarray | None:
    """The registered frames of `x` when `x` lies inside a registered array and starts on its frame grid
    (as float32), else None."""
    if not _STARTS or x.dtype != np.float32 or x.ndim != 1 or not x.flags.c_contiguous or not x.size:
        return None
    at = _address(x)
    i = bisect.bisect_right(_STARTS, at) - 1
    if i < 0:
        return None
    audio, frames = _MEMO[_STARTS[i]]
    offset, rest = divmod(at - _STARTS[i], audio.itemsize)
    if rest or offset % HOP or offset + x.size > audio.size:
        return None
    first = offset // HOP
    return np.asarray(frames[first:first + math.ceil(x.size / HOP)], np.float32)


@dataclass
class WhisperProbe:
    """The frame model (unmask.audio.windows.FrameModel) of the whisper_probe detector."""

    mean: np.ndarray  # (512,) of the training rows
    std: np.ndarray  # (512,)
    weight: np.ndarray  # (512,) on the standardised mean frame
    bias: float = 0.0
    scale: float = 1.0
    offset: float = 0.0
    frame_s: float = HOP / 16000  # 0.02
    encoder: WhisperEncoder | None = field(default=None, repr=False, compare=False)

    def features(self, x: np.ndarray) -> np.ndarray:
        """(ceil(len(x)/320), 512) Whisper-base encoder frames of 16 kHz mono `x` (registered ones reused)."""
        known = recall(x)
        if known is not None:
            return known
        return (self.encoder or WhisperEncoder.shared()).features(x)

    def frame_scores(self, frames: np.ndarray) -> np.ndarray:
        """Each frame's uncalibrated linear score w . (frame - mu) / sd + b."""
        f = np.asarray(frames, np.float64)
        return (f - self.mean) @ (self.weight / self.std) + self.bias

    def raw(self, frames: np.ndarray) -> float:
        """The probe's uncalibrated logit of a window: w . (mean(frames) - mu) / sd + b."""
        m = np.asarray(frames, np.float64).mean(axis=0)
        return float((m - self.mean) @ (self.weight / self.std) + self.bias)

    def logit(self, frames: np.ndarray) -> float:
        return self.scale * self.raw(frames) + self.offset

    def arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean.astype(np.float32), "std": self.std.astype(np.float32),
                "weight": self.weight.astype(np.float32), "bias": np.array([self.bias], np.float32),
                "calibration": np.array([self.scale, self.offset], np.float32)}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> WhisperProbe:
        shapes = {k: a[k].shape for k in ("mean", "std", "weight")}
        if any(s != (DIM,) for s in shapes.values()):
            raise ValueError(f"expected ({DIM},) probe arrays, got {shapes}")
        scale, offset = (float(v) for v in a["calibration"])
        return cls(*(a[k].astype(np.float64) for k in ("mean", "std", "weight")), float(a["bias"][0]), scale,
                   offset)
