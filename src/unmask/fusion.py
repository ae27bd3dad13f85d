"""Turn a report's evidence into a verdict and ranked plain-language reasons.

Until a stacking model has been fitted and calibrated on development data for a modality (see the learned
detectors), fusion is the documented fallback below and says `calibrated: false` (unless exactly one detector
gave a score and that score is itself calibrated):
- no detector gave a score -> `inconclusive` at 0.5;
- otherwise the probability is the highest detector score (one strong, localised finding is enough to look
  closer), `manipulated` (or `ai-generated` when that detector attributes it so) at >= 0.7, `authentic` at
  <= 0.3, else `inconclusive`. These cut-offs are fixed in advance, not tuned on any data.

Provenance comes first: evidence marked `details["decisive"]` (a valid, trusted C2PA manifest or a matched
generator watermark) that attributes the media to an AI generator sets the verdict to `ai-generated` at that
detector's probability, with the fact as the first reason, whatever the signal detectors say. Metadata
detectors keep their own scores at or below 0.6 unless a signed, trusted claim backs them, so metadata alone
never makes a confident `manipulated`.

Reasons are ordered to support the verdict first: for `authentic`, the most confident negative findings
(lowest scores first); otherwise the findings that raised the probability (highest scores first). Then
context without a score from detectors that read facts from the file (camera, editing software), then
(for other verdicts) the remaining findings, highest first, and last any other unscored remarks.
"Not applicable" notes are evidence, not reasons, and are left out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from .report.model import EvidenceEntry, ProvenanceFact, Verdict

MANIPULATED_AT = 0.7
AUTHENTIC_AT = 0.3
NO_OPINION = "No detector could give an opinion on this file, so unmask cannot judge it."


def _score(e: EvidenceEntry) -> float:
    return float(e.score or 0.0)


def _label(top: EvidenceEntry) -> str:
    p = _score(top)
    if p >= MANIPULATED_AT:
        return "ai-generated" if top.attribution.get("ai-generated", 0.0) >= 0.5 else "manipulated"
    return "authentic" if p <= AUTHENTIC_AT else "inconclusive"


def _is_context(e: EvidenceEntry) -> bool:
    return e.score is None and bool(e.summary) and not e.details.get("not_applicable")


def order_reasons(label: str, evidence: list[EvidenceEntry], fact_detectors: Collection[str] = ()) -> list[str]:
    """Summaries ordered so that the first one is the best single reason for `label`.

    `fact_detectors` names the detectors that stated provenance facts; their unscored remarks rank
    above other unscored ones (e.g. "no usable colour-filter pattern").
    """
    scored = [e for e in evidence if e.score is not None and e.summary]
    facts = [e.summary for e in evidence if _is_context(e) and e.detector in fact_detectors]
    remarks = [e.summary for e in evidence if _is_context(e) and e.detector not in fact_detectors]
    if label == "authentic":
        return [e.summary for e in sorted(scored, key=_score)] + facts + remarks
    by_score = sorted(scored, key=_score, reverse=True)
    raising = [e.summary for e in by_score if _score(e) > AUTHENTIC_AT]
    rest = [e.summary for e in by_score if _score(e) <= AUTHENTIC_AT]
    return raising + facts + rest + remarks


def fuse(evidence: list[EvidenceEntry], provenance: Sequence[ProvenanceFact] = ()) -> tuple[Verdict, list[str]]:
    """The fallback verdict (see the module docstring) and its reasons, most important first."""
    scored = [e for e in evidence if e.score is not None]
    fact_detectors = {f.detector for f in provenance if f.detector}
    if not scored:
        context = order_reasons("inconclusive", evidence, fact_detectors)
        return Verdict(label="inconclusive", probability=0.5, calibrated=False), [NO_OPINION, *context]
    decisive = [e for e in scored if e.details.get("decisive") is True
                and e.attribution.get("ai-generated", 0.0) >= 0.5]
    if decisive:
        top = max(decisive, key=_score)
        reasons = order_reasons("ai-generated", evidence, fact_detectors)
        reasons.remove(top.summary)
        return Verdict(label="ai-generated", probability=_score(top), calibrated=False), [top.summary, *reasons]
    top = max(scored, key=_score)  # first of equals, i.e. registry order: deterministic
    label = _label(top)
    calibrated = len(scored) == 1 and scored[0].calibrated
    verdict = Verdict(label=label, probability=_score(top), calibrated=calibrated)
    return verdict, order_reasons(label, evidence, fact_detectors)
