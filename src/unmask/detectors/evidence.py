"""What one detector found, in one schema for every modality (the uniform side of the native/uniform split)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Segment:
    """A suspicious time span of audio or video, in seconds."""

    start_s: float
    end_s: float
    score: float
    label: str = ""


@dataclass
class Token:
    """A suspicious span of text, as character offsets into the document."""

    start: int
    end: int
    text: str
    score: float


@dataclass
class Box:
    """A region in pixel coordinates (x0, y0, x1, y1), optionally at a time in a video."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    label: str = ""
    time_s: float | None = None


@dataclass
class FaceTrack:
    """One face followed through a video: P(fake) at each sampled time, the track's score (the mean of those
    probabilities, DeepfakeBench's video-level convention), the time segments where the face looks forged,
    its box at each time, quality flags, and a small JPEG thumbnail as a data URI."""

    id: int
    score: float
    times: list[float]
    frame_scores: list[float]
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    thumbnail: str = ""


@dataclass
class Fact:
    """A provenance statement read from the file (metadata, manifest, watermark), not a statistical guess."""

    source: str
    claim: str
    detail: str = ""


@dataclass
class Evidence:
    """One detector's result. `score` in [0,1], higher = more likely manipulated; None = no opinion.

    `heatmap` is float32 in [0,1] and `mask` bool, both at the input's resolution (H, W) when present.
    `summary` is one plain-language sentence a non-expert can follow.
    """

    score: float | None
    summary: str
    calibrated: bool = False
    heatmap: np.ndarray | None = None
    mask: np.ndarray | None = None
    segments: list[Segment] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    tracks: list[FaceTrack] = field(default_factory=list)
    attribution: dict[str, float] = field(default_factory=dict)
    facts: list[Fact] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.score is not None:
            s = float(self.score)
            if not np.isfinite(s):
                raise ValueError(f"evidence score must be finite, got {s}")
            self.score = min(1.0, max(0.0, s))
        if self.heatmap is not None:
            hm = np.asarray(self.heatmap, dtype=np.float32)
            if hm.ndim != 2:
                raise ValueError(f"heatmap must be 2-D, got shape {hm.shape}")
            self.heatmap = np.clip(np.nan_to_num(hm, nan=0.0), 0.0, 1.0)
        if self.mask is not None:
            mask = np.asarray(self.mask).astype(bool)
            if mask.ndim != 2:
                raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
            self.mask = mask
