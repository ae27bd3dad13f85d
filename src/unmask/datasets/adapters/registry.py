"""The adapter table: `Adapter` records and the `@adapter(...)` decorator the family modules register with.

Apart from the package so that the family modules (image, face, av, text, shared) import it, not the package
that loads them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from ..manifest import Manifest

AdapterFn = Callable[..., Manifest]


@dataclass(frozen=True)
class Adapter:
    """A registered layout: its name, modality, one-line summary and where the convention comes from."""

    name: str
    fn: AdapterFn
    modality: str
    summary: str
    source: str

    def options(self) -> list[str]:
        """Keyword options the adapter takes (besides the root)."""
        params = list(inspect.signature(self.fn).parameters.values())[1:]
        return [p.name for p in params if p.kind == p.KEYWORD_ONLY]


ADAPTERS: dict[str, Adapter] = {}


def adapter(name: str, modality: str, summary: str, source: str) -> Callable[[AdapterFn], AdapterFn]:
    """Register `fn` under `name` (lower case)."""

    def register(fn: AdapterFn) -> AdapterFn:
        ADAPTERS[name.lower()] = Adapter(name.lower(), fn, modality, summary, source)
        return fn

    return register
