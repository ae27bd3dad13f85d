"""Fusion with provenance: decisive facts override signal detectors; metadata alone never convicts."""

from pathlib import Path

import unmask
from unmask.report.model import EvidenceEntry
from unmask.verdict import fuse

ASSETS = Path(__file__).parent / "assets"


def _entry(name: str, score: float | None, summary: str, **kw) -> EvidenceEntry:
    return EvidenceEntry(detector=name, score=score, summary=summary, **kw)


def test_decisive_ai_fact_wins_over_signal_scores() -> None:
    evidence = [
        _entry("ela", 0.95, "A region changed oddly."),
        _entry("watermark", 0.97, "Carries the SDXL watermark.", attribution={"ai-generated": 1.0},
               details={"decisive": True}),
    ]
    verdict, reasons = fuse(evidence)
    assert verdict.label == "ai-generated"
    assert verdict.probability == 0.97
    assert reasons[0] == "Carries the SDXL watermark."
    assert "A region changed oddly." in reasons


def test_non_decisive_ai_hint_does_not_force_the_verdict() -> None:
    evidence = [
        _entry("watermark", 0.55, "Partial watermark trace.", attribution={"ai-generated": 0.5},
               details={"decisive": False}),
        _entry("ela", 0.1, "Nothing unusual."),
    ]
    verdict, reasons = fuse(evidence)
    assert verdict.label == "inconclusive"
    assert reasons[0] == "Partial watermark trace."


def test_metadata_alone_stays_below_manipulated() -> None:
    verdict, _ = fuse([_entry("metadata", 0.6, "Thumbnail differs from the image.")])
    assert verdict.label == "inconclusive"


def test_watermarked_golden_image_is_ai_generated_end_to_end() -> None:
    report = unmask.analyze(ASSETS / "watermark_sdxl.png")
    assert report.verdict is not None and report.verdict.label == "ai-generated"
    assert "watermark" in report.reasons[0]
