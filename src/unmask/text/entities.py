"""Named entities found by form (capitalised word runs that do not open a sentence, and numbers), and the
entity-swap probe of entity reliance after ENDEF (Zhu et al. SIGIR 2022): a detector that leans on names
changes its score when the names change although the claim's form does not.

By form only, so English and other cased scripts; Chinese text has no entities here."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_NAME = re.compile(r"(?<![\w.])(?:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?|[A-Z]{2,6})"
                   r"(?:\s+(?:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?|[A-Z]{2,6}|of|the|de|van|von)){0,4}"
                   r"(?<!\bof)(?<!\bthe)(?<!\bde)")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*(?:\s?(?:percent|%|million|billion|trillion))?")
_JOINERS = re.compile(r"(?:\s+(?:of|the|de|van|von)\b)*\s*")
_OPENER = re.compile(r"(?:^|[.!?:;\"“]\s*)$")


def entities(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of names ("name") and numbers ("number"). A capitalised word that opens a sentence
    is a name only as the first of a run of capitalised words ("Barack Obama", not "Says" or "Says the")."""
    out = []
    for m in _NAME.finditer(text):
        start, name = m.start(), m.group()
        first = name.split()[0]
        if _OPENER.search(text[:start]) and not first.isupper():
            rest = _JOINERS.match(name, len(first))
            if rest.end() == len(name) or rest.group().strip():  # alone, or joined by "the"/"of": not a name
                start, name = start + rest.end(), name[rest.end():]
        if name:
            out.append((start, m.end(), "name"))
    out += [(m.start(), m.end(), "number") for m in _NUMBER.finditer(text)]
    return sorted(out)


def pool(texts: Sequence[str]) -> dict[str, list[str]]:
    """Every entity string of `texts` by kind: what swaps draw from."""
    found: dict[str, list[str]] = {"name": [], "number": []}
    for t in texts:
        for s, e, kind in entities(t):
            found[kind].append(t[s:e])
    return {k: sorted(set(v)) for k, v in found.items()}


def swap(text: str, choices: dict[str, list[str]], rng: np.random.Generator) -> tuple[str, int]:
    """The text with each entity replaced by another of its kind, and how many were replaced."""
    parts, last, n = [], 0, 0
    for s, e, kind in entities(text):
        options = [c for c in choices.get(kind, []) if c != text[s:e]]
        if not options or s < last:
            continue
        parts += [text[last:s], options[rng.integers(len(options))]]
        last, n = e, n + 1
    return "".join(parts) + text[last:], n


def masked(text: str) -> str:
    """The text with only its entities kept (what the entity-only model of ENDEF reads)."""
    return " ".join(text[s:e] for s, e, _ in entities(text))
