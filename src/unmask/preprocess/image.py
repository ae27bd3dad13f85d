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


def abs_laplacian(media: ImageMedia) -> np.ndarray:
    """|4-neighbour Laplacian| of luma: a cheap measure of local texture and edges."""

    def compute() -> np.ndarray:
        g = gray(media)
        p = np.pad(g, 1, mode="edge")
        return np.abs(4 * g - p[:-2, 1:-1] - p[2:, 1:-1] - p[1:-1, :-2] - p[1:-1, 2:])

    return media.shared("abs_laplacian", compute)


def block_means(x: np.ndarray, block: int = 8) -> np.ndarray:
    """Mean of each `block` x `block` tile (edge tiles padded by replication): the JPEG grid's resolution."""
    h, w = x.shape
    ph, pw = -h % block, -w % block
    if ph or pw:
        x = np.pad(x, ((0, ph), (0, pw)), mode="edge")
    hb, wb = x.shape[0] // block, x.shape[1] // block
    return x.reshape(hb, block, wb, block).mean(axis=(1, 3), dtype=np.float32)


def upsample(grid: np.ndarray, height: int, width: int, block: int = 8) -> np.ndarray:
    """Bilinear upsampling of a per-block map back to pixels, cropped to the image size."""
    im = Image.fromarray(grid.astype(np.float32), mode="F")
    full = im.resize((grid.shape[1] * block, grid.shape[0] * block), Image.Resampling.BILINEAR)
    return np.asarray(full)[:height, :width]
