"""Synthetic manipulations of authentic photos, made fresh for every epoch (unmask.datasets.synth).

Config keys: `photos:` a manifest spec (as the `manifest` source takes; only its real images are used),
`n:` samples per epoch, `fake_fraction:` (default 0.5), `kinds:` (default: all of synth.KINDS), `size:`
the side of the square host crop (default 320). Hosts are cropped at their native resolution, or after a
downscale for large photos, never upscaled. Every sample, edited or not, gets the same final JPEG
distribution (synth.postprocess), so compression alone never gives the label away.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from ...datasets import synth
from ...datasets.manifest import Item, Manifest
from . import Context, Sample
from .manifest import read_items, read_rgb


def host_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of at most size x size; photos much larger than `size` are first downscaled to a short
    side of 1.1-2x `size` (Lanczos), which also erases most of their camera JPEG traces."""
    h, w = image.shape[:2]
    scale = min(1.0, size * rng.uniform(1.1, 2.0) / min(h, w))
    if scale < 1.0:
        im = Image.fromarray(image).resize((max(size, round(w * scale)), max(size, round(h * scale))),
                                           Image.LANCZOS)
        image = np.asarray(im)
        h, w = image.shape[:2]
    ch, cw = min(size, h), min(size, w)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return np.ascontiguousarray(image[y:y + ch, x:x + cw])


class SynthSource:
    def __init__(self, items: list[Item], manifest: Manifest, n: int, fake_fraction: float,
                 kinds: list[str], size: int) -> None:
        unknown = set(kinds) - set(synth.KINDS)
        if unknown:
            raise ValueError(f"unknown synthetic kind(s) {', '.join(sorted(unknown))}; known: {synth.KINDS}")
        self.paths = [manifest.resolve(it.path) for it in items]
        self.n, self.fake_fraction, self.kinds, self.size = n, fake_fraction, kinds, size

    def __len__(self) -> int:
        return self.n

    def _photo(self, rng: np.random.Generator) -> np.ndarray:
        return host_crop(read_rgb(self.paths[int(rng.integers(len(self.paths)))]), self.size, rng)

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        host = self._photo(rng)
        host, _ = synth._pre_jpeg(host, rng)
        mask = np.zeros(host.shape[:2], bool)
        fake = rng.random() < self.fake_fraction
        if fake:
            kind = self.kinds[int(rng.integers(len(self.kinds)))]
            donor = self._photo(rng) if kind == "splice" else None
            edit = synth.make_edit(host, donor, kind, rng)
            host, mask = edit.image, edit.mask
        data, post = synth.postprocess(host, rng)
        image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        if mask.shape != image.shape[:2]:
            mask = np.asarray(Image.fromarray(mask).resize(tuple(post["size"]), Image.NEAREST))
        return Sample(image, int(fake), mask, data)


def build(spec: dict[str, Any], ctx: Context) -> SynthSource:
    photos = dict(spec.get("photos") or {})
    if not photos:
        raise ValueError("a synth source needs 'photos:' (a manifest spec of authentic photos)")
    items, manifest = read_items({**photos, "labels": ["real"]}, ctx)
    return SynthSource(items, manifest, int(spec.get("n", 1000)), float(spec.get("fake_fraction", 0.5)),
                       list(spec.get("kinds", synth.KINDS)), int(spec.get("size", 320)))
