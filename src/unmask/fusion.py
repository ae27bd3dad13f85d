"""Turn a report's evidence into a verdict and ranked plain-language reasons.

With a stacking model for the media's modality (`unmask.stacking`: a logistic regression over every
detector's score, fitted and cross-validated on development data with `unmask fuse fit`, see
docs/calibration.md), the verdict probability is that model's output and says `calibrated: true`. The model
reads each detector's raw score (before any per-detector calibration); detectors it does not know are left
out of the probability but still give reasons. The label uses the fixed cut-offs below; `ai-generated` when
the detector that raised the log-odds most attributes the media to an AI generator. A post's image parts are
each scored by the model and the post takes the highest probability (`calibrated` only with one part).
A strong finding (score >= 0.7) from a detector the model does not combine, such as generator parameters
written into the metadata, is not silenced by the model: when it exceeds the model's probability it sets the
verdict as in the fallback rule (`calibrated: false`) and comes first among the reasons.

Without a model (none shipped yet, none given, or one fitted on other detector versions), fusion is the
documented fallback below and says `calibrated: false` (unless exactly one detector gave a score and that
score is itself calibrated):
- no detector gave a score -> `inconclusive` at 0.5;
- otherwise the probability is the highest detector score (one strong, localised finding is enough to look
  closer), `manipulated` (or `ai-generated` when that detector attributes it so) at >= 0.7, `authentic` at
  <= 0.3, else `inconclusive`. These cut-offs are fixed in advance, not tuned on any data.

Provenance comes first, with or without a model: evidence marked `details["decisive"]` (a valid, trusted C2PA
manifest or a matched generator watermark) that attributes the media to an AI generator sets the verdict to
`ai-generated` at that detector's probability, with the fact as the first reason, whatever the signal
detectors say. Metadata detectors keep their own scores at or below 0.6 unless a signed, trusted claim backs
them, so metadata alone never makes a confident `manipulated`.

Reasons are ordered to support the verdict first: for `authentic`, the most confident negative findings
(lowest scores first); otherwise the findings that raised the probability (highest scores first). Then
context without a score from detectors that read facts from the file (camera, editing software), then
(for other verdicts) the remaining findings, highest first, and last any other unscored remarks. With a
model, the findings it combined rank by their contribution to the log-odds instead of by their raw score.
"Not applicable" notes are evidence, not reasons, and are left out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from .report.model import EvidenceEntry, ProvenanceFact, Verdict

if TYPE_CHECKING:
    from .stacking import Stacker

MANIPULATED_AT = 0.7
AUTHENTIC_AT = 0.3
NO_OPINION = "No detector could give an opinion on this file, so unmask cannot judge it."


def _score(e: EvidenceEntry) -> float:
    return float(e.score or 0.0)


def _label(top: EvidenceEntry, p: float) -> str:
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


def _model_input(e: EvidenceEntry) -> float:
    """The score a stacking model was fitted on: before a per-detector calibration (its `raw_score`)."""
    if e.calibrated and "calibration" in e.details and e.details.get("raw_score") is not None:
        return float(e.details["raw_score"])
    return _score(e)


def _stack(evidence: list[EvidenceEntry], stacker: Stacker) -> tuple[float, dict[int, float], int] | None:
    """(probability, {id(entry): contribution} of the part with the highest probability, parts scored), or
    None when no detector the model knows gave a score. Parts (a post's images) are scored separately."""
    parts: dict[str | None, dict[str, EvidenceEntry]] = {}
    for e in evidence:
        if e.score is not None and e.detector in stacker.detectors:
            parts.setdefault(e.part, {}).setdefault(e.detector, e)
    best: tuple[float, dict[int, float], int] | None = None
    for entries in parts.values():
        scores = {name: _model_input(e) for name, e in entries.items()}
        p = stacker.probability(scores)
        if best is None or p > best[0]:
            contrib = stacker.contributions(scores)
            best = (p, {id(e): contrib[name] for name, e in entries.items()}, len(parts))
    return best


def _stacked_reasons(label: str, evidence: list[EvidenceEntry], support: dict[int, float],
                     fact_detectors: Collection[str]) -> list[str]:
    """Reasons when a model gave the probability: its findings by contribution, then the others by score."""
    scored = [e for e in evidence if e.score is not None and e.summary]
    ranked = [e for e in scored if id(e) in support]
    others = [e for e in scored if id(e) not in support]
    facts = [e.summary for e in evidence if _is_context(e) and e.detector in fact_detectors]
    remarks = [e.summary for e in evidence if _is_context(e) and e.detector not in fact_detectors]
    if label == "authentic":
        ranked.sort(key=lambda e: support[id(e)])
        return [e.summary for e in ranked + sorted(others, key=_score)] + facts + remarks
    ranked.sort(key=lambda e: -support[id(e)])
    raising = [e.summary for e in ranked if support[id(e)] > 0]
    rest = [e.summary for e in ranked if support[id(e)] <= 0] + [e.summary for e in
                                                                  sorted(others, key=_score, reverse=True)]
    return raising + facts + rest + remarks


def _fuse_stacked(evidence: list[EvidenceEntry], stacker: Stacker,
                  fact_detectors: Collection[str]) -> tuple[Verdict, list[str]] | None:
    stacked = _stack(evidence, stacker)
    if stacked is None:
        return None
    p, support, n_parts = stacked
    strong = [e for e in evidence if id(e) not in support and e.score is not None and _score(e) >= MANIPULATED_AT]
    if strong and max(map(_score, strong)) > p:
        first = max(strong, key=_score)
        label = _label(first, _score(first))
        reasons = _stacked_reasons(label, evidence, support, fact_detectors)
        reasons.remove(first.summary)
        return Verdict(label=label, probability=_score(first), calibrated=False), [first.summary, *reasons]
    top = max((e for e in evidence if id(e) in support), key=lambda e: support[id(e)])
    label = _label(top, p)
    verdict = Verdict(label=label, probability=min(1.0, max(0.0, p)), calibrated=n_parts == 1)
    return verdict, _stacked_reasons(label, evidence, support, fact_detectors)


def fuse(evidence: list[EvidenceEntry], provenance: Sequence[ProvenanceFact] = (),
         stacker: Stacker | None = None) -> tuple[Verdict, list[str]]:
    """The verdict (see the module docstring: `stacker`'s probability when it knows a scored detector, else
    the fallback rule) and its reasons, most important first."""
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
    if stacker is not None:
        stacked = _fuse_stacked(evidence, stacker, fact_detectors)
        if stacked is not None:
            return stacked
    top = max(scored, key=_score)  # first of equals, i.e. registry order: deterministic
    label = _label(top, _score(top))
    calibrated = len(scored) == 1 and scored[0].calibrated
    verdict = Verdict(label=label, probability=_score(top), calibrated=calibrated)
    return verdict, order_reasons(label, evidence, fact_detectors)
