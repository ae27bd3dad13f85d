"""Quality flags for detected faces: too small, too blurred, cut by the image border. Flags never drop a face.

Sharpness is the variance of the Laplacian (Pech-Pacheco et al., ICPR 2000), measured on the aligned crop's
inner face region after undoing any enlargement, so an upsampled small face is not mistaken for a blurred one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .align import AlignedFace, Alignment, import_cv2
from .detect import Face

# Box side (px) below which a face is "too_small": its 256-px crop (1.3x margin, ~1.9x the box side) would be
# enlarged more than ~2x, so three quarters of the crop's pixels are interpolated and the pixel-level traces
# face-forgery detectors rely on are mostly gone.
MIN_SIDE_PX = 64.0
# Laplacian variance (8-bit luma, 4-neighbour kernel, native resolution) below which a face is "blurry".
# Chosen on development data no test or report uses (200 real DFDC face crops, docs/faces.md): it flags 10% of
# the untouched crops (soft, compressed video faces), 72% after a Gaussian blur of sigma 2 and 96% at sigma 3.
MIN_SHARPNESS = 15.0


@dataclass(frozen=True)
class QualityThresholds:
    """Where the flags trip; see the module constants for why these defaults."""

    min_side_px: float = MIN_SIDE_PX
    min_sharpness: float = MIN_SHARPNESS


DEFAULT_THRESHOLDS = QualityThresholds()


@dataclass(frozen=True)
class FaceQuality:
    """Measured size and sharpness plus the flags they trip: 'too_small', 'blurry', 'at_border'."""

    side_px: float
    sharpness: float
    flags: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.flags


def inner_region(alignment: Alignment) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in crop pixels: the template's key points' box, widened by a quarter of its width on
    each side, i.e. the eyes-nose-mouth area without hair, ears or background."""
    t = alignment.template()
    (x0, y0), (x1, y1) = t.min(0), t.max(0)
    pad = 0.25 * (x1 - x0)
    lo = np.floor([x0 - pad, y0 - pad]).astype(int).clip(0, alignment.size)
    hi = np.ceil([x1 + pad, y1 + pad]).astype(int).clip(0, alignment.size)
    return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])


def sharpness(aligned: AlignedFace, alignment: Alignment) -> float:
    """Variance of the Laplacian of the inner face region's luma, at the face's native resolution."""
    cv2 = import_cv2()
    x0, y0, x1, y1 = inner_region(alignment)
    gray = cv2.cvtColor(aligned.crop[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    if aligned.scale > 1.0:  # undo the enlargement: measure at the pixels the image actually has
        w, h = max(3, round(gray.shape[1] / aligned.scale)), max(3, round(gray.shape[0] / aligned.scale))
        gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray, cv2.CV_64F, ksize=1).var())


def assess(face: Face, aligned: AlignedFace, alignment: Alignment, image_shape: tuple[int, ...],
           thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> FaceQuality:
    """Measure and flag one face; `image_shape` is the source image's (height, width, ...)."""
    side, sharp = face.side, sharpness(aligned, alignment)
    flags = []
    if side < thresholds.min_side_px:
        flags.append("too_small")
    if sharp < thresholds.min_sharpness:
        flags.append("blurry")
    h, w = image_shape[:2]
    x0, y0, x1, y1 = face.box
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        flags.append("at_border")
    return FaceQuality(side_px=float(side), sharpness=sharp, flags=tuple(flags))
