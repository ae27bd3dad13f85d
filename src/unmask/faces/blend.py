"""Self-blended face images: fakes made from real faces alone, for face-forgery training.

Shiohara & Yamasaki, CVPR 2022 ("Detecting Deepfakes with Self-Blended Images"): a face blended with a
slightly altered copy of itself (colour, sharpness, a small shift and scale) inside a soft mask built from
its landmarks shows the generic traces of face swapping (blending boundary, colour and frequency mismatch)
without any one generator's fingerprint, so a detector trained on them generalises across methods. The
blending mask is also what the Face X-ray idea (Li et al., CVPR 2020) learns to find.

`boundary(mask)` is the Face X-ray target: 4·M·(1 - M), largest where the blend is half-and-half.
Used by the `faces` training source (unmask.train.sources.faces).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def hull_mask(landmarks: np.ndarray | None, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A float mask in [0, 1]: the convex hull of the landmarks (or a centred ellipse), randomly dilated or
    eroded, then Gaussian-blurred so the blend has a soft boundary."""
    import cv2

    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    if landmarks is not None and len(landmarks) >= 3:
        cv2.fillConvexPoly(mask, cv2.convexHull(np.round(landmarks).astype(np.int32)), 255)
    else:
        cv2.ellipse(mask, (w // 2, int(h * 0.55)), (int(w * 0.3), int(h * 0.38)), 0, 0, 360, 255, -1)
    k = int(rng.integers(3, 15)) | 1
    op = cv2.dilate if rng.random() < 0.5 else cv2.erode
    mask = op(mask, np.ones((k, k), np.uint8))
    sigma = float(rng.uniform(2.0, 8.0))
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), sigma)


def altered(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The source copy: colour and brightness jitter, sharpen or blur, and a small shift and scale."""
    im = Image.fromarray(face)
    x = np.asarray(im, np.float32)
    x = x * rng.uniform(0.9, 1.1, size=3) + rng.uniform(-12, 12, size=3)
    im = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)) if rng.random() < 0.5
                   else ImageFilter.UnsharpMask(radius=2, percent=int(rng.integers(50, 150))))
    w, h = im.size
    s = rng.uniform(0.95, 1.05)
    dx, dy = rng.uniform(-0.03, 0.03, size=2) * (w, h)
    im = im.transform((w, h), Image.AFFINE, (1 / s, 0, -dx, 0, 1 / s, -dy), Image.BILINEAR)
    return np.asarray(im)


def self_blend(face: np.ndarray, landmarks: np.ndarray | None,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(blended face, soft mask): the altered copy pasted over the face through the hull mask, scaled by a
    random blend ratio; pixels where the mask is 0 are the original's."""
    mask = hull_mask(landmarks, face.shape[:2], rng) * rng.choice([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])
    source = altered(face, rng).astype(np.float32)
    out = source * mask[..., None] + face.astype(np.float32) * (1 - mask[..., None])
    return np.clip(np.round(out), 0, 255).astype(np.uint8), mask


def boundary(mask: np.ndarray) -> np.ndarray:
    """The blending boundary of a soft mask (Li et al. CVPR 2020): 4·M·(1 - M), 1 where M = 0.5, 0 where the
    image is purely one source."""
    return 4.0 * mask * (1.0 - mask)
