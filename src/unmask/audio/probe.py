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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .whisper import DIM, HOP, WhisperEncoder


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
    feature_key: ClassVar[str] = "whisper"  # where a trainer keeps a clip's frames (Clip.memo)
    encoder: WhisperEncoder | None = field(default=None, repr=False, compare=False)

    def features(self, x: np.ndarray) -> np.ndarray:
        """(ceil(len(x)/320), 512) Whisper-base encoder frames of 16 kHz mono `x`."""
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
