"""Where training samples come from. One kind of source per module here, named by the config's `source:`
key; each module has `build(spec, ctx) -> Source`. A Source has a length (samples per epoch) and
`get(index, rng) -> Sample`; all randomness comes from `rng`, which the loader derives from (seed, epoch,
position), so a run is deterministic whatever the number of loader processes.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np


@dataclass
class Sample:
    """One training example: RGB uint8 (H, W, 3) (or RGB plus extra map channels, see sources.maps), label
    1 = fake, the tampered-pixel mask when known, and the encoded file it was decoded from when there is one
    (detectors that read JPEG tables need the file, not the pixels)."""

    image: np.ndarray
    label: int
    mask: np.ndarray | None = None
    data: bytes | None = None


class Source(Protocol):
    def __len__(self) -> int: ...

    def get(self, index: int, rng: np.random.Generator) -> Sample: ...


@dataclass
class Context:
    """What every source may need: the config's folder (relative paths hang from it), the run seed, and the
    run's output folder (for caches) when there is one."""

    folder: Path
    seed: int
    out: Path | None = None

    def path(self, value: Any) -> Path:
        """A path from the config: `~` expanded, relative ones under the config's folder."""
        path = Path(str(value)).expanduser()
        return path if path.is_absolute() else self.folder / path


def kinds() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build(spec: dict[str, Any], ctx: Context) -> Source:
    """The source a config entry describes; ValueError naming the known kinds for an unknown one."""
    kind = str(spec.get("source"))
    if kind not in kinds():
        raise ValueError(f"unknown data source {kind!r}; known: {', '.join(kinds())}")
    return importlib.import_module(f"{__name__}.{kind}").build(spec, ctx)
