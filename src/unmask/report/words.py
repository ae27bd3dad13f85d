"""The verdict in words: one function that every front end (terminal, JSON, HTML report, web page) uses.

The report carries the words it was given (`verdict.headline`, `verdict.explanation`), so the web page shows
exactly what the terminal and the HTML report show; `describe(None)` words a file that was not analysed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LABELS = ("authentic", "inconclusive", "manipulated", "ai-generated", "no-opinion")

_WORDS = {
    "authentic": ("Looks authentic",
                  "None of the detectors that ran found signs of editing or AI generation. That is not proof: a "
                  "careful edit, AI-generated content (a picture or a cloned voice), or a file re-saved many times "
                  "can escape them."),
    "inconclusive": ("Inconclusive",
                     "The evidence is weak or mixed. Read the reasons below, and look at any highlighted areas, "
                     "before deciding."),
    "manipulated": ("Likely manipulated",
                    "The detectors together found strong signs that part of this content was edited."),
    "ai-generated": ("Likely AI-generated", "The evidence indicates this content was made by an AI generator."),
    "no-opinion": ("No opinion",
                   "None of the detectors that ran can judge this kind of file, so unmask says nothing either way "
                   "about it."),
}
# A text is not edited or generated in the detectors' sense: they judge whether it reads like a false claim
_TEXT_WORDS = {
    "authentic": ("No sign of a false claim",
                  "The text does not read like the false claims and rumours the detectors learned from. That is "
                  "not a fact check: a false claim in plain, careful wording can pass."),
    "manipulated": ("Likely false or misleading",
                    "The wording and context resemble false claims and rumours. The detectors judge how it is "
                    "written, not the facts: check them with a trusted source."),
}
NOT_ANALYSED = ("Not analysed", "unmask could not analyse this file; see why below.")
NO_OPINION_REASON = "No detector could give an opinion on this file, so unmask cannot judge it."


def describe(label: str | None, kind: str | None = None) -> tuple[str, str]:
    """(headline, one sentence on what it means) for a verdict label; None = the file was not analysed.
    A text (`kind` "text") has its own words for `authentic` and `manipulated`."""
    if label is None:
        return NOT_ANALYSED
    if kind == "text" and label in _TEXT_WORDS:
        return _TEXT_WORDS[label]
    try:
        return _WORDS[label]
    except KeyError:
        raise ValueError(f"unknown verdict label {label!r}; known: {', '.join(LABELS)}") from None


def probability_note(calibrated: bool) -> str:
    """How to read the verdict's probability."""
    if calibrated:
        return "calibrated probability"
    return "uncalibrated score: read it as a ranking, not a chance"


def describe_operating_point(verdict: Mapping[str, Any]) -> str:
    """The operating point of a verdict (as JSON) in words, "" when it has none."""
    t = verdict.get("thresholds")
    if not t:
        return ""
    how = f"fitted model {verdict['model']}" if verdict.get("model") else "fallback rule, no fitted model"
    authentic = f"authentic at {t['authentic']:.1%} or less" if t["authentic"] > 0 else "never authentic"
    chosen = f"; {t['chosen']}" if t.get("chosen") else ""
    return f"Called manipulated at {t['manipulated']:.1%} or more, {authentic} ({how}{chosen})."


def verdict_words(verdict: Mapping[str, Any] | None) -> dict[str, str]:
    """Everything a front end writes about a verdict (as JSON; None = not analysed): headline, explanation,
    how to read the probability, and the operating point."""
    if verdict is None:
        headline, explanation = describe(None)
        return {"headline": headline, "explanation": explanation, "probability_note": "", "operating_point": ""}
    headline, explanation = describe(verdict["label"])
    scored = verdict.get("probability") is not None
    return {"headline": verdict.get("headline") or headline, "explanation": verdict.get("explanation") or explanation,
            "probability_note": probability_note(bool(verdict.get("calibrated"))) if scored else "",
            "operating_point": describe_operating_point(verdict) if scored else ""}
