"""Short display names for a list of files: the file name, or the shortest path suffix that tells it apart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

BYTES_NAME = "<bytes>"


def display_names(paths: Sequence[str | None]) -> list[str]:
    """One name per path, in order: the file name where it is unique among `paths`, else the shortest suffix
    of the path that no other path shares (`a/x.jpg`, `b/x.jpg`). The same path given twice keeps one name;
    None (media given as bytes) is `<bytes>`."""
    full = [p.replace("\\", "/") if p else None for p in paths]
    parts = [[s for s in p.split("/") if s not in ("", ".")] if p else [] for p in full]
    depth = [1] * len(full)

    def name(i: int) -> str:
        if full[i] is None:
            return BYTES_NAME
        if depth[i] >= len(parts[i]):
            return full[i]
        return "/".join(parts[i][-depth[i]:])

    while True:
        groups: dict[str, list[int]] = defaultdict(list)
        for i in range(len(full)):
            groups[name(i)].append(i)
        grew = False
        for members in groups.values():
            if len({full[i] for i in members}) < 2:  # unique, or the same path repeated
                continue
            for i in members:
                if full[i] is not None and depth[i] < len(parts[i]):
                    depth[i] += 1
                    grew = True
        if not grew:
            return [name(i) for i in range(len(full))]
