"""Face alignment in the DeepfakeBench convention: a similarity transform from five key points to a template.

DeepfakeBench (Yan et al., NeurIPS 2023 Datasets & Benchmarks) aligns every face by a least-squares similarity
transform (Umeyama, TPAMI 1991) from the eye centres, nose tip and mouth corners to the ArcFace 112x112
five-point template, enlarged by a 1.3x margin and scaled to 256x256. The same numbers are used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MissingDependency

# ArcFace's five-point template in a 112x112 crop: left eye, right eye, nose tip, left and right mouth corner
# (x, y in pixels; "left" = the image's left). Deng et al., CVPR 2019 (insightface).
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]])
DEFAULT_SIZE = 256
DEFAULT_MARGIN = 1.3


@dataclass(frozen=True)
class Alignment:
    """Output `size` (square, px) and `margin` (1.3 = the template face fills 1/1.3 of the crop's side)."""

    size: int = DEFAULT_SIZE
    margin: float = DEFAULT_MARGIN

    def __post_init__(self) -> None:
        if self.size < 8 or self.margin < 1.0:
            raise ValueError("alignment needs size >= 8 px and margin >= 1.0")

    def template(self) -> np.ndarray:
        """The five target points in crop pixels: the 112 template normalised, padded by the margin, scaled."""
        unit = ARCFACE_112 / 112.0
        return (unit + (self.margin - 1.0) / 2.0) / self.margin * self.size


DEFAULT_ALIGNMENT = Alignment()


@dataclass(eq=False)
class AlignedFace:
    """The crop (size x size x 3 uint8), `transform` (2x3, image -> crop) and `inverse` (crop -> image)."""

    crop: np.ndarray
    transform: np.ndarray
    inverse: np.ndarray

    @property
    def scale(self) -> float:
        """Crop pixels per image pixel (> 1: the face was enlarged)."""
        return float(np.sqrt(abs(np.linalg.det(self.transform[:, :2]))))


def import_cv2() -> Any:
    """OpenCV, or a MissingDependency naming the extra that installs it."""
    try:
        import cv2
    except ImportError as exc:
        raise MissingDependency("opencv-python-headless", "faces", "face alignment") from exc
    return cv2


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation; no reflection) mapping
    `src` (N, 2) onto `dst` (N, 2), as a 2x3 matrix (Umeyama 1991, eq. 40-42)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    var_s = (xs**2).sum() / len(src)
    if var_s <= 1e-12:
        raise ValueError("key points are degenerate (all at one place)")
    u, s, vt = np.linalg.svd(xd.T @ xs / len(src))
    d = np.array([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rot = u @ np.diag(d) @ vt
    scale = float((s * d).sum() / var_s)
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


def invert(transform: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine transform, as 2x3."""
    full = np.vstack([transform, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 2x3 affine transform."""
    pts = np.asarray(points, np.float64)
    return pts @ transform[:, :2].T + transform[:, 2]


def align(rgb: np.ndarray, keypoints: np.ndarray, alignment: Alignment = DEFAULT_ALIGNMENT) -> AlignedFace:
    """Warp the face whose five key points are given onto the template (bilinear; outside the image is
    black, as in DeepfakeBench)."""
    cv2 = import_cv2()
    transform = umeyama(keypoints, alignment.template())
    crop = cv2.warpAffine(np.ascontiguousarray(rgb), transform, (alignment.size, alignment.size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return AlignedFace(crop=crop, transform=transform, inverse=invert(transform))


def to_image(crop_map: np.ndarray, aligned: AlignedFace, shape: tuple[int, int]) -> np.ndarray:
    """Map a per-pixel map computed on the crop (e.g. a heatmap) back onto the image (height, width).

    Image pixels outside the crop get 0; the map keeps its dtype (float maps are interpolated bilinearly).
    """
    cv2 = import_cv2()
    h, w = shape
    flags = cv2.INTER_NEAREST if crop_map.dtype == bool else cv2.INTER_LINEAR
    src = crop_map.astype(np.uint8) if crop_map.dtype == bool else np.ascontiguousarray(crop_map)
    out = cv2.warpAffine(src, aligned.inverse, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out.astype(bool) if crop_map.dtype == bool else out
