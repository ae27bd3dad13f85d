"""Face preprocessing shared by every face detector: find, align (DeepfakeBench convention), assess quality.

`faces(media)` is computed once per media (memoised with `media.shared`); every face is kept, largest first,
and faces that are too small, blurred or cut by the border carry flags instead of being dropped.
See docs/faces.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..media import ImageMedia
from .align import DEFAULT_ALIGNMENT, AlignedFace, Alignment, align, to_image
from .detect import DlibFaceFinder, Face, FaceFinder, default_finder
from .quality import DEFAULT_THRESHOLDS, FaceQuality, QualityThresholds, assess

__all__ = ["AlignedFace", "Alignment", "DlibFaceFinder", "Face", "FaceFinder", "FaceQuality", "FaceResult",
           "QualityThresholds", "analyze_faces", "default_finder", "faces", "settings_key"]


@dataclass(eq=False)
class FaceResult:
    """A face with its aligned crop, the transforms between image and crop, and its quality.

    `index` is the face's rank by box area (0 = largest) within its image, stable for a given input.
    """

    index: int
    face: Face
    aligned: AlignedFace
    quality: FaceQuality

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.face.box

    @property
    def crop(self) -> np.ndarray:
        return self.aligned.crop

    @property
    def transform(self) -> np.ndarray:
        """2x3 affine, image pixels -> crop pixels."""
        return self.aligned.transform

    @property
    def inverse(self) -> np.ndarray:
        """2x3 affine, crop pixels -> image pixels."""
        return self.aligned.inverse

    @property
    def flags(self) -> tuple[str, ...]:
        return self.quality.flags

    def map_to_image(self, crop_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """A map computed on the crop (heatmap, mask), placed on an image of `shape` (height, width)."""
        return to_image(crop_map, self.aligned, shape)


def analyze_faces(rgb: np.ndarray, finder: FaceFinder, alignment: Alignment = DEFAULT_ALIGNMENT,
                  thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> list[FaceResult]:
    """Find, align and assess every face in one RGB image; sorted by box area, largest first (ties: top-left
    first), none dropped."""
    found = sorted(finder.find(rgb), key=lambda f: (-f.area, f.box[1], f.box[0]))
    results = []
    for i, face in enumerate(found):
        aligned = align(rgb, face.keypoints(), alignment)
        results.append(FaceResult(i, face, aligned, assess(face, aligned, alignment, rgb.shape, thresholds)))
    return results


def faces(media: ImageMedia, finder: FaceFinder | None = None, alignment: Alignment = DEFAULT_ALIGNMENT,
          thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> list[FaceResult]:
    """Every face in an image, computed once per media and settings however many detectors ask. Pass the
    `finder` you hold; without one a new default finder is made (its models load again)."""
    finder = finder or default_finder()
    key = f"faces:{settings_key(finder, alignment, thresholds)}"
    return media.shared(key, lambda: analyze_faces(media.rgb, finder, alignment, thresholds))


def settings_key(finder: FaceFinder, alignment: Alignment, thresholds: QualityThresholds) -> str:
    """Everything that changes face results, as a cache-key fragment."""
    name = finder.key or f"{type(finder).__module__}.{type(finder).__qualname__}"
    return f"{name}:{alignment.size}:{alignment.margin:g}:{thresholds.min_side_px:g}:{thresholds.min_sharpness:g}"
