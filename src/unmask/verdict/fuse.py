"""Turn a report's evidence into a verdict and ranked plain-language reasons.

In this order:
1. No detector gave a score: `no-opinion`, probability null.
2. Provenance: evidence marked `details["decisive"]` (a valid, trusted C2PA manifest, a matched generator
   watermark) that attributes the media to an AI generator sets `ai-generated` at that detector's score; so
   does a strong (>= 0.7) AI attribution from a detector that reads facts from the file (generation
   parameters written by an AI image tool), which no camera writes. Fact readers are not in the fitted models:
   their scores are statements, not measurements, and absent metadata is a shortcut on development data.
3. A fitted verdict model for the modality and profile (`unmask.verdict.model`): its probability
   (`calibrated: true` for one part), labelled by its operating point (`verdict.thresholds`); `ai-generated`
   instead of `manipulated` when the finding that raised the log-odds most attributes the media to an AI
   generator. A post's image parts are each scored and the post takes the highest; its text detectors and
   post checks are in no model. A strong finding (score >= 0.7) from a detector the model does not combine
   (such as those) never makes the verdict `authentic`: it lifts it to
   `inconclusive` and leads the reasons.
4. Otherwise the fallback rule, a linear opinion pool (Stone 1961): the probability is the mean of the
   detector scores, so many weak scores stay weak; `manipulated` at a mean >= 0.7, `authentic` at a mean
   <= 0.3 when no single detector exceeds 0.5, else `inconclusive`. Cut-offs fixed in advance, never tuned.

Each scored entry gets its `contribution` to the verdict (the model's log-odds share, or in the fallback the
score's distance from 0.5). Reasons lead with what supports the label and never with a finding whose own
score contradicts it: for `manipulated`, findings that raised the probability and scored above 0.3; for
`authentic`, findings that lowered it and scored below 0.7; for `inconclusive`, the raising findings first,
then the lowering ones. Then provenance facts (camera, software), then every other scored finding by the
size of its contribution, then other remarks. "Not applicable" notes are evidence, not reasons.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ..report.model import EvidenceEntry, OperatingPoint, ProvenanceFact, Verdict
from ..report.words import NO_OPINION_REASON
from .model import VerdictModel

MANIPULATED_AT = 0.7  # fallback cut-offs, fixed in advance
AUTHENTIC_AT = 0.3
FALLBACK_SINGLE_MAX = 0.5  # the fallback says authentic only when no detector exceeds this
FALLBACK_POINT = OperatingPoint(manipulated=MANIPULATED_AT, authentic=AUTHENTIC_AT,
                                chosen="the mean detector score, cut-offs fixed in advance")


@dataclass
class _Decision:
    label: str
    probability: float
    support: dict[int, float]  # id(entry) -> its contribution (entries the decision used)
    lead: EvidenceEntry | None = None  # a finding that must come first


def _score(e: EvidenceEntry) -> float:
    return float(e.score or 0.0)


def _is_ai(e: EvidenceEntry | None) -> bool:
    return e is not None and e.attribution.get("ai-generated", 0.0) >= 0.5


def _model_input(e: EvidenceEntry) -> float:
    """The score a model was fitted on: before a per-detector calibration (its `raw_score`)."""
    if e.calibrated and "calibration" in e.details and e.details.get("raw_score") is not None:
        return float(e.details["raw_score"])
    return _score(e)


def _modelled(evidence: list[EvidenceEntry], model: VerdictModel) -> _Decision | None:
    """The model's decision on the part with the highest probability, or None when it knows no scored
    detector. Parts (a post's images) are scored separately."""
    parts: dict[str | None, dict[str, EvidenceEntry]] = {}
    for e in evidence:
        if e.score is not None and e.detector in model.detectors:
            parts.setdefault(e.part, {}).setdefault(e.detector, e)
    best: _Decision | None = None
    for entries in parts.values():
        scores = {name: _model_input(e) for name, e in entries.items()}
        p = model.probability(scores)
        if best is None or p > best.probability:
            contrib = model.contributions(scores)
            best = _Decision(str(model.label(p)), p, {id(e): contrib[n] for n, e in entries.items()})
    if best is None:
        return None
    if best.label == "manipulated" and _is_ai(_top(evidence, best.support)):
        best.label = "ai-generated"
    strong = [e for e in evidence if e.score is not None and id(e) not in best.support and _score(e) >= MANIPULATED_AT]
    if strong:
        best.lead = max(strong, key=_score)
        if best.label == "authentic":
            best.label = "inconclusive"
    return best


def _top(evidence: list[EvidenceEntry], support: dict[int, float]) -> EvidenceEntry | None:
    used = [e for e in evidence if id(e) in support]
    return max(used, key=lambda e: support[id(e)]) if used else None


def _fallback(scored: list[EvidenceEntry]) -> _Decision:
    """The linear opinion pool: mean score, labelled by the fixed cut-offs."""
    p = sum(map(_score, scored)) / len(scored)
    support = {id(e): _score(e) - 0.5 for e in scored}
    if p >= MANIPULATED_AT:
        label = "ai-generated" if _is_ai(max(scored, key=_score)) else "manipulated"
    elif p <= AUTHENTIC_AT and max(map(_score, scored)) <= FALLBACK_SINGLE_MAX:
        label = "authentic"
    else:
        label = "inconclusive"
    return _Decision(label, p, support)


def _is_context(e: EvidenceEntry) -> bool:
    return e.score is None and bool(e.summary) and not e.details.get("not_applicable")


def order_reasons(label: str, evidence: list[EvidenceEntry], support: dict[int, float],
                  fact_detectors: Collection[str] = (), lead: EvidenceEntry | None = None) -> list[str]:
    """Summaries ordered so that the first is the best single reason for `label` (see the module docstring).
    `support` maps id(entry) to its contribution; entries without one rank by score after the supporting ones,
    those whose own score agrees with the label before those whose score says the opposite."""
    scored = [e for e in evidence if e.score is not None and e.summary and e is not lead]
    used = [e for e in scored if id(e) in support]
    raising = sorted((e for e in used if support[id(e)] > 0 and _score(e) > AUTHENTIC_AT),
                     key=lambda e: -support[id(e)])
    lowering = sorted((e for e in used if support[id(e)] < 0 and _score(e) < MANIPULATED_AT),
                      key=lambda e: support[id(e)])
    first = {"authentic": lowering, "inconclusive": raising + lowering}.get(label, raising)
    taken = {id(e) for e in first}
    def agrees(e: EvidenceEntry) -> bool:
        """The finding's own score does not say the opposite of the label."""
        if label == "authentic":
            return _score(e) < MANIPULATED_AT
        return label == "inconclusive" or _score(e) > AUTHENTIC_AT

    rest = sorted((e for e in scored if id(e) not in taken), key=lambda e: (
        not agrees(e), -abs(support[id(e)]) if id(e) in support else 0.0,
        _score(e) if label == "authentic" else -_score(e)))
    facts = [e.summary for e in evidence if _is_context(e) and e.detector in fact_detectors]
    remarks = [e.summary for e in evidence if _is_context(e) and e.detector not in fact_detectors]
    head = [lead.summary] if lead is not None and lead.summary else []
    agreeing = [e.summary for e in rest if agrees(e)]
    return head + [e.summary for e in first] + agreeing + facts + [e.summary for e in rest if not agrees(e)] \
        + remarks


def fuse(evidence: list[EvidenceEntry], provenance: Sequence[ProvenanceFact] = (),
         model: VerdictModel | None = None) -> tuple[Verdict, list[str]]:
    """The verdict and its reasons, most important first (see the module docstring). Sets each used
    entry's `contribution`."""
    scored = [e for e in evidence if e.score is not None]
    fact_detectors = {f.detector for f in provenance if f.detector}
    if not scored:
        context = order_reasons("no-opinion", evidence, {}, fact_detectors)
        return Verdict(label="no-opinion", probability=None, calibrated=False, method="none"), \
            [NO_OPINION_REASON, *context]
    decisive = [e for e in scored if _is_ai(e) and (e.details.get("decisive") is True or (
        e.detector in fact_detectors and _score(e) >= MANIPULATED_AT))]
    if decisive:
        top = max(decisive, key=_score)
        reasons = order_reasons("ai-generated", evidence, {id(e): _score(e) - 0.5 for e in scored},
                                fact_detectors, lead=top)
        return Verdict(label="ai-generated", probability=_score(top), calibrated=False,
                       method="provenance"), reasons
    decision = _modelled(evidence, model) if model is not None else None
    if decision is not None:
        point = OperatingPoint(manipulated=model.thresholds["manipulated"],
                               authentic=model.thresholds["authentic"], chosen=model.thresholds.get("chosen", ""))
        n_parts = len({e.part for e in scored if e.detector in model.detectors})
        verdict = Verdict(label=decision.label, probability=min(1.0, max(0.0, decision.probability)),
                          calibrated=n_parts == 1, method="model", model=model.name, thresholds=point)
    else:
        decision = _fallback(scored)
        calibrated = len(scored) == 1 and scored[0].calibrated
        verdict = Verdict(label=decision.label, probability=decision.probability, calibrated=calibrated,
                          method="fallback", thresholds=FALLBACK_POINT)
    for e in scored:
        e.contribution = decision.support.get(id(e))
    return verdict, order_reasons(decision.label, evidence, decision.support, fact_detectors, decision.lead)
