"""A self-describing detector registry: built-in modules plus `unmask.detectors` entry-point plugins.

Listing imports each detector module, which must therefore be light (heavy imports go inside methods).
Unknown names get "did you mean" suggestions, matched case-insensitively.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import pkgutil
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points

from ..errors import UnknownDetector
from .base import Detector

# detector packages: one per modality, plus "face" for the face detectors (images and videos alike)
MODALITY_PACKAGES = ("image", "face", "video", "audio", "text", "post")
ENTRY_POINT_GROUP = "unmask.detectors"


def builtin_modules() -> list[str]:
    """Every public module under `unmask.detectors.<modality>`: adding a detector is adding a module."""
    names = []
    for modality in MODALITY_PACKAGES:
        spec = importlib.util.find_spec(f"{__package__}.{modality}")
        if spec is None or not spec.submodule_search_locations:
            continue
        for info in pkgutil.iter_modules(spec.submodule_search_locations):
            if not info.name.startswith("_"):
                names.append(f"{__package__}.{modality}.{info.name}")
    return sorted(names)


def _classes_in(module_name: str) -> Iterator[type[Detector]]:
    module = importlib.import_module(module_name)
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if issubclass(obj, Detector) and not inspect.isabstract(obj) and obj.__module__ == module.__name__:
            yield obj


class Registry:
    """Name -> detector class. Build one with `Registry.default()` or from your own classes."""

    def __init__(self, classes: Iterable[type[Detector]], load_errors: Iterable[str] = ()) -> None:
        self.load_errors = list(load_errors)
        self._by_name: dict[str, type[Detector]] = {}
        for cls in classes:
            if cls.name in self._by_name and self._by_name[cls.name] is not cls:
                raise ValueError(f"two detectors are named {cls.name!r}")
            self._by_name[cls.name] = cls

    @classmethod
    def default(cls, plugins: bool = True) -> Registry:
        """Built-in detectors plus plugins; a plugin that fails to import is recorded, not fatal."""
        classes = [c for m in builtin_modules() for c in _classes_in(m)]
        errors = []
        if plugins:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    loaded = ep.load()
                except Exception as exc:  # a broken third-party plugin must not break unmask
                    errors.append(f"plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}")
                    continue
                if isinstance(loaded, type) and issubclass(loaded, Detector):
                    classes.append(loaded)
                else:
                    errors.append(f"plugin {ep.name!r} ({ep.value}) is not a Detector subclass")
        return cls(classes, errors)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[type[Detector]]:
        return iter(self._by_name[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> type[Detector]:
        if name in self._by_name:
            return self._by_name[name]
        lowered = {n.lower(): n for n in self._by_name}
        if name.lower() in lowered:
            return self._by_name[lowered[name.lower()]]
        close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(lowered[c]) for c in close)}?" if close else ""
        raise UnknownDetector(f"no detector named {name!r}{hint} (see `unmask detectors`)")

    def for_media(self, kind: str, profile: str) -> list[type[Detector]]:
        """Detectors that accept this kind of media and belong to the profile, installed or not."""
        return [c for c in self if kind in c.modalities and c.runs_in(profile, kind)]

    def describe(self) -> list[dict[str, object]]:
        """One row per detector, as `unmask detectors` shows it."""
        return [
            {
                "name": c.name,
                "version": c.version,
                "modalities": list(c.modalities),
                "outputs": list(c.outputs),
                "extra": c.extra or "core",
                "installed": c.installed(),
                "profiles": list(c.profiles),
                **({"profiles_by_kind": {k: list(v) for k, v in c.profiles_by_kind.items()}}
                   if c.profiles_by_kind else {}),
                "description": c.description,
                "paper": c.paper,
            }
            for c in self
        ]
