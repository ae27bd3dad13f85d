"""What one detector found, in one schema for every modality (the uniform side of the native/uniform split).

`Evidence` holds a detector's result with its maps as arrays. The parts a finding can carry (segments, text
spans, boxes, face tracks, provenance facts) are defined once, here, as the pydantic models the report's JSON
is made of (unmask.report.model imports them; their names are those of docs/report.schema.json): a
detector's segment is the report's segment, with no copy in between. A provenance fact's `detector` and `part`
are filled in by the Analyzer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator


def plain(value: Any) -> Any:
    """A Python value for a numpy one: numpy numbers become Python numbers (float16/32 through their shortest
    repr, so 0.3f reads 0.3, not 0.30000001192), arrays and tuples are converted item by item, and a
    non-finite float becomes None (the report's JSON has no NaN, so a required number then fails)."""
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(str(value)) if isinstance(value, np.float16 | np.float32) else float(value)
        return f if math.isfinite(f) else None
    return value


class SchemaModel(BaseModel):
    """Every field is always written, so the exported schema lists them all as required."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class _Part(SchemaModel):
    """A part of a finding: numpy numbers are accepted as the Python numbers they stand for (see `plain`)."""

    @field_validator("*", mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return plain(value)


# SegmentModel, TokenModel and BoxModel carry comments, not docstrings: pydantic would put a docstring into
# docs/report.schema.json as a description, and the schema is a contract.

# A suspicious time span of audio or video, in seconds.
class SegmentModel(_Part):
    start_s: float
    end_s: float
    score: float
    label: str = ""


# A suspicious span of text, as character offsets into the document.
class TokenModel(_Part):
    start: int = Field(description="Character offset of the span's start in the text.")
    end: int
    text: str
    score: float


# A region in pixel coordinates (x0, y0, x1, y1), optionally at a time in a video.
class BoxModel(_Part):
    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    label: str = ""
    time_s: float | None = None


class TrackModel(_Part):
    """One face followed through a video (schema 1.1)."""

    id: int = Field(description="Track id, in order of first appearance.")
    score: float = Field(ge=0.0, le=1.0, description="Mean of the frame probabilities (DeepfakeBench video level).")
    times: list[float] = Field(description="Sampled times (s) where the face was seen.")
    frame_scores: list[float] = Field(description="P(forged face) at each of `times`.")
    boxes: list[tuple[float, float, float, float]] = Field(default_factory=list,
                                                           description="Face box (x0, y0, x1, y1) at each time.")
    segments: list[SegmentModel] = Field(default_factory=list, description="Spans where the face looks forged.")
    flags: list[str] = Field(default_factory=list, description="Quality flags seen on the track (too_small, ...).")
    thumbnail: str = Field("", description="A small JPEG of the face as a data: URI.")


class ProvenanceFact(_Part):
    """A statement the file makes about itself (metadata, manifest, watermark): stated, not guessed."""

    source: str = Field(description="Where it was read: exif, xmp, png-text, c2pa, watermark, ...")
    claim: str
    detail: str = ""
    detector: str | None = None
    part: str | None = Field(None, description="Which part of a composite media the fact is about.")


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
    segments: list[SegmentModel] = field(default_factory=list)
    tokens: list[TokenModel] = field(default_factory=list)
    boxes: list[BoxModel] = field(default_factory=list)
    tracks: list[TrackModel] = field(default_factory=list)
    attribution: dict[str, float] = field(default_factory=dict)
    facts: list[ProvenanceFact] = field(default_factory=list)
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
