"""Face crops from a manifest of face images, some of the real ones turned into self-blended fakes.

The crops are what the face detectors feed their network at test time: the largest face unmask.faces finds
in each image, aligned upright by its landmarks (DeepfakeBench convention, 256 px, 1.3x), then the square of
`box_scale` times the detector's face box cut from it and resized to `size` px (unmask.faces.align.
box_square / cut_square); an image where no face is found is resized whole, and counted in `no_face`. With
chance `self_blend`, a real face becomes a self-blended fake (Shiohara & Yamasaki, CVPR 2022;
unmask.faces.blend, on the aligned crop before the cut) whose mask is its blending boundary (Face X-ray, Li
et al. CVPR 2020: 4·M·(1 - M) > `boundary_min`); other reals get an empty mask, and fakes of the manifest no
mask at all (unknown), so they train only the image label.

Config keys: `faces:` a manifest spec (as the manifest source takes: adapter/root, group_split, split,
labels, limit ...), `size` (128), `box_scale` (1.1), `box_jitter` ([lo, hi]: each sample's box_scale times
a factor drawn from it, so the network does not learn one framing; off by default), `self_blend` (0.0),
`boundary_min` (0.25), `jpeg_p` and `jpeg_quality` for a JPEG re-save of self-blended and real faces alike,
`cache:` a JSON file that keeps the face found per file (by SHA-256) between runs. Faces are found once, when
the source is built.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ...faces.align import align, apply, box_square, cut_square
from ...faces.blend import boundary, self_blend
from ...faces.detect import Face
from . import Context, Sample
from .manifest import read_items, read_rgb


class FaceCrops:
    def __init__(self, items: list[tuple[Path, int]], faces: list[Face | None], spec: dict[str, Any]) -> None:
        self.items, self.faces = items, faces
        self.size, self.box_scale = int(spec.get("size", 128)), float(spec.get("box_scale", 1.1))
        self.box_jitter = tuple(spec["box_jitter"]) if spec.get("box_jitter") else None
        self.self_blend = float(spec.get("self_blend", 0.0))
        self.boundary_min = float(spec.get("boundary_min", 0.25))
        self.jpeg_p, self.quality = float(spec.get("jpeg_p", 0.0)), tuple(spec.get("jpeg_quality", (60, 95)))
        self.no_face = sum(f is None for f in faces)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        rgb, face, label = read_rgb(self.items[index][0]), self.faces[index], self.items[index][1]
        if face is None:
            image = np.asarray(Image.fromarray(rgb).resize((self.size, self.size), Image.BILINEAR))
            return self._finish(image, label, None if label else np.zeros(image.shape[:2], bool), rng)
        aligned = align(rgb, face.keypoints())
        scale = self.box_scale * (rng.uniform(*self.box_jitter) if self.box_jitter else 1.0)
        square = box_square(aligned, face.box, scale)
        crop, mask = aligned.crop, None if label else np.zeros((self.size, self.size), bool)
        if not label and rng.random() < self.self_blend:
            crop, soft = self_blend(crop, apply(aligned.transform, face.landmarks), rng)
            edge = boundary(cut_square(soft / max(float(soft.max()), 1e-6), square, self.size))
            mask, label = edge > self.boundary_min, 1
        return self._finish(cut_square(crop, square, self.size), label, mask, rng)

    def _finish(self, image: np.ndarray, label: int, mask: np.ndarray | None, rng: np.random.Generator) -> Sample:
        from ..data import jpeg

        if rng.random() < self.jpeg_p:
            image = jpeg(image, int(rng.integers(self.quality[0], self.quality[1] + 1)))
        return Sample(image, label, mask)


def find_faces(paths: list[Path], cache: Path | None) -> list[Face | None]:
    """The largest face (box and 68 landmarks) in each file, None where none is found; kept in `cache` by
    the file's SHA-256."""
    from ...faces.detect import DlibFaceFinder

    known: dict[str, Any] = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    finder, out, added = DlibFaceFinder(), [], False
    for path in paths:
        key = hashlib.sha256(path.read_bytes()).hexdigest()
        if key not in known:
            best = max(finder.find(read_rgb(path)), key=lambda f: f.area, default=None)
            known[key] = None if best is None else {"box": list(best.box),
                                                    "landmarks": np.asarray(best.landmarks).round(2).tolist()}
            added = True
        entry = known[key]
        out.append(None if entry is None else Face(tuple(entry["box"]), 0.0,
                                                   np.asarray(entry["landmarks"], np.float32)))
    if cache and added:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(known))
        tmp.replace(cache)
    return out


def build(spec: dict[str, Any], ctx: Context) -> FaceCrops:
    faces = spec.get("faces")
    if not isinstance(faces, dict) or not faces:
        raise ValueError("a faces source needs 'faces:' (a manifest spec of face images)")
    items, manifest = read_items(faces, ctx)
    pairs = [(manifest.resolve(it.path), int(it.label == "fake")) for it in items]
    cache = ctx.path(spec["cache"]) if spec.get("cache") else None
    return FaceCrops(pairs, find_faces([p for p, _ in pairs], cache), spec)
