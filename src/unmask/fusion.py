"""Turn a report's evidence into a verdict and ranked plain-language reasons.

Until a stacking model has been fitted and calibrated on development data for a modality (see the learned
detectors), fusion is the documented fallback below and says `calibrated: false`:
- no detector gave a score -> `inconclusive` at 0.5;
- otherwise the probability is the highest detector score (one strong, localised finding is enough to look
  closer), `manipulated` (or `ai-generated` when that detector attributes it so) at >= 0.7, `authentic` at
  <= 0.3, else `inconclusive`. These cut-offs are fixed in advance, not tuned on any data.
"""

from __future__ import annotations

from .report.model import EvidenceEntry, Verdict

MANIPULATED_AT = 0.7
AUTHENTIC_AT = 0.3


def fuse(evidence: list[EvidenceEntry]) -> tuple[Verdict, list[str]]:
    scored = sorted((e for e in evidence if e.score is not None), key=lambda e: -(e.score or 0.0))
    if not scored:
        reasons = [e.summary for e in evidence if e.summary] or ["No detector could give an opinion."]
        return Verdict(label="inconclusive", probability=0.5, calibrated=False), reasons
    top = scored[0]
    p = float(top.score or 0.0)
    if p >= MANIPULATED_AT:
        ai = top.attribution.get("ai-generated", 0.0) >= 0.5
        label = "ai-generated" if ai else "manipulated"
    elif p <= AUTHENTIC_AT:
        label = "authentic"
    else:
        label = "inconclusive"
    reasons = [e.summary for e in scored if (e.score or 0.0) >= 0.5]
    reasons += [e.summary for e in evidence if e.score is None and e.summary]
    reasons += [e.summary for e in scored if (e.score or 0.0) < 0.5]
    return Verdict(label=label, probability=p, calibrated=all(e.calibrated for e in scored[:1])), reasons
