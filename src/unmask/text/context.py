"""Claim context: who said it, their party and role, and their record of rated claims (the metadata of LIAR,
Wang ACL 2017), and for a social post the account that posted it (verified, followers, friends, posts, account
age: the user features of rumour detection since Castillo et al. WWW 2011), turned into features when a post
carries them and into words for the reasons. Engagement counts and the post's date are left out: they depend
on when a corpus was crawled.

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
AUTHOR_DIM = 7
DIM = len(RECORD) + 2 + AUTHOR_DIM + HASHED_DIM
_YEAR_S = 365.25 * 86400


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
    return [n for n in names if fields.get(n) not in (None, "", [], {})] + (["user"] if author(fields) else [])


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x >= 0 else None


def author(fields: Mapping[str, Any]) -> dict[str, float]:
    """The posting account's numbers from a `user` (or `author`) object, Weibo's or Twitter's key names:
    verified, followers, friends, posts, description, account age in years (when the post's time is known)."""
    user = fields.get("user", fields.get("author"))
    if not isinstance(user, Mapping):
        return {}
    keys = {"followers": ("followers", "followers_count"), "friends": ("friends", "friends_count"),
            "posts": ("messages", "statuses_count")}
    out = {}
    for name, options in keys.items():
        found = [x for k in options if (x := _number(user.get(k))) is not None]
        if found:
            out[name] = found[0]
    if isinstance(user.get("verified"), bool):
        out["verified"] = float(user["verified"])
    if isinstance(user.get("description"), bool | str):
        out["description"] = float(bool(user["description"]))
    created, posted = _number(user.get("time")), _number(fields.get("time"))
    if created is not None and posted is not None and posted >= created:
        out["age_years"] = (posted - created) / _YEAR_S
    return out


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
    who, at = author(fields), len(RECORD) + 2
    if who:
        x[at:at + AUTHOR_DIM] = [1.0, who.get("verified", 0.0), math.log1p(who.get("followers", 0.0)) / 10,
                                 math.log1p(who.get("friends", 0.0)) / 10, math.log1p(who.get("posts", 0.0)) / 10,
                                 who.get("description", 0.0), min(who.get("age_years", 0.0), 20.0) / 10]
    for name in CATEGORIES:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            x[at + AUTHOR_DIM + bucket(f"{name}={value.strip().lower()}", HASHED_DIM)] = 1.0
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
    who = author(fields)
    if who:
        kind = "a verified account" if who.get("verified") else "an unverified account"
        more = [f"{int(who['followers']):,} followers"] if "followers" in who else []
        if "age_years" in who:
            more.append(f"{who['age_years']:.1f} years old at the time")
        bits.append(f"posted by {kind}" + (f" ({', '.join(more)})" if more else ""))
    return ", ".join(bits)
