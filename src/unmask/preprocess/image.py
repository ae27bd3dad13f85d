"""Image steps several detectors need: luminance, JPEG re-compression, local activity. Each computed once."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..media import ImageMedia


def gray(media: ImageMedia) -> np.ndarray:
    """ITU-R BT.601 luma as float32 in [0, 255], the channel JPEG compresses hardest."""

    def compute() -> np.ndarray:
        rgb = media.rgb.astype(np.float32)
        return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114

    return media.shared("gray", compute)


def recompressed(media: ImageMedia, quality: int) -> np.ndarray:
    """The image re-encoded as baseline JPEG at `quality` with 4:4:4 chroma, decoded back to RGB uint8."""

    def compute() -> np.ndarray:
        buf = io.BytesIO()
        Image.fromarray(media.rgb).save(buf, format="JPEG", quality=quality, subsampling=0)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))

    return media.shared(f"jpeg_q{quality}", compute)


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window with edge replication, via an integral image (O(1) per pixel)."""
    k = 2 * radius + 1
    padded = np.pad(x.astype(np.float64), radius + 1, mode="edge")
    s = padded.cumsum(0).cumsum(1)
    total = s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]
    return (total / (k * k))[: x.shape[0], : x.shape[1]].astype(np.float32)


def local_activity(media: ImageMedia, radius: int = 4) -> np.ndarray:
    """Local mean absolute Laplacian of luma: how much texture each neighbourhood has."""

    def compute() -> np.ndarray:
        g = gray(media)
        p = np.pad(g, 1, mode="edge")
        lap = np.abs(4 * g - p[:-2, 1:-1] - p[2:, 1:-1] - p[1:-1, :-2] - p[1:-1, 2:])
        return box_mean(lap, radius)

    return media.shared(f"activity_r{radius}", compute)
