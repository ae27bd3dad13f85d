"""Adapters: functions that turn a dataset's standard on-disk layout into a `Manifest`, registered by name.

Each adapter is `fn(root: Path, **options: str) -> Manifest`; options arrive as strings (the CLI's
`--opt KEY=VALUE`). `convert(name, root, **options)` looks the adapter up (case-insensitively, with a
"did you mean" for typos) and rejects options it does not take. One module per family registers its adapters
with `@adapter(...)`: `shared` (the project's ../shared/data folders and any path,label table), `image`,
`face` (video deepfakes), `av` (audio and audio-visual) and `text` (news, claims, image-text pairs).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from ..manifest import Manifest, ManifestError
from .registry import ADAPTERS, Adapter, AdapterFn, adapter

__all__ = ["ADAPTERS", "Adapter", "AdapterFn", "adapter", "available", "convert", "get"]


def get(name: str) -> Adapter:
    """The adapter called `name`; a ManifestError suggesting close names when there is none."""
    _load()
    key = name.strip().lower().replace("-", "_")
    if key in ADAPTERS:
        return ADAPTERS[key]
    close = difflib.get_close_matches(key, list(ADAPTERS), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ManifestError(f"no dataset layout called {name!r}{hint} (see `unmask data convert --list`)")


def convert(name: str, root: str | Path, **options: str) -> Manifest:
    """Run the adapter `name` on `root` (a folder or, for some layouts, a metadata file)."""
    found = get(name)
    unknown = sorted(set(options) - set(found.options()))
    if unknown:
        valid = ", ".join(found.options()) or "none"
        raise ManifestError(f"layout {found.name!r} takes no option {', '.join(unknown)} (options: {valid})")
    root = Path(root)
    if not root.exists():
        raise ManifestError(f"{root}: no such file or folder")
    return found.fn(root, **options)


def available() -> list[Adapter]:
    """Every registered adapter, sorted by name."""
    _load()
    return [ADAPTERS[k] for k in sorted(ADAPTERS)]


def _load() -> None:
    from . import av, face, image, shared, text  # noqa: F401  (modules register on import)
