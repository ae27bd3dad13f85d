"""Aligned face crops from a manifest of face images, some of the real ones turned into self-blended fakes.

The crops are what the face detectors see at test time: the largest face unmask.faces finds in each image,
aligned by its landmarks (DeepfakeBench convention, `size` px, `margin`); an image where no face is found is
resized whole, and counted in `no_face`. With chance `self_blend`, a real face becomes a self-blended fake
(Shiohara & Yamasaki, CVPR 2022; unmask.faces.blend) whose mask is its blending boundary (Face X-ray, Li et
al. CVPR 2020: 4·M·(1 - M) > `boundary_min`); other reals get an empty mask, and fakes of the manifest no
mask at all (unknown), so they train only the image label.

Config keys: `faces:` a manifest spec (as the manifest source takes: adapter/root, group_split, split,
labels ...), `size` (128), `margin` (1.3), `self_blend` (0.0), `boundary_min` (0.25), `jpeg_p` and
`jpeg_quality` for a JPEG re-save of self-blended and real faces alike, `cache:` a JSON file that keeps the
landmarks found per file (by SHA-256) between runs. Landmarks are found once, when the source is built.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ...faces.align import Alignment, align, apply
from ...faces.blend import boundary, self_blend
from . import Context, Sample
from .manifest import read_items, read_rgb


class FaceCrops:
    def __init__(self, items: list[tuple[Path, int]], landmarks: list[np.ndarray | None],
                 spec: dict[str, Any]) -> None:
        self.items, self.landmarks = items, landmarks
        self.alignment = Alignment(int(spec.get("size", 128)), float(spec.get("margin", 1.3)))
        self.self_blend = float(spec.get("self_blend", 0.0))
        self.boundary_min = float(spec.get("boundary_min", 0.25))
        self.jpeg_p, self.quality = float(spec.get("jpeg_p", 0.0)), tuple(spec.get("jpeg_quality", (60, 95)))
        self.no_face = sum(lm is None for lm in landmarks)

    def __len__(self) -> int:
        return len(self.items)

    def crop(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(aligned crop, landmarks in crop pixels or None)."""
        rgb, landmarks = read_rgb(self.items[index][0]), self.landmarks[index]
        if landmarks is None:
            side = self.alignment.size
            return np.asarray(Image.fromarray(rgb).resize((side, side), Image.BILINEAR)), None
        from ...faces.detect import Face

        aligned = align(rgb, Face((0, 0, 1, 1), 0.0, landmarks).keypoints(), self.alignment)
        return aligned.crop, apply(aligned.transform, landmarks)

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        from ..data import jpeg

        face, landmarks = self.crop(index)
        label = self.items[index][1]
        mask: np.ndarray | None = None if label else np.zeros(face.shape[:2], bool)
        if not label and rng.random() < self.self_blend:
            face, soft = self_blend(face, landmarks, rng)
            mask, label = boundary(soft / max(float(soft.max()), 1e-6)) > self.boundary_min, 1
        if rng.random() < self.jpeg_p:
            face = jpeg(face, int(rng.integers(self.quality[0], self.quality[1] + 1)))
        return Sample(face, label, mask)


def find_landmarks(paths: list[Path], cache: Path | None) -> list[np.ndarray | None]:
    """The largest face's landmarks in each file (None where no face is found), kept in `cache` by SHA-256."""
    from ...faces.detect import DlibFaceFinder

    known: dict[str, Any] = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    finder, out, added = DlibFaceFinder(), [], False
    for path in paths:
        key = hashlib.sha256(path.read_bytes()).hexdigest()
        if key not in known:
            found = finder.find(read_rgb(path))
            best = max(found, key=lambda f: f.area, default=None)
            known[key], added = (None if best is None else np.asarray(best.landmarks).round(2).tolist()), True
        out.append(None if known[key] is None else np.asarray(known[key], np.float64))
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
    return FaceCrops(pairs, find_landmarks([p for p, _ in pairs], cache), spec)
