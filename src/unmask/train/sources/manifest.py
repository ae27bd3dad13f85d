"""Labelled files from a manifest (or a dataset folder through an adapter), with their masks.

Config keys: `manifest: PATH` or `adapter: NAME` + `root: PATH`; optional `group_split: {test_fraction,
seed}` with `split: train|test` to take one side of a group split (unmask.datasets.split), and
`inner_split: {test_fraction, seed, split}` to split that side again by group (e.g. a validation part of the
training groups); `labels: [real]` to keep some labels only; `limit: N` for a fixed label-blind subset (as
the bench runner takes it); `reencode: {p, quality: [lo, hi]}` to re-save a file as JPEG at a random quality
with chance p before anything reads it (the file, not only its pixels, changes), which takes away a shortcut
carried by the original files' JPEG settings, as in CASIA v1.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ...datasets.manifest import Item, Manifest
from . import Context, Sample


def read_items(spec: dict[str, Any], ctx: Context) -> tuple[list[Item], Manifest]:
    """The items a manifest-like spec selects, and the manifest they resolve against."""
    from ...bench.protocol import select
    from ...datasets import convert
    from ...datasets.split import group_split

    if "manifest" in spec:
        manifest = Manifest.read(ctx.path(spec["manifest"]))
    elif "adapter" in spec:
        manifest = convert(str(spec["adapter"]), ctx.path(spec.get("root", ".")))
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


def read_rgb(path: Any) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A binary mask (white = tampered) at `shape`, nearest-neighbour resized when its size differs."""
    with Image.open(path) as im:
        im = im.convert("L")
        if im.size != (shape[1], shape[0]):
            im = im.resize((shape[1], shape[0]), Image.NEAREST)
        return np.asarray(im) > 127


def reencoded(data: bytes, quality: int) -> tuple[bytes, np.ndarray]:
    """The file re-saved as a JPEG at `quality` (4:2:0, Pillow's libjpeg), and its pixels."""
    with Image.open(io.BytesIO(data)) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=int(quality))
    return buf.getvalue(), read_rgb(io.BytesIO(buf.getvalue()))


class ManifestSource:
    def __init__(self, items: list[Item], manifest: Manifest, reencode: dict[str, Any] | None = None) -> None:
        self.items, self.manifest, self.reencode = items, manifest, dict(reencode or {})

    def __len__(self) -> int:
        return len(self.items)

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        item = self.items[index]
        path = self.manifest.resolve(item.path)
        data = path.read_bytes()
        image = read_rgb(io.BytesIO(data))  # decoded from the bytes read once
        if self.reencode and rng.random() < float(self.reencode.get("p", 1.0)):
            lo, hi = self.reencode.get("quality", (60, 95))
            data, image = reencoded(data, int(rng.integers(lo, hi + 1)))
        mask = None
        if item.label == "fake" and item.mask:
            mask = read_mask(self.manifest.resolve(item.mask), image.shape[:2])
        elif item.label == "real":
            mask = np.zeros(image.shape[:2], bool)
        return Sample(image, item.y, mask, data)


def build(spec: dict[str, Any], ctx: Context) -> ManifestSource:
    return ManifestSource(*read_items(spec, ctx), spec.get("reencode"))
