"""The typed media containers' common part: identity (path, hash, kind, format) and a per-media cache."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class Media:
    """Base for every modality. `shared()` memoises preprocessing so detectors compute it once per media."""

    path: Path | None
    sha256: str
    size_bytes: int
    format: str
    warnings: list[str] = field(default_factory=list, kw_only=True)
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    kind = "unknown"

    @property
    def name(self) -> str:
        return self.path.name if self.path else f"<{self.sha256[:12]}>"

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """Return the cached value for `key`, computing it once. Keys name the preprocessing step."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = compute()
        with self._lock:
            return self._cache.setdefault(key, value)

    def info(self) -> dict[str, Any]:
        """The report's `media` section: identity plus modality-specific size fields."""
        return {
            "path": str(self.path) if self.path else None,
            "sha256": self.sha256,
            "kind": self.kind,
            "format": self.format,
            "size_bytes": self.size_bytes,
        }

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = {}
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
