"""Reasons agree with the verdict, and every front end words a label the same way.

Properties over random evidence (hypothesis) and over the demo samples analysed for real: a reason that leads a
`manipulated` / `ai-generated` verdict raised the probability and scored above the no-sign band; one that leads
an `authentic` verdict lowered it and scored below the clear-sign band; the supporting reasons come in order of
their contribution. Then the label's words: schema, JSON, terminal, HTML report and the service's job view.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from unmask.report.html import render_html
from unmask.report.model import EvidenceEntry, MediaInfo, OperatingPoint, Report, Verdict
from unmask.report.words import LABELS, describe, verdict_words
from unmask.verdict import AUTHENTIC_AT, MANIPULATED_AT, fuse
from unmask.verdict.model import Feature, VerdictModel

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["a", "b", "c", "d", "e"]


def _model() -> VerdictModel:
    feats = [Feature(n, w, m, 1.0) for n, w, m in zip(NAMES[:3], (1.2, 0.6, 0.3), (-3.0, -2.0, -1.0),
                                                                  strict=True)]
    return VerdictModel("image-default", "image", dict.fromkeys(NAMES[:3], "1"), feats, -0.5,
                        {"manipulated": 0.75, "authentic": 0.3, "chosen": "test"})


def check_reasons(label: str, reasons: list[str], evidence: list[EvidenceEntry]) -> None:
    """The properties every verdict's reasons must have (see the module docstring)."""
    by_summary = {e.summary: e for e in evidence if e.score is not None}
    lead = [by_summary[r] for r in reasons if r in by_summary]
    if not lead or lead[0].contribution is None or label in ("inconclusive", "no-opinion"):
        return  # a provenance statement or an unmodelled strong finding leads: checked elsewhere
    raising = label != "authentic"

    def supports(e: EvidenceEntry) -> bool:
        if e.contribution is None or e.contribution == 0 or (e.contribution > 0) != raising:
            return False
        return e.score > AUTHENTIC_AT if raising else e.score < MANIPULATED_AT

    support = [e for e in lead if supports(e)]
    if support:  # the best supporting finding leads, and the supporting ones come by contribution
        assert lead[0] is max(support, key=lambda e: abs(e.contribution)), reasons
        sizes = [abs(e.contribution) for e in support]
        assert sizes == sorted(sizes, reverse=True), reasons
    contradicting = (lambda e: e.score <= AUTHENTIC_AT) if raising else (lambda e: e.score >= MANIPULATED_AT)
    if any(not contradicting(e) for e in lead):  # never lead with a finding whose own band says the opposite
        assert not contradicting(lead[0]), reasons


scores = st.lists(st.tuples(st.sampled_from(NAMES), st.one_of(st.none(), st.floats(0.0, 1.0)),
                            st.booleans()), min_size=1, max_size=8, unique_by=lambda t: t[0])


@given(scores, st.booleans())
@settings(max_examples=300, deadline=None)
def test_reasons_agree_with_the_verdict_on_random_evidence(entries, with_model):
    evidence = [EvidenceEntry(detector=n, score=s, summary=f"{n} found {s}",
                              attribution={"ai-generated": 1.0} if ai else {}) for n, s, ai in entries]
    verdict, reasons = fuse(evidence, model=_model() if with_model else None)
    assert verdict.headline == describe(verdict.label)[0]
    if verdict.label == "no-opinion":
        assert verdict.probability is None and all(e.score is None for e in evidence)
        return
    assert 0.0 <= verdict.probability <= 1.0
    check_reasons(verdict.label, reasons, evidence)
    lo, hi = verdict.thresholds.authentic, verdict.thresholds.manipulated
    if verdict.label == "authentic":
        assert verdict.probability <= lo
    if verdict.label in ("manipulated", "ai-generated"):
        assert verdict.probability >= hi


@pytest.fixture(scope="module")
def demo_reports():
    from unmask.analysis import Analyzer
    from unmask.scan import expand

    analyzer = Analyzer(skip_uninstalled=True)
    items = [it for it in expand([ROOT / "samples"], recursive=True, skipped=[]) if not it.error]
    assert len(items) >= 8
    return [analyzer.analyze(it.path) for it in items]


def test_reasons_agree_with_the_verdict_on_the_demo_samples(demo_reports):
    for report in demo_reports:
        v = report.verdict
        assert v is not None and v.headline == describe(v.label)[0]
        check_reasons(v.label, report.reasons, report.evidence)
        for e in report.evidence:
            band = e.details.get("band")
            if e.summary in report.reasons[:1] and band is not None:
                assert not (v.label == "authentic" and band == "clear"), e.summary
                assert not (v.label in ("manipulated", "ai-generated") and band == "none"), e.summary


def _report(label: str) -> Report:
    p = None if label == "no-opinion" else 0.8
    point = None if p is None else OperatingPoint(manipulated=0.8, authentic=0.3, chosen="test")
    return Report(media=MediaInfo(kind="image", path="x.jpg"),
                  verdict=Verdict(label=label, probability=p, calibrated=False, thresholds=point),
                  reasons=["because"])


@pytest.mark.parametrize("label", LABELS)
def test_every_front_end_words_a_label_alike(label):
    from unmask.report.terminal import print_summary

    headline, explanation = describe(label)
    report = _report(label)
    obj = report.to_dict()
    assert obj["verdict"]["label"] == label and obj["verdict"]["headline"] == headline
    assert obj["verdict"]["explanation"] == explanation
    html = render_html([report])
    assert headline in html and explanation in html
    console = Console(file=io.StringIO(), width=120, record=True)
    print_summary([report], console)
    assert label in console.export_text()
    words = verdict_words(obj["verdict"])
    assert (words["headline"], words["explanation"]) == (headline, explanation)
    assert bool(words["operating_point"]) == (label != "no-opinion")
    if label != "no-opinion":
        assert words["operating_point"] in html
    pytest.importorskip("fastapi")
    from unmask.serve.view import detail, summary

    job = {"id": "f" * 32, "status": "done", "created_at": 0.0, "updated_at": 0.0, "filename": "x.jpg",
           "sha256": "0" * 64, "size": 1, "profile": "default", "media_type": "image", "verdict_label": label,
           "verdict_probability": obj["verdict"]["probability"], "error": None, "deleted": False}
    assert summary(job)["verdict"]["headline"] == headline
    assert detail(job, obj)["words"] == words


def test_a_file_that_was_not_analysed_has_one_wording():
    headline = describe(None)[0]
    assert verdict_words(None)["headline"] == headline
    assert headline in render_html([Report(media=MediaInfo(path="x.jpg"))])
