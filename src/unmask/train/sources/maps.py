"""Any source's samples with forensic maps added as channels (unmask.detectors.maps), cached on disk.

Config keys: `of:` the inner source spec (it must yield the encoded file, `Sample.data`: manifest and synth
do), `detectors:` the map names in channel order, `cache:` a folder for the computed samples (default: `maps-cache`
in the run's output folder). Sample i is made with an rng drawn from (seed, i) only, never the epoch, so the same
sample (and its cached maps) comes back every epoch: map computation costs once per sample, not per epoch.
Augmentations that re-encode (JPEG, resize) must then be off: they would invalidate the maps.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from . import Context, Sample, Source
from . import build as build_source


class MapsSource:
    def __init__(self, inner: Source, maker: Any, cache: Path, seed: int, tag: str) -> None:
        self.inner, self.maker, self.seed = inner, maker, seed
        self.cache = cache / tag
        self.cache.mkdir(parents=True, exist_ok=True)

    def __len__(self) -> int:
        return len(self.inner)

    def _make(self, index: int) -> Sample:
        from ...media import load

        sample = self.inner.get(index, np.random.default_rng([self.seed, 0x3A9, index]))
        if sample.data is None:
            raise ValueError("a maps source needs an inner source that keeps the encoded file (manifest, synth)")
        maps = self.maker(load(sample.data))
        return Sample(np.concatenate([sample.image, maps], axis=2), sample.label, sample.mask)

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        path = self.cache / f"{index:06d}.npz"
        if path.is_file():
            with np.load(path) as z:
                return Sample(z["image"], int(z["label"]), z["mask"] if z["has_mask"] else None)
        sample = self._make(index)
        tmp = path.with_name(path.stem + ".tmp.npz")
        has_mask = sample.mask is not None
        np.savez_compressed(tmp, image=sample.image, label=sample.label, has_mask=has_mask,
                            mask=sample.mask if has_mask else np.zeros(1, bool))
        tmp.replace(path)
        return sample


def build(spec: dict[str, Any], ctx: Context) -> MapsSource:
    inner_spec, names = spec.get("of"), spec.get("detectors")
    if not isinstance(inner_spec, dict) or not names:
        raise ValueError("a maps source needs 'of:' (a source spec) and 'detectors:' (map names)")
    from ...detectors.maps import MapMaker

    maker = MapMaker(list(names))
    tag = hashlib.sha256(json.dumps([inner_spec, maker.versions, ctx.seed], sort_keys=True,
                                    default=str).encode()).hexdigest()[:16]
    if "cache" in spec:
        cache = Path(str(spec["cache"]))
        cache = cache if cache.is_absolute() else ctx.folder / cache
    elif ctx.out is not None:
        cache = ctx.out / "maps-cache"
    else:
        raise ValueError("a maps source needs 'cache:' when it is not built by a training run")
    return MapsSource(build_source(inner_spec, ctx), maker, cache, ctx.seed, tag)
