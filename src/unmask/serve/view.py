"""The JSON shapes of jobs in the API (see docs/service.md)."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..report.words import describe, verdict_words
from .worker import artifact_file

API = "/v1/analyses"


def iso(ts: float) -> str:
    """A UNIX time as ISO 8601 UTC with milliseconds, e.g. 2024-05-01T12:00:00.000Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def links(job_id: str) -> dict[str, str]:
    base = f"{API}/{job_id}"
    return {"self": base, "report_html": f"{base}/report.html", "media": f"{base}/media"}


def summary(job: dict[str, Any]) -> dict[str, Any]:
    """A job without its report: what lists show and what an upload answers."""
    verdict = None
    if job["status"] == "done" and job["verdict_label"]:
        verdict = {"label": job["verdict_label"], "probability": job["verdict_probability"],
                   "headline": describe(job["verdict_label"], job["media_type"])[0]}
    return {"id": job["id"], "status": job["status"], "created_at": iso(job["created_at"]),
            "updated_at": iso(job["updated_at"]), "filename": job["filename"], "sha256": job["sha256"],
            "size": job["size"], "profile": job["profile"], "media_type": job["media_type"], "verdict": verdict,
            "error": job["error"], "deleted": bool(job["deleted"]), "links": links(job["id"])}


def with_urls(report: dict[str, Any], job_id: str) -> dict[str, Any]:
    """The report with `url` added to every heatmap and mask, pointing at the artifact endpoint."""
    report = copy.deepcopy(report)
    for entry in report.get("evidence", []):
        for kind in ("heatmap", "mask"):
            ref = entry.get(kind)
            if ref and ref.get("name"):
                ref["url"] = f"{API}/{job_id}/artifacts/{quote(artifact_file(ref['name']))}"
    return report


def detail(job: dict[str, Any], report: dict[str, Any] | None) -> dict[str, Any]:
    """A job with its report (null until done); artifact URLs only while the artifacts exist."""
    if report is not None and not job["deleted"]:
        report = with_urls(report, job["id"])
    verdict = (report or {}).get("verdict")
    return {**summary(job), "report": report, "words": verdict_words(verdict)}


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The position a cursor stands for, or None when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith("s") or not text[1:].isdigit() or len(text) > 20:
        return None
    return int(text[1:])
