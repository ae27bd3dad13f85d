"""Face finding behind a small interface, with dlib's HOG detector, 68-point landmarks and ResNet descriptor.

The default `DlibFaceFinder` uses models that ship inside pip packages (dlib-bin, face-recognition-models), so it
works offline: the HOG + linear SVM frontal-face detector (Dalal & Triggs, CVPR 2005; dlib, King JMLR 2009),
the ensemble-of-regression-trees 68-point shape predictor (Kazemi & Sullivan, CVPR 2014, trained on iBUG 300-W)
and dlib's ResNet face descriptor (128-d, same person when the Euclidean distance is below 0.6).
"""

from __future__ import annotations

import importlib.util
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependency

# The 68-point iBUG 300-W scheme: where the five alignment key points come from.
RIGHT_EYE_68 = slice(36, 42)  # the subject's right eye, on the image's left
LEFT_EYE_68 = slice(42, 48)
NOSE_TIP_68 = 30
MOUTH_RIGHT_68, MOUTH_LEFT_68 = 48, 54

_MODELS = ("shape_predictor_68_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
_PARTS = ("detector", "predictor", "encoder")  # the fields of _DlibModels, loaded one by one on first need


@dataclass(eq=False)
class Face:
    """One detected face: box (x0, y0, x1, y1) in pixels, detector score, landmarks (68 or 5 points, x/y).

    `descriptor` is an identity embedding, filled on demand by `FaceFinder.describe` (it costs ~0.1 s).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray
    descriptor: np.ndarray | None = field(default=None, repr=False)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def side(self) -> float:
        """The box's shorter side in pixels: the face size the quality flags use."""
        return min(self.width, self.height)

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def keypoints(self) -> np.ndarray:
        """Five points (5, 2) in image order: left-eye centre, right-eye centre, nose tip, left and right mouth
        corners ("left" = smaller x). 68-point landmarks are reduced; 5-point landmarks are used as given."""
        pts = np.asarray(self.landmarks, dtype=np.float64)
        if len(pts) == 5:
            return pts
        if len(pts) != 68:
            raise ValueError(f"landmarks must have 5 or 68 points, not {len(pts)}")
        return np.stack([pts[RIGHT_EYE_68].mean(0), pts[LEFT_EYE_68].mean(0), pts[NOSE_TIP_68],
                         pts[MOUTH_RIGHT_68], pts[MOUTH_LEFT_68]])


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class FaceFinder(ABC):
    """Finds faces in an RGB uint8 image. Implement `find` (and `describe` for identity-based tracking).

    `key` names the finder and its settings for the per-media cache (empty: the class's qualified name). `descriptor_threshold` is the
    distance below which two descriptors are the same person (None when `describe` is not available).
    """

    key: str = ""
    descriptor_threshold: float | None = None

    @abstractmethod
    def find(self, rgb: np.ndarray) -> list[Face]:
        """All faces in the image (any order), each with box, score and 5 or 68 landmarks."""

    def describe(self, rgb: np.ndarray, face: Face) -> np.ndarray | None:
        """The face's identity descriptor (cached on `face.descriptor`); None when the finder has none."""
        return None

    def refit(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> Face | None:
        """The face inside `box` of this image, e.g. the same face one frame later: the found face that
        overlaps the box most (None if none does). Finders that can fit landmarks to a box do it directly."""
        best = max(self.find(rgb), key=lambda f: iou(f.box, box), default=None)
        return best if best is not None and iou(best.box, box) > 0 else None


@dataclass(eq=False)
class _DlibModels:
    """dlib objects, loaded on first use and shared by the finders `DlibFaceFinder.with_options` derives."""

    detector: Any = None
    predictor: Any = None
    encoder: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def import_dlib() -> Any:
    """dlib, or a MissingDependency naming the extra that installs it."""
    try:
        import dlib
    except ImportError as exc:
        raise MissingDependency("dlib-bin", "faces", "face detection") from exc
    return dlib


def model_dir() -> Path:
    """Folder of the face-recognition-models files, found without importing the package (its import needs
    pkg_resources, which recent setuptools no longer ships)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("face-recognition-models", "faces", "face landmarks")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [m for m in _MODELS if not (folder / m).is_file()]
    if missing:
        raise MissingDependency(f"face-recognition-models (missing {', '.join(missing)})", "faces",
                                "face landmarks")
    return folder


class DlibFaceFinder(FaceFinder):
    """dlib HOG detector + 68-point landmarks + 128-d ResNet descriptor, models loaded once per instance.

    `upsample`: image doublings before detection. HOG's window is 80 px, so 0 finds faces of about 70 px and
    up (astronaut 512x512: 0.03 s), 1 finds faces down to about 40 px at 4x the time. `min_score` is the
    SVM margin a detection must reach (dlib's own operating point is 0).
    """

    descriptor_threshold = 0.6

    def __init__(self, upsample: int = 0, min_score: float = 0.0, *, _models: _DlibModels | None = None) -> None:
        if upsample < 0:
            raise ValueError("upsample must be >= 0")
        self.upsample = int(upsample)
        self.min_score = float(min_score)
        self.key = f"dlib-hog68-up{self.upsample}-s{self.min_score:g}"
        self._models = _models or _DlibModels()

    def with_options(self, **options: Any) -> DlibFaceFinder:
        """A finder with other settings that shares this one's loaded models."""
        merged = {"upsample": self.upsample, "min_score": self.min_score, **options}
        return DlibFaceFinder(**merged, _models=self._models)

    def _load(self, parts: tuple[str, ...] = _PARTS) -> _DlibModels:
        """The shared models with `parts` loaded (default: all). Each loads on first need: the HOG detector
        for `find`, the 100 MB landmark predictor once a face is found or refitted, the descriptor network for
        `describe`; so a photo without faces reads only the detector (about 0.25 s instead of 0.8 s)."""
        m = self._models
        if any(getattr(m, part) is None for part in parts):
            with m.lock:
                dlib, folder = import_dlib(), model_dir()
                for part in parts:
                    if getattr(m, part) is None:
                        setattr(m, part, _make(dlib, folder, part))
        return m

    def find(self, rgb: np.ndarray) -> list[Face]:
        image = _dlib_image(rgb)
        rects, scores, _ = self._load(("detector",)).detector.run(image, self.upsample, self.min_score)
        m = self._load(("predictor",)) if len(rects) else self._models
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            shape = m.predictor(image, rect)
            pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
            box = (float(rect.left()), float(rect.top()), float(rect.right() + 1), float(rect.bottom() + 1))
            faces.append(Face(box=box, score=float(score), landmarks=pts))
        return faces

    def refit(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> Face:
        """68 landmarks fitted inside `box` without running the detector (about 2 ms)."""
        m, dlib = self._load(("predictor",)), import_dlib()
        x0, y0, x1, y1 = (round(v) for v in box)
        shape = m.predictor(_dlib_image(rgb), dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
        pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
        return Face(box=tuple(float(v) for v in box), score=0.0, landmarks=pts)

    def describe(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        if face.descriptor is None:
            if len(face.landmarks) != 68:
                raise ValueError("the dlib descriptor needs the face's 68 landmarks")
            m, dlib = self._load(("encoder",)), import_dlib()
            x0, y0, x1, y1 = (round(v) for v in face.box)
            rect = dlib.rectangle(x0, y0, x1 - 1, y1 - 1)
            shape = dlib.full_object_detection(rect, [dlib.point(round(x), round(y)) for x, y in face.landmarks])
            face.descriptor = np.asarray(m.encoder.compute_face_descriptor(_dlib_image(rgb), shape), np.float32)
        return face.descriptor


def _make(dlib: Any, folder: Path, part: str) -> Any:
    """One dlib model: the HOG face detector, the 68-point landmark predictor or the descriptor network."""
    if part == "detector":
        return dlib.get_frontal_face_detector()
    if part == "predictor":
        return dlib.shape_predictor(str(folder / _MODELS[0]))
    if part == "encoder":
        return dlib.face_recognition_model_v1(str(folder / _MODELS[1]))
    raise ValueError(f"unknown dlib model {part!r}")


def _dlib_image(rgb: np.ndarray) -> np.ndarray:
    """dlib wants a C-contiguous HxWx3 uint8 array."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {rgb.shape}")
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def default_finder() -> DlibFaceFinder:
    """A new default finder (HOG, no upsampling); each of its models loads on first need (see `_load`). There
    is no process-wide instance: a caller that analyses many files (a detector, a scan worker) keeps one
    finder and passes it, so the models load once per holder (about 0.9 s for all three)."""
    return DlibFaceFinder()
