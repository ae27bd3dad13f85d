"""Response shapes for the OpenAPI document (the handlers build the same dicts, see view.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class VerdictOut(BaseModel):
    """The verdict of a finished job; a job whose file could not be analysed has none (`error` says why)."""

    label: str = Field(description="authentic, inconclusive, manipulated, ai-generated or no-opinion (as the "
                                   "report's verdict.label)")
    probability: float | None = Field(description="null for no-opinion")
    headline: str = Field(description="The label in words, as the report and every front end word it.")


class Links(BaseModel):
    self: str
    report_html: str
    media: str


class JobSummary(BaseModel):
    id: str
    status: str = Field(description="queued, running, done or failed")
    created_at: str
    updated_at: str
    filename: str | None = Field(description="The client's file name, for display only.")
    sha256: str
    size: int
    profile: str
    media_type: str | None = Field(description="image, video, audio, text or post, once analysed")
    verdict: VerdictOut | None
    error: str | None
    deleted: bool
    links: Links


class VerdictWords(BaseModel):
    """The verdict in words, from the same function as the terminal and the HTML report (report.words)."""

    headline: str
    explanation: str
    probability_note: str = Field(description="How to read the probability; empty without one.")
    operating_point: str = Field(description="Where the probability becomes a label; empty without one.")


class JobDetail(JobSummary):
    words: VerdictWords
    report: dict[str, Any] | None = Field(description="The report (same schema as `unmask scan --json`), "
                                                      "heatmap and mask entries with a `url`; null until done.")


class JobList(BaseModel):
    items: list[JobSummary]
    next_cursor: str | None


class Health(BaseModel):
    status: str
    version: str
    queue_depth: int
    workers: int
    server: str = Field(description="this server's id: the lease owner of the jobs it runs")


class Problem(BaseModel):
    detail: str


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}},
        "application/json": {"schema": {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "properties": {"text": {"type": "string", "minLength": 1, "description": "A text to analyse."},
                           "image_url": {"type": "string", "description": "An image to fetch (only when the "
                                         "server runs with --allow-url-fetch); with text, a post."}}}},
    },
}
