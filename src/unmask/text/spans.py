"""Word spans over the text as given: markup and control characters are blanked (same length, so offsets
stay valid), URLs and @mentions become one placeholder word each, Han characters are one word each (Chinese
has no spaces; bigrams of them come from the feature hasher)."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 200_000  # a detector reads at most this much of a document (the start), and says so

_TAG = re.compile(r"<(?:[A-Za-z/!?][^<>]{0,2000})>")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]{2,10});")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(
    rf"(?P<url>(?:https?://|www\.)\S+)|(?P<user>@\w+)|(?P<han>[{_HAN}])|"
    rf"(?P<word>[^\W_{_HAN}]+(?:['’][^\W_{_HAN}]+)*)"
)


@dataclass(frozen=True)
class Word:
    """A word of the text: its characters [start, end) and the form the models see."""

    start: int
    end: int
    form: str


def visible(text: str) -> str:
    """The text with HTML tags, character entities and control characters replaced by spaces of the same
    length, so a span found here is a span of the original."""
    for pattern in (_TAG, _ENTITY, _CONTROL):
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def words(text: str, limit: int = MAX_CHARS) -> list[Word]:
    """The words of the first `limit` characters, lower-cased; a URL is `_url_`, a mention `_user_`."""
    out = []
    for m in _WORD.finditer(visible(text[:limit])):
        kind = m.lastgroup
        form = {"url": "_url_", "user": "_user_"}.get(kind or "", m.group().lower())
        out.append(Word(m.start(), m.end(), form))
    return out


def language(text: str) -> str:
    """"zh" when Han characters are at least a third of the letters, "latin" when Latin letters are at least
    half, else "other" (the choice of sentence encoder; an empty text is "latin")."""
    sample = text[:5000]
    letters = sum(ch.isalpha() for ch in sample)
    if not letters:
        return "latin"
    han = len(re.findall(f"[{_HAN}]", sample))
    if han * 3 >= letters:
        return "zh"
    latin = len(re.findall(r"[A-Za-z\u00c0-\u024f]", sample))
    return "latin" if latin * 2 >= letters else "other"


def readable(text: str, limit: int = MAX_CHARS) -> str:
    """The visible text of the first `limit` characters with runs of white space collapsed: what a sentence
    encoder reads."""
    return " ".join(visible(text[:limit]).split())
