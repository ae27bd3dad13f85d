"""Synthetic manipulations of real claims with exact changed spans, for measuring word grounding the way DGM4
(Shao et al. CVPR 2023) measures it for captions: swap a name for another, change a number, or flip a
negation; the changed characters of the new text are the ground truth."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .entities import entities

KINDS = ("name", "number", "negation")
_AUX = re.compile(r"\b(is|are|was|were|has|have|had|will|would|can|could|does|did|should)\b(?! not\b)")
_NOT = re.compile(r"\b(?:is|are|was|were|has|have|had|will|would|can|could|does|did|should)( not)\b")


def _number(value: str, rng: np.random.Generator) -> str:
    """Another number of the same form: the digits scaled by 0.3-3x (never equal), separators kept simple."""
    digits = re.match(r"\d[\d,.]*", value)
    if digits is None:
        return value
    raw = digits.group().rstrip(".,")
    try:
        x = float(raw.replace(",", ""))
    except ValueError:
        return value
    for _ in range(10):
        y = x * rng.choice([0.3, 0.5, 2.0, 3.0]) if x else float(rng.integers(2, 90))
        new = f"{y:,.0f}" if "." not in raw else f"{y:,.1f}"
        if new != raw:
            return new + value[len(raw):]
    return value


def edit(text: str, kind: str, names: Sequence[str], rng: np.random.Generator
         ) -> tuple[str, list[tuple[int, int]]] | None:
    """The edited text and its changed spans, or None when the claim offers nothing of that kind."""
    if kind == "negation":
        m = _NOT.search(text)
        if m:  # remove a "not": the word before it carries the change
            return text[:m.start(1)] + text[m.end(1):], [(m.start(), m.start(1))]
        m = _AUX.search(text)
        if m is None:
            return None
        return text[:m.end()] + " not" + text[m.end():], [(m.end() + 1, m.end() + 4)]
    found = [(s, e) for s, e, k in entities(text) if k == kind]
    if not found:
        return None
    s, e = found[rng.integers(len(found))]
    if kind == "name":
        options = [n for n in names if n != text[s:e]]
        if not options:
            return None
        new = options[rng.integers(len(options))]
        return text[:s] + new + text[e:], [(s, s + len(new))]
    new = _number(text[s:e], rng)
    if new == text[s:e]:
        return None
    digits = len(re.match(r"[\d,.]*", new).group().rstrip(".,"))  # the changed figure, not its unit
    return text[:s] + new + text[e:], [(s, s + digits)]
