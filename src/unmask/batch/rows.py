"""One Parquet row per file: the report flattened into columns, plus the full report as `unmask scan --json`.

The columns are what a query over millions of files needs (verdict, probability, each detector's score,
errors); the `report` column keeps everything else, so nothing `unmask scan` would say is lost. A row is done
for a re-run when its path, sha256 and `config_key` (profile + every detector's name and version) match.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ..report.model import Report
from ..scan import Settings

ERROR = pa.struct([("code", pa.string()), ("message", pa.string()), ("fatal", pa.bool_()),
                   ("detector", pa.string())])

SCHEMA = pa.schema([
    ("path", pa.string()),                                # as given: a local path or a URI
    ("sha256", pa.string()),                              # of the bytes read; null when they could not be
    ("kind", pa.string()),                                # image, video, audio, text, post, unknown
    ("format", pa.string()),
    ("size_bytes", pa.int64()),
    ("label", pa.string()),                               # the verdict label; null when not analysed
    ("probability", pa.float64()),                        # that the file is not authentic
    ("scores", pa.map_(pa.string(), pa.float64())),       # detector (part.detector for a post's images) -> score
    ("error", pa.string()),                               # why the file was not analysed; null when it was
    ("error_code", pa.string()),
    ("errors", pa.list_(ERROR)),                          # every error and warning of the report
    ("artifacts", pa.list_(pa.string())),                 # heatmap and mask PNGs written with --artifacts
    ("profile", pa.string()),
    ("detector_versions", pa.map_(pa.string(), pa.string())),
    ("config_key", pa.string()),                          # hash of profile + detector versions (resume key)
    ("unmask_version", pa.string()),
    ("runtime_s", pa.float64()),
    ("scanned_at", pa.timestamp("ms", tz="UTC")),
    ("report", pa.string()),                              # the report, exactly as `unmask scan --json` writes
])


@dataclass(frozen=True)
class Config:
    """What makes two results of the same file interchangeable: the profile and each detector's version."""

    profile: str
    versions: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, settings: Settings) -> Config:
        """The detectors (names and versions, in run order) an analyzer built from `settings` runs."""
        from ..analysis import Analyzer

        analyzer = Analyzer(profile=settings.profile, detectors=settings.detectors,
                            skip_uninstalled=settings.skip_uninstalled)
        return cls(settings.profile, tuple((n, analyzer.registry.get(n).version) for n in analyzer.detector_names))

    @property
    def key(self) -> str:
        text = json.dumps({"profile": self.profile, "detectors": dict(self.versions)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def report_row(report: Report, source: str, sha256: str | None, config: Config) -> dict[str, Any]:
    """The row of one report; `source` is the path or URI as given, `sha256` what the worker read."""
    fatal = next((e for e in report.errors if e.fatal), None)
    verdict = report.verdict
    return {
        "path": source, "sha256": sha256, "kind": report.media.kind, "format": report.media.format,
        "size_bytes": report.media.size_bytes,
        "label": verdict.label if verdict else None, "probability": verdict.probability if verdict else None,
        "scores": [(f"{e.part}.{e.detector}" if e.part else e.detector, e.score) for e in report.evidence],
        "error": fatal.message if fatal else None, "error_code": fatal.code if fatal else None,
        "errors": [{"code": e.code, "message": e.message, "fatal": e.fatal, "detector": e.detector}
                   for e in report.errors],
        "artifacts": artifact_paths(report),
        "profile": config.profile, "detector_versions": list(config.versions), "config_key": config.key,
        "unmask_version": report.unmask_version, "runtime_s": report.runtime_s,
        "scanned_at": datetime.now(UTC), "report": report.to_json(),
    }


def artifact_paths(report: Report) -> list[str]:
    """The PNG files written for the report's maps, in evidence order."""
    refs = [ref for e in report.evidence for ref in (e.heatmap, e.mask) if ref is not None]
    return [ref.path for ref in refs if ref.path]


def to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as a table of exactly SCHEMA (an empty list gives an empty table of that schema)."""
    return pa.Table.from_pylist(rows, schema=SCHEMA)
