"""Perceptual hashes of a picture that survive re-encoding, resizing and light cropping: pHash and dHash.

- pHash (Zauner 2010, "Implementation and benchmarking of perceptual image hash functions"; the variant of
  the `imagehash` library): the grey image at 32x32, its 2-D DCT-II, the 8x8 lowest frequencies, one bit each
  for "above their median". It follows the picture's coarse layout of light and dark, which JPEG and resizing
  keep.
- dHash (Krawetz 2013, "Kind of like that"): the grey image at 9x8, one bit for each horizontal neighbour pair
  "right brighter than left". It follows gradients, so it fails differently from pHash.

Two pictures match when both hashes are close (`is_match`): each hash alone lets some unrelated pictures with
the same coarse layout through, and requiring both keeps the false matches down (docs/benchmarks/posts.md
measures both thresholds on re-encoded, resized and cropped copies against different pictures).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

BITS = 64
# Thresholds in differing bits out of 64, fixed from the development measurement in docs/benchmarks/posts.md
# (re-encoded, resized and cropped copies of the test pictures of scikit-image vs every other picture there).
PHASH_MAX = 12
DHASH_MAX = 14
PLAIN_BELOW = 3.0
_WORK_SIDE = 256  # the picture is first reduced to about this size (box filter), then resampled
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class ImageHashes:
    """A picture's pHash and dHash as unsigned 64-bit integers (bit 63 = the first bit)."""

    phash: int
    dhash: int
    spread: float = 255.0  # standard deviation of the 32x32 grey picture, in grey levels

    @property
    def plain(self) -> bool:
        """Too even to hash (a flat or nearly flat picture): its bits are noise and match other flat ones."""
        return self.spread < PLAIN_BELOW

    def distance(self, other: ImageHashes) -> tuple[int, int]:
        """(pHash, dHash) Hamming distances in bits."""
        return hamming(self.phash, other.phash), hamming(self.dhash, other.dhash)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def is_match(phash_distance: int, dhash_distance: int) -> bool:
    """Near-duplicate: both hashes within their thresholds."""
    return phash_distance <= PHASH_MAX and dhash_distance <= DHASH_MAX


def hamming_many(values: np.ndarray, query: int) -> np.ndarray:
    """Hamming distances from `query` to each uint64 in `values` (vectorised, any numpy >= 1.26)."""
    xor = np.bitwise_xor(values.astype(np.uint64), np.uint64(query))
    return _POPCOUNT[xor.view(np.uint8).reshape(-1, 8)].sum(axis=1, dtype=np.int64)


def image_hashes(rgb: np.ndarray) -> ImageHashes:
    """pHash and dHash of an RGB (or grey) uint8 picture."""
    from PIL import Image

    grey = _grey(rgb)
    small = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    return ImageHashes(phash=_phash(small), dhash=_dhash(grey), spread=float(small.std()))


def mirrored(rgb: np.ndarray) -> np.ndarray:
    """The picture flipped left to right (re-posted copies are sometimes mirrored)."""
    return np.ascontiguousarray(rgb[:, ::-1])


def _grey(rgb: np.ndarray):
    from PIL import Image

    arr = np.asarray(rgb)
    im = Image.fromarray(arr if arr.ndim == 2 else np.ascontiguousarray(arr[..., :3])).convert("L")
    factor = max(1, min(im.size) // _WORK_SIDE)
    return im.reduce(factor) if factor > 1 else im


def _phash(small: np.ndarray) -> int:
    d = _dct_matrix(32)
    low = (d @ small @ d.T)[:8, :8]
    return _pack(low > np.median(low))


def _dhash(grey) -> int:
    from PIL import Image

    small = np.asarray(grey.resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int16)
    return _pack(small[:, 1:] > small[:, :-1])


@cache
def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix (row k = frequency k)."""
    k, i = np.arange(n)[:, None], np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def _pack(bits: np.ndarray) -> int:
    value = 0
    for b in bits.ravel():
        value = (value << 1) | int(bool(b))
    return value
