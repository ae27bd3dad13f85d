"""What the text detectors share: the text and context of a text or post, the per-word highlights, and the
sentence that goes with a score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...errors import NotApplicable
from ...media import PostMedia
from ...text import context
from ...text.spans import MAX_CHARS, Word, words
from .. import wording
from ..evidence import TokenModel

TOP_WORDS = 8


def float_arrays(name: str) -> dict[str, np.ndarray]:
    """A shipped text model's arrays as float32 (some are stored as float16 to keep the package small)."""
    from ...learned.store import load_arrays

    return {k: v.astype(np.float32) for k, v in load_arrays(name).items()}


def claim_of(media: Any) -> tuple[str, list[Word], dict[str, Any]]:
    """The text, its words and its context fields (a post's JSON fields; none for a plain text);
    NotApplicable when there is no word to judge (empty, symbols or emoji only)."""
    text = media.text
    ws = words(text)
    if not ws:
        raise NotApplicable("the text has no words to judge (it is empty, or only symbols or emoji)")
    fields = dict(media.fields) if isinstance(media, PostMedia) else {}
    return text, ws, fields


def highlights(text: str, ws: Sequence[Word], push: np.ndarray, top: int = TOP_WORDS) -> list[TokenModel]:
    """The words that pushed the score up most (`push` per word, log-odds), each scored by its share of all
    upward push, in text order."""
    up = np.clip(np.asarray(push, np.float64), 0.0, None)
    if up.sum() <= 0:
        return []
    best = sorted(np.argsort(-up)[:top].tolist())
    return [TokenModel(start=ws[i].start, end=ws[i].end, text=text[ws[i].start:ws[i].end],
                       score=float(up[i] / up.sum())) for i in best if up[i] > 0]


def sentence(score: float, tokens: Sequence[TokenModel], fields: Mapping[str, Any], judged: str) -> str:
    """The finding in words: the band of the score, the strongest words, and the context it used."""
    quoted = ", ".join(f"“{t.text}”" for t in sorted(tokens, key=lambda t: -t.score)[:3])
    words_part = f" (words that weigh most: {quoted})" if quoted else ""
    said = context.describe(fields)
    ctx = f" It also weighed the claim's context: {said}." if said else ""
    return wording.say(
        score,
        clear=f"The {judged} reads like the false claims and rumours this model learned from{words_part}.{ctx}",
        unclear=f"The {judged} has some traits of false claims and rumours{words_part}, not enough to "
                f"say.{ctx}",
        none=f"The {judged} does not read like the false claims and rumours this model learned from.{ctx}",
    ) + " It judges wording and context, not whether the facts are true."


def read_note(text: str) -> dict[str, Any]:
    """Details on how much of the text was read."""
    return {"chars": len(text), "chars_read": min(len(text), MAX_CHARS), "truncated": len(text) > MAX_CHARS}
