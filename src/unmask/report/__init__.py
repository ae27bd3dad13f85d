"""Reports: the versioned model, fusion into a verdict, and renderers (JSON, HTML, terminal, artifacts)."""

from .model import SCHEMA_VERSION, ErrorEntry, EvidenceEntry, Report, Verdict, json_schema

__all__ = ["SCHEMA_VERSION", "ErrorEntry", "EvidenceEntry", "Report", "Verdict", "json_schema"]
