"""Claim context: who said it, their party and role, and their record of rated claims (the metadata of LIAR,
Wang ACL 2017), turned into features when a post carries them and into words for the reasons.

A record must not include the claim being judged: LIAR's own credit-history counts do (every statement's
own label is in its speaker's counts), which is why the benchmarks rebuild records from training labels.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .hashing import bucket

RECORD = ("barely-true", "false", "half-true", "mostly-true", "pants-fire")
CATEGORIES = ("speaker", "party", "state", "job", "context")
HASHED_DIM = 1024
DIM = len(RECORD) + 2 + HASHED_DIM


def record_of(value: Any) -> list[float] | None:
    """A record as five counts in RECORD order, from a list, a "[...]" string or a mapping by label name;
    None when absent or malformed (a record is evidence only when it parses)."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip()) if value.strip() else None
        except (ValueError, SyntaxError):
            return None
    if isinstance(value, Mapping):
        value = [value.get(k, value.get(k.replace("-", "_"), 0)) for k in RECORD]
    if not isinstance(value, list | tuple) or len(value) != len(RECORD):
        return None
    try:
        counts = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return counts if all(math.isfinite(c) and c >= 0 for c in counts) else None


def present(fields: Mapping[str, Any]) -> list[str]:
    """The context fields a post carries (non-empty), in a fixed order."""
    names = [*CATEGORIES, "credit_history"]
    return [n for n in names if fields.get(n) not in (None, "", [], {})]


def features(fields: Mapping[str, Any]) -> np.ndarray:
    """The context vector: the record's shares and log size, a has-record flag, and hashed categories
    (lower-cased); all zeros for a text with no context."""
    x = np.zeros(DIM, np.float32)
    counts = record_of(fields.get("credit_history"))
    if counts is not None and sum(counts) > 0:
        total = sum(counts)
        x[: len(RECORD)] = [c / total for c in counts]
        x[len(RECORD)] = math.log1p(total) / 5.0
        x[len(RECORD) + 1] = 1.0
    for name in CATEGORIES:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            x[len(RECORD) + 2 + bucket(f"{name}={value.strip().lower()}", HASHED_DIM)] = 1.0
    return x


def describe(fields: Mapping[str, Any]) -> str:
    """The context in words for a reason, e.g. "speaker barack-obama (democrat), 473 rated claims, 33% false
    or pants-fire"."""
    bits = []
    if fields.get("speaker"):
        party = f" ({fields['party']})" if fields.get("party") else ""
        bits.append(f"speaker {fields['speaker']}{party}")
    counts = record_of(fields.get("credit_history"))
    if counts is not None and sum(counts) > 0:
        false = (counts[1] + counts[4]) / sum(counts)
        bits.append(f"{int(sum(counts))} earlier rated claims, {false:.0%} false or pants-fire")
    return ", ".join(bits)
