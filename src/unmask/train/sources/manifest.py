"""Labelled files from a manifest (or a dataset folder through an adapter), with their masks.

Config keys: `manifest: PATH` or `adapter: NAME` + `root: PATH`; optional `group_split: {test_fraction,
seed}` with `split: train|test` to take one side of a group split (unmask.datasets.split), and
`inner_split: {test_fraction, seed, split}` to split that side again by group (e.g. a validation part of the
training groups); `labels: [real]` to keep some labels only; `limit: N` for a fixed label-blind subset (as
the bench runner takes it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ...datasets.manifest import Item, Manifest
from . import Context, Sample


def _path(value: Any, ctx: Context) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else ctx.folder / path


def read_items(spec: dict[str, Any], ctx: Context) -> tuple[list[Item], Manifest]:
    """The items a manifest-like spec selects, and the manifest they resolve against."""
    from ...bench.protocol import select
    from ...datasets import convert
    from ...datasets.split import group_split

    if "manifest" in spec:
        manifest = Manifest.read(_path(spec["manifest"], ctx))
    elif "adapter" in spec:
        manifest = convert(str(spec["adapter"]), _path(spec.get("root", "."), ctx))
    else:
        raise ValueError("a manifest source needs 'manifest: PATH' or 'adapter: NAME' with 'root: PATH'")
    items = manifest.items
    if "group_split" in spec:
        items = group_split(items, **spec["group_split"])
    if "split" in spec:
        items = [it for it in items if it.split == spec["split"]]
    if "inner_split" in spec:
        inner = dict(spec["inner_split"])
        side = inner.pop("split", "train")
        items = [it for it in group_split(items, **inner) if it.split == side]
    if "labels" in spec:
        items = [it for it in items if it.label in spec["labels"]]
    items = [it for it in items if it.path]
    items = select(items, spec.get("limit"))
    if not items:
        raise ValueError(f"the data source {spec} selects no items")
    return items, manifest


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A binary mask (white = tampered) at `shape`, nearest-neighbour resized when its size differs."""
    with Image.open(path) as im:
        im = im.convert("L")
        if im.size != (shape[1], shape[0]):
            im = im.resize((shape[1], shape[0]), Image.NEAREST)
        return np.asarray(im) > 127


class ManifestSource:
    def __init__(self, items: list[Item], manifest: Manifest) -> None:
        self.items, self.manifest = items, manifest

    def __len__(self) -> int:
        return len(self.items)

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        item = self.items[index]
        path = self.manifest.resolve(item.path)
        image = read_rgb(path)
        mask = None
        if item.label == "fake" and item.mask:
            mask = read_mask(self.manifest.resolve(item.mask), image.shape[:2])
        elif item.label == "real":
            mask = np.zeros(image.shape[:2], bool)
        return Sample(image, item.y, mask, path.read_bytes())


def build(spec: dict[str, Any], ctx: Context) -> ManifestSource:
    return ManifestSource(*read_items(spec, ctx))
