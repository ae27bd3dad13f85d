"""The report: a versioned Pydantic model whose JSON field names are a contract (see docs/report.schema.json)."""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

SCHEMA_VERSION = "1.0"
Label = Literal["authentic", "inconclusive", "manipulated", "ai-generated"]


class MediaInfo(BaseModel):
    """What was analysed. Images add width/height; audio and video add duration_s."""

    model_config = ConfigDict(extra="allow")
    path: str | None = None
    sha256: str | None = None
    kind: str = "unknown"
    format: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


class Verdict(BaseModel):
    label: Label
    probability: float = Field(ge=0.0, le=1.0, description="Probability that the media is not authentic.")
    calibrated: bool = Field(description="True only when the probability comes from a calibrated model.")


class ArtifactRef(BaseModel):
    """A heatmap or mask at the input's size. `path` is set when artifacts were written to disk."""

    name: str
    kind: Literal["heatmap", "mask"]
    width: int
    height: int
    path: str | None = None


class SegmentModel(BaseModel):
    start_s: float
    end_s: float
    score: float
    label: str = ""


class TokenModel(BaseModel):
    start: int
    end: int
    text: str
    score: float


class BoxModel(BaseModel):
    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    label: str = ""
    time_s: float | None = None


class ProvenanceFact(BaseModel):
    source: str
    claim: str
    detail: str = ""
    detector: str | None = None


class EvidenceEntry(BaseModel):
    detector: str
    version: str = "1"
    part: str | None = Field(None, description="Which part of a composite media (e.g. 'images[0]' of a post).")
    score: float | None = Field(None, ge=0.0, le=1.0)
    calibrated: bool = False
    summary: str = ""
    heatmap: ArtifactRef | None = None
    mask: ArtifactRef | None = None
    segments: list[SegmentModel] = Field(default_factory=list)
    tokens: list[TokenModel] = Field(default_factory=list)
    boxes: list[BoxModel] = Field(default_factory=list)
    attribution: dict[str, float] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    runtime_s: float = 0.0


class ErrorEntry(BaseModel):
    """A problem. `fatal` errors mean the media was not analysed; others are warnings about one part."""

    code: str
    message: str
    fatal: bool = True
    detector: str | None = None


class Report(BaseModel):
    """Everything unmask concluded about one input. Maps are kept in memory for rendering, not in JSON."""

    schema_version: str = SCHEMA_VERSION
    unmask_version: str = ""
    profile: str = "default"
    media: MediaInfo
    verdict: Verdict | None = None
    reasons: list[str] = Field(default_factory=list)
    evidence: list[EvidenceEntry] = Field(default_factory=list)
    provenance: list[ProvenanceFact] = Field(default_factory=list)
    errors: list[ErrorEntry] = Field(default_factory=list)
    runtime_s: float = 0.0

    _maps: dict[str, np.ndarray] = PrivateAttr(default_factory=dict)
    _preview: np.ndarray | None = PrivateAttr(default=None)

    @property
    def analysed(self) -> bool:
        return self.verdict is not None and not any(e.fatal for e in self.errors)

    @property
    def maps(self) -> dict[str, np.ndarray]:
        """Artifact name -> array (float32 heatmap in [0,1] or bool mask), at the input's resolution."""
        return self._maps

    @property
    def preview(self) -> np.ndarray | None:
        """The analysed image (RGB uint8) for rendering overlays, when the media is an image."""
        return self._preview

    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())

    def to_html(self, path: str | None = None) -> str:
        from .html import render_html

        page = render_html([self])
        if path is not None:
            from pathlib import Path

            Path(path).write_text(page, encoding="utf-8")
        return page

    def top_reason(self) -> str:
        if self.errors and self.verdict is None:
            return self.errors[0].message
        return self.reasons[0] if self.reasons else ""


def json_schema() -> dict[str, Any]:
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"unmask report {SCHEMA_VERSION}"
    return schema
