"""The report: a versioned Pydantic model whose JSON field names are a contract (see docs/report.schema.json).

Field names and meanings only change with `SCHEMA_VERSION`; new optional fields may be added. The parts of a
finding (SegmentModel, TokenModel, BoxModel, TrackModel, ProvenanceFact) and the base `SchemaModel` are
defined once, with the evidence detectors return (unmask.detectors.evidence), and used here as they are.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from ..detectors.evidence import BoxModel, ProvenanceFact, SchemaModel, SegmentModel, TokenModel, TrackModel
from .words import describe

SCHEMA_VERSION = "1.2"
Label = Literal["authentic", "inconclusive", "manipulated", "ai-generated", "no-opinion"]


class MediaInfo(SchemaModel):
    """What was analysed. Images add width/height; audio and video add duration_s; others may add more."""

    model_config = ConfigDict(extra="allow", json_schema_serialization_defaults_required=True)
    path: str | None = None
    sha256: str | None = Field(None, description="SHA-256 of the file's bytes (hex).")
    kind: str = Field("unknown", description="image, video, audio, text, post, or unknown when not loaded.")
    format: str | None = Field(None, description="Container or file format sniffed from the content.")
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


class OperatingPoint(SchemaModel):
    """Where the verdict's probability becomes a label (schema 1.2)."""

    manipulated: float = Field(ge=0.0, le=1.0, description="At or above: manipulated (or ai-generated).")
    authentic: float = Field(ge=0.0, le=1.0, description="At or below: authentic; in between: inconclusive.")
    chosen: str = Field("", description="How the two were chosen, e.g. the false-alarm rate on development data.")


class Verdict(SchemaModel):
    """The fused verdict. `headline` and `explanation` are filled from the label by `report.words.describe`,
    so every front end words a label the same way."""

    label: Label
    probability: float | None = Field(ge=0.0, le=1.0, description="Probability that the media is not authentic; "
                                      "null only for no-opinion (no detector scored).")
    calibrated: bool = Field(description="True only when the probability comes from a calibrated model.")
    headline: str = Field("", description="The label in words (schema 1.2).")
    explanation: str = Field("", description="One sentence on what the label means (schema 1.2).")
    method: Literal["model", "fallback", "provenance", "none"] = Field(
        "fallback", description="model: a fitted verdict model; fallback: the rule without one; provenance: a "
                                "decisive fact in the file; none: no detector scored (schema 1.2).")
    model: str | None = Field(None, description="The fitted verdict model's name, e.g. image-default.")
    thresholds: OperatingPoint | None = Field(None, description="The operating point used for the label.")

    @model_validator(mode="after")
    def _words(self) -> Verdict:
        if (self.probability is None) != (self.label == "no-opinion"):
            raise ValueError("probability is null exactly when the label is no-opinion")
        if not self.headline:
            self.headline, self.explanation = describe(self.label)
        return self


class ArtifactRef(SchemaModel):
    """A heatmap or mask at the input's size. `path` is set when artifacts were written to disk."""

    name: str
    kind: Literal["heatmap", "mask"]
    width: int
    height: int
    path: str | None = Field(None, description="PNG file: heatmaps 16-bit gray (0..65535 = 0..1), masks 0/255.")


class EvidenceEntry(SchemaModel):
    """What one detector found."""

    detector: str
    version: str = "1"
    part: str | None = Field(None, description="Which part of a composite media (e.g. 'images[0]' of a post).")
    score: float | None = Field(None, ge=0.0, le=1.0,
                                description="Higher = more likely manipulated; null = no opinion.")
    calibrated: bool = False
    summary: str = Field("", description="One plain-language sentence.")
    heatmap: ArtifactRef | None = None
    mask: ArtifactRef | None = None
    segments: list[SegmentModel] = Field(default_factory=list)
    tokens: list[TokenModel] = Field(default_factory=list)
    boxes: list[BoxModel] = Field(default_factory=list)
    tracks: list[TrackModel] = Field(default_factory=list, description="Per face track of a video (face detectors).")
    attribution: dict[str, float] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    contribution: float | None = Field(None, description="How far this finding moved the verdict's log-odds "
                                       "(+ towards not authentic); null when the verdict did not use it (1.2).")
    runtime_s: float = 0.0


class ErrorEntry(SchemaModel):
    """A problem. `fatal` errors mean the media was not analysed; others are warnings about one part."""

    code: str
    message: str
    fatal: bool = True
    detector: str | None = None


class Report(SchemaModel):
    """Everything unmask concluded about one input. Maps are kept in memory for rendering, not in JSON."""

    schema_version: str = SCHEMA_VERSION
    unmask_version: str = ""
    profile: str = "default"
    media: MediaInfo
    verdict: Verdict | None = Field(None, description="null when the file could not be analysed.")
    reasons: list[str] = Field(default_factory=list, description="Plain-language sentences, most important first.")
    evidence: list[EvidenceEntry] = Field(default_factory=list)
    provenance: list[ProvenanceFact] = Field(default_factory=list)
    errors: list[ErrorEntry] = Field(default_factory=list)
    runtime_s: float = 0.0

    _maps: dict[str, np.ndarray] = PrivateAttr(default_factory=dict)
    _previews: dict[str | None, np.ndarray] = PrivateAttr(default_factory=dict)
    _text: str | None = PrivateAttr(default=None)

    @property
    def analysed(self) -> bool:
        return self.verdict is not None and not any(e.fatal for e in self.errors)

    @property
    def maps(self) -> dict[str, np.ndarray]:
        """Artifact name -> array (float32 heatmap in [0,1] or bool mask), at the input's resolution."""
        return self._maps

    @property
    def previews(self) -> dict[str | None, np.ndarray]:
        """Part (None = the media itself, 'images[0]' of a post, ...) -> analysed image, RGB uint8."""
        return self._previews

    @property
    def preview(self) -> np.ndarray | None:
        """The analysed image (RGB uint8) for rendering overlays, when the media is an image."""
        return self._previews.get(None)

    @property
    def text(self) -> str | None:
        """The analysed text of a text or post (kept only for rendering its highlighted words)."""
        return self._text

    def keep_text(self, text: str) -> None:
        self._text = text

    def drop_arrays(self) -> None:
        """Forget maps, previews and text (kept only for rendering) so many reports fit in memory."""
        self._maps = {}
        self._previews = {}
        self._text = None

    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())

    def top_reason(self) -> str:
        """The first reason, or for a file that was not analysed, why not."""
        fatal = [e.message for e in self.errors if e.fatal]
        if fatal or self.verdict is None:
            return (fatal or [e.message for e in self.errors] or ["not analysed"])[0]
        return self.reasons[0] if self.reasons else ""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one report line as written (serialisation mode: every field is present)."""
    schema = Report.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"unmask report {SCHEMA_VERSION}"
    return schema
