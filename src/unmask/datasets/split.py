"""Group-aware train/test splits that never put one source photo on both sides.

The split of an item depends only on its group and the seed (a hash, not a shuffle), so adding or removing
other items never moves it: the same config and protocol agree on which items were held out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace

from .manifest import Item


def group_of(item: Item) -> str:
    """The item's group, or its own key when it has none (then it is its own group)."""
    return item.group or item.key()


def _position(group: str, seed: int) -> float:
    """SHA-1 of seed and group, read as a number in [0, 1): where the group falls, whatever else is there."""
    digest = hashlib.sha1(f"{seed}\0{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def held_out(group: str, test_fraction: float, seed: int = 0) -> bool:
    """True when `group` falls in the test part."""
    return _position(group, seed) < test_fraction


def fold_of(group: str, folds: int, seed: int = 0) -> int:
    """The cross-validation fold (0 .. folds-1) of `group`: equal slices of the same hash position."""
    return min(folds - 1, int(_position(group, seed) * folds))


def group_split(items: Iterable[Item], test_fraction: float = 0.3, seed: int = 0, folds: int | None = None,
                fold: int | None = None) -> list[Item]:
    """Copies of `items` with `split` set to "test" or "train" by group: the held-out fraction (see
    `held_out`), or with `folds` and `fold` the groups of that cross-validation fold (see `fold_of`)."""
    if folds is not None or fold is not None:
        if folds is None or fold is None or folds < 2 or not 0 <= fold < folds:
            raise ValueError(f"cross-validation needs folds >= 2 and 0 <= fold < folds, got {folds=} {fold=}")
        return [replace(it, split="test" if fold_of(group_of(it), folds, seed) == fold else "train")
                for it in items]
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    return [replace(it, split="test" if held_out(group_of(it), test_fraction, seed) else "train")
            for it in items]
