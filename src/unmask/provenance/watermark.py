"""The DWT-DCT ("dwtDct") invisible watermark of the `invisible-watermark` package, as Stable Diffusion's
reference scripts, SDXL and FLUX.1 embed it by default, re-implemented for decoding (and, for tests, encoding).

The algorithm, as the reference package (ShieldMnt/invisible-watermark 0.2.0) runs it:
1. convert the image (taken as BGR) to YUV with OpenCV and keep the U plane, cropped to whole 4x4 pixels;
2. one-level Haar DWT (PyWavelets' float64 arithmetic); only the approximation band (LL) carries the mark;
3. cut LL into 4x4 blocks in row-major order; block number i carries message bit i mod L;
4. in each block take the coefficient of largest magnitude other than the first (despite the method's name
   the reference applies no DCT to the block) and quantise its magnitude: bit b is written as
   (floor(|v|/36) + 0.25 + 0.5 b) * 36, and read back as 1 when |v| mod 36 > 18;
5. a message bit is the majority of its blocks' votes (mean * 255 > 127, as the reference computes it).

Which numbers the encoder saw matters: SD 1.x/2.x scripts passed 8-bit BGR (U offset 128); SDXL and FLUX
pass float32 RGB flipped to BGR (U offset 0.5, so the quantisation grid and the choice of coefficient
differ from a decoder that reads 8-bit pixels), and early diffusers SDXL passed float RGB unflipped. Each
such convention is a separate hypothesis; the false-alarm estimate is corrected for testing all of them.

Decoding is bit-exact with the reference decoder: the same OpenCV colour conversion, and the LL band
computed with PyWavelets' exact floating-point operations (checked against the package on golden files
in the tests). The encoder (PyWavelets for the inverse DWT) rounds where the reference truncates and keeps
the detail bands in place (the reference swaps the horizontal and vertical detail bands on
reconstruction); neither changes the bits a decoder reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCALE = 36.0
BLOCK = 4
MIN_PIXELS = 256 * 256  # the reference refuses smaller images


@dataclass(frozen=True)
class KnownMark:
    """A generator's published watermark message and the pixel conventions its encoder used."""

    key: str
    generator: str
    source: str
    bits: tuple[int, ...]
    conventions: tuple[str, ...]


def bytes_bits(message: bytes) -> tuple[int, ...]:
    """Message bits as the reference's 'bytes' mode makes them (MSB first)."""
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(message, dtype=np.uint8)))


def int_bits(value: int) -> tuple[int, ...]:
    """Message bits as `[int(b) for b in bin(value)[2:]]`: leading zeros are dropped, as the scripts do."""
    return tuple(int(b) for b in bin(value)[2:])


# Conventions: "u8-bgr" = 8-bit BGR input; "f32-bgr" = float RGB flipped to BGR; "f32-rgb" = float RGB as is.
KNOWN_MARKS: tuple[KnownMark, ...] = (
    KnownMark("sd1", "Stable Diffusion 1.x", "CompVis/stable-diffusion scripts/txt2img.py, wm='StableDiffusionV1'",
              bytes_bits(b"StableDiffusionV1"), ("u8-bgr",)),
    KnownMark("sd1-inpainting", "Stable Diffusion 1.x inpainting",
              "runwayml/stable-diffusion inpainting scripts, wm='StableDiffusionV1-Inpainting'",
              bytes_bits(b"StableDiffusionV1-Inpainting"), ("u8-bgr",)),
    KnownMark("sd2", "Stable Diffusion 2.x", "Stability-AI/stablediffusion scripts/txt2img.py, wm='SDV2'",
              bytes_bits(b"SDV2"), ("u8-bgr",)),
    KnownMark("sdxl", "Stable Diffusion XL",
              "Stability-AI/generative-models and diffusers StableDiffusionXLWatermarker, WATERMARK_MESSAGE",
              int_bits(0b101100111110110010010000011110111011000110011110), ("f32-bgr", "f32-rgb", "u8-bgr")),
    KnownMark("flux1", "FLUX.1 (Black Forest Labs reference code)",
              "black-forest-labs/flux src/flux/util.py WATERMARK_MESSAGE (46 bits after bin() drops zeros)",
              int_bits(0b001010101111111010000111100111001111010100101110), ("f32-bgr",)),
)


def _u_plane(rgb: np.ndarray, convention: str) -> np.ndarray:
    """The U plane the encoder worked on, cropped to whole 4x4 pixels, as float64."""
    import cv2

    src = rgb[: rgb.shape[0] // 4 * 4, : rgb.shape[1] // 4 * 4]
    if convention == "u8-bgr":  # 8-bit conversion is integer arithmetic: RGB2YUV == BGR2YUV of the flipped array
        return cv2.cvtColor(np.ascontiguousarray(src), cv2.COLOR_RGB2YUV)[..., 1].astype(np.float64)
    flipped = src if convention.endswith("rgb") else src[..., ::-1]  # float conversion: keep the encoder's order
    return cv2.cvtColor(np.ascontiguousarray(flipped, dtype=np.float32), cv2.COLOR_BGR2YUV)[..., 1].astype(np.float64)


HAAR = 0.7071067811865476  # PyWavelets' Haar analysis filter tap, 1/sqrt(2) as a float64


def haar_ll(plane: np.ndarray) -> np.ndarray:
    """Approximation band of a one-level Haar DWT of an even-sized plane.

    Same operations in the same order as `pywt.dwt2(plane, 'haar')[0]` (columns pairs first, then rows),
    so the result is bit-identical to PyWavelets' at a fraction of the cost (only LL is computed).
    """
    rows = plane[0::2] * HAAR + plane[1::2] * HAAR
    return rows[:, 0::2] * HAAR + rows[:, 1::2] * HAAR


def _blocks(ll: np.ndarray) -> np.ndarray:
    """LL band cut into 4x4 blocks in row-major order: (n_blocks, 16)."""
    nr, nc = ll.shape[0] // BLOCK, ll.shape[1] // BLOCK
    return ll[: nr * BLOCK, : nc * BLOCK].reshape(nr, BLOCK, nc, BLOCK).transpose(0, 2, 1, 3).reshape(-1, 16)


def _carrier(blocks: np.ndarray) -> np.ndarray:
    """Index of each block's carrier: the largest-magnitude coefficient other than the first."""
    return np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1


def block_votes(rgb: np.ndarray, convention: str = "u8-bgr", strip: int = 1024) -> np.ndarray:
    """Each LL block's bit vote (bool, row-major block order) for one convention.

    Processed in horizontal strips of whole 8-pixel block rows, which gives the same votes in the same
    order while bounding the memory a large image needs.
    """
    h = rgb.shape[0] // 8 * 8
    votes = []
    for y in range(0, h, strip):
        blocks = _blocks(haar_ll(_u_plane(rgb[y: min(y + strip, h)], convention)))
        carrier = np.abs(blocks[np.arange(len(blocks)), _carrier(blocks)])
        votes.append(np.mod(carrier, SCALE) > 0.5 * SCALE)
    return np.concatenate(votes) if votes else np.zeros(0, dtype=bool)


def bits_from_votes(votes: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Majority bits for a message of `length` bits and the fraction of 1-votes behind each bit."""
    slot = np.arange(len(votes)) % length
    ones = np.bincount(slot, weights=votes.astype(np.float64), minlength=length)
    frac = ones / np.maximum(np.bincount(slot, minlength=length), 1)
    return frac * 255 > 127, frac


def decode(rgb: np.ndarray, length: int, convention: str = "u8-bgr") -> np.ndarray:
    """The bits the reference `WatermarkDecoder('bits', length).decode(bgr, 'dwtDct')` returns."""
    return bits_from_votes(block_votes(rgb, convention), length)[0]


def embed(rgb: np.ndarray, bits: tuple[int, ...] | list[int], convention: str = "u8-bgr") -> np.ndarray:
    """Mark an RGB uint8 image the way a generator using `convention` would; returns RGB uint8."""
    import cv2
    import pywt

    h, w = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    flip = not convention.endswith("rgb")
    src = rgb[..., ::-1] if flip else rgb
    as_float = convention.startswith("f32")
    yuv = cv2.cvtColor(np.ascontiguousarray(src, dtype=np.float32 if as_float else np.uint8), cv2.COLOR_BGR2YUV)
    ll, details = pywt.dwt2(yuv[:h, :w, 1].astype(np.float64), "haar")
    blocks = _blocks(ll)
    idx = np.arange(len(blocks))
    pos = _carrier(blocks)
    val = blocks[idx, pos]
    bit = np.asarray(bits, dtype=np.float64)[idx % len(bits)]
    blocks[idx, pos] = np.sign(val + (val == 0)) * (np.floor(np.abs(val) / SCALE) + 0.25 + 0.5 * bit) * SCALE
    nr, nc = ll.shape[0] // BLOCK, ll.shape[1] // BLOCK
    ll[: nr * BLOCK, : nc * BLOCK] = blocks.reshape(nr, nc, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(
        nr * BLOCK, nc * BLOCK)
    u = pywt.idwt2((ll, details), "haar")
    yuv[:h, :w, 1] = u if as_float else np.clip(np.round(u), 0, 255).astype(np.uint8)
    out = np.clip(np.round(cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out[..., ::-1] if flip else out)


def binomial_tail(matches: int, n: int) -> float:
    """P(X >= matches) for X ~ Binomial(n, 1/2): how often random bits agree at least this well."""
    if matches <= 0:
        return 1.0
    return float(sum(math.comb(n, k) for k in range(matches, n + 1)) / 2**n)


@dataclass(frozen=True)
class MarkTest:
    """One known message tested under one pixel convention."""

    mark: KnownMark
    convention: str
    bit_errors: int
    n_bits: int
    vote_agreement: float  # fraction of all block votes that agree with the message
    p_random: float  # binomial tail for the bit matches, one test
    p_corrected: float  # times the number of tests made (Bonferroni)

    @property
    def ber(self) -> float:
        return self.bit_errors / self.n_bits


def check_known_marks(rgb: np.ndarray, marks: tuple[KnownMark, ...] = KNOWN_MARKS) -> list[MarkTest]:
    """Test every known message under each of its conventions; best (lowest p) first."""
    plans = [(m, c) for m in marks for c in m.conventions]
    votes = {c: block_votes(rgb, c) for c in dict.fromkeys(c for _, c in plans)}
    out = []
    for mark, conv in plans:
        n = len(mark.bits)
        bits, _ = bits_from_votes(votes[conv], n)
        truth = np.asarray(mark.bits, dtype=bool)
        errors = int(np.count_nonzero(bits != truth))
        v = votes[conv]
        agreement = float(np.mean(v == truth[np.arange(len(v)) % n]))
        p = binomial_tail(n - errors, n)
        out.append(MarkTest(mark, conv, errors, n, agreement, p, min(1.0, p * len(plans))))
    return sorted(out, key=lambda t: (t.p_corrected, t.ber))
