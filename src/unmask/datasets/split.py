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


def held_out(group: str, test_fraction: float, seed: int = 0) -> bool:
    """True when `group` falls in the test part: SHA-1 of seed and group, read as a number in [0, 1)."""
    digest = hashlib.sha1(f"{seed}\0{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < test_fraction


def group_split(items: Iterable[Item], test_fraction: float = 0.3, seed: int = 0) -> list[Item]:
    """Copies of `items` with `split` set to "test" or "train" by group (see `held_out`)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    return [replace(it, split="test" if held_out(group_of(it), test_fraction, seed) else "train")
            for it in items]
