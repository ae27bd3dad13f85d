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



def box_square(aligned: AlignedFace, box: tuple[float, float, float, float], scale: float) -> tuple[int, int, int]:
    """(x0, y0, side) in crop pixels: the square around the face box's centre, `scale` times its longer
    side, in the aligned (upright) crop. Detector boxes frame a face more consistently than the template's
    margin does across face shapes and poses."""
    x0, y0, x1, y1 = box
    cx, cy = apply(aligned.transform, np.array([[(x0 + x1) / 2, (y0 + y1) / 2]]))[0]
    side = max(2, round(max(x1 - x0, y1 - y0) * aligned.scale * scale))
    return round(cx - side / 2), round(cy - side / 2), side


def cut_square(crop: np.ndarray, square: tuple[int, int, int], size: int) -> np.ndarray:
    """The square of the crop (an image or a float map), edge-padded where it leaves the crop, resized to
    size x size (area averaging when shrinking, so fine detail is averaged, not aliased)."""
    cv2 = import_cv2()
    x0, y0, side = square
    h, w = crop.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - w, y0 + side - h)
    padded = np.pad(crop, ((pad, pad), (pad, pad)) + ((0, 0),) * (crop.ndim - 2), mode="edge") if pad else crop
    inner = np.ascontiguousarray(padded[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side])
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return inner if side == size else cv2.resize(inner, (size, size), interpolation=interp)


def paste_square(square_map: np.ndarray, square: tuple[int, int, int], crop_size: int) -> np.ndarray:
    """The inverse of `cut_square` for a float map: placed on a crop_size crop, 0 elsewhere."""
    cv2 = import_cv2()
    x0, y0, side = square
    big = cv2.resize(np.ascontiguousarray(square_map, np.float32), (side, side), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((crop_size, crop_size), np.float32)
    ys, xs = slice(max(0, y0), min(crop_size, y0 + side)), slice(max(0, x0), min(crop_size, x0 + side))
    out[ys, xs] = big[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    return out
