"""Scoring a manifest for calibration: split its items into dev and held-out, score them with one detector.

Splits come from the manifest's `split` column; when no item has one, the items are split at random (seeded)
by `group` (the source id; an item without one is its own group), so no group straddles dev and held-out.
`unmask calibrate` (unmask.cli.calibrate) uses these, then `fit_calibration` (unmask.calibration.store).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

GroupedSplit = tuple[list[Any], list[Any], str]


def split_items(items: Sequence[Any], dev_split: str, eval_split: str, seed: int = 0,
                dev_fraction: float = 0.5) -> GroupedSplit:
    """(dev items, held-out items, how they were split): by the `split` column when any item has one, else
    a seeded random split of whole groups with about `dev_fraction` of the items in dev."""
    if any(it.split for it in items):
        dev = [it for it in items if it.split == dev_split]
        held = [it for it in items if it.split == eval_split]
        found = sorted({it.split for it in items if it.split})
        for name, chosen in ((dev_split, dev), (eval_split, held)):
            if not chosen:
                raise ValueError(f"no item has split {name!r}; the manifest's splits are {', '.join(found)}")
        return dev, held, f"manifest splits {dev_split!r} / {eval_split!r}"
    if not 0.0 < dev_fraction < 1.0:
        raise ValueError(f"dev fraction must be in (0, 1), got {dev_fraction}")
    groups: dict[str, list[Any]] = {}
    for it in items:
        groups.setdefault(it.group or f"\0{it.key()}", []).append(it)
    order = np.random.default_rng(seed).permutation(len(groups))
    keys = list(groups)
    dev, held, target = [], [], dev_fraction * len(items)
    for k in order:
        (dev if len(dev) < target else held).extend(groups[keys[k]])
    if not dev or not held:
        raise ValueError(f"{len(groups)} group(s) cannot be split into dev and held-out parts")
    return dev, held, f"random group split (seed {seed}, {len(groups)} groups, dev fraction {dev_fraction})"


def score_items(detector: Any, items: Sequence[Any], manifest: Any,
                on_item: Callable[[], Any] | None = None) -> tuple[list[tuple[str, float, int]], list[str]]:
    """([(item key, raw score, label)], problems) of `detector` on the items; items it cannot score are
    left out and named in the problems."""
    from ..errors import UnmaskError
    from ..media import load

    rows, problems = [], []
    for it in items:
        try:
            evidence = detector.analyze(load(manifest.resolve(it.path)))
        except UnmaskError as exc:
            problems.append(f"{it.key()}: {exc}")
            evidence = None
        except Exception as exc:  # a detector bug on one file must not lose the whole run
            problems.append(f"{it.key()}: {type(exc).__name__}: {exc}")
            evidence = None
        if evidence is not None and evidence.score is None:
            problems.append(f"{it.key()}: no score ({evidence.summary})")
        elif evidence is not None:
            rows.append((it.key(), float(evidence.score), it.y))
        if on_item:
            on_item()
    return rows, problems


def write_scores(path: Path, rows: list[tuple[str, str, float, int]]) -> None:
    """CSV of split, path, score, y: enough to refit another method without running the detector again."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["split", "path", "score", "y"])
        writer.writerows(rows)


def arrays(rows: list[tuple[str, float, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(scores, labels) of `score_items` rows as float64 and int64 arrays."""
    return np.array([r[1] for r in rows], dtype=np.float64), np.array([r[2] for r in rows], dtype=np.int64)
