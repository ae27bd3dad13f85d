"""JPEG steps several detectors share: the file's quantized DCT coefficients, blockwise DCT of decoded pixels,
and the 8x8 blocking grid that a past JPEG compression left in the pixels.

The coefficients are read losslessly from the bitstream with `jpeglib` (libjpeg's `jpeg_read_coefficients`,
so baseline, progressive, subsampled, grayscale and CMYK/YCCK files all work) and kept in natural row-major
8x8 order, `coef[by, bx, u, v]` with u the vertical and v the horizontal frequency. The blockwise DCT of the
decoded luma needs no JPEG file at all, so it also serves images that were JPEG once and saved losslessly
since, and it can be taken on any shifted 8x8 grid (grid-shift and calibration analysis).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np

from ..errors import NotApplicable
from ..media import ImageMedia
from .image import gray

BLOCK = 8
_COLOR_SPACES = {"JCS_GRAYSCALE": "grayscale", "JCS_YCbCr": "YCbCr", "JCS_RGB": "RGB", "JCS_CMYK": "CMYK",
                 "JCS_YCCK": "YCCK"}


@dataclass(frozen=True, eq=False)
class JpegCoefficients:
    """Quantized DCT coefficients of every component as stored in the file.

    `components[i]` is int16 (blocks_high, blocks_wide, 8, 8); `qtables[i]` the 8x8 table it was quantized
    with; `sampling[i]` its (vertical, horizontal) sampling factors. Component 0 is luma for YCbCr/YCCK,
    the only plane for grayscale and cyan for CMYK. Block arrays cover the image padded up to whole MCUs.
    """

    components: tuple[np.ndarray, ...]
    qtables: tuple[np.ndarray, ...]
    sampling: tuple[tuple[int, int], ...]
    color_space: str
    progressive: bool
    height: int
    width: int

    def block_pixels(self, index: int = 0) -> tuple[int, int]:
        """Height and width in image pixels that one 8x8 block of component `index` covers."""
        vmax = max(s[0] for s in self.sampling)
        hmax = max(s[1] for s in self.sampling)
        v, h = self.sampling[index]
        return BLOCK * vmax // v, BLOCK * hmax // h

    def dequantized(self, index: int = 0) -> np.ndarray:
        """Component `index` times its quantization table: the DCT values the decoder inverts (float32)."""
        return self.components[index].astype(np.float32) * self.qtables[index].astype(np.float32)


def _load_jpeglib(data: bytes) -> object:
    """Read the coefficients with jpeglib, which needs a file: a private temporary directory, removed
    afterwards."""
    import jpeglib

    with tempfile.TemporaryDirectory(prefix="unmask-jpeg-") as tmp:
        path = os.path.join(tmp, "image.jpg")
        with open(path, "wb") as fh:
            fh.write(data)
        jpeg = jpeglib.read_dct(path)
        jpeg.load()
    return jpeg


def _from_jpeglib(jpeg: object) -> JpegCoefficients:
    planes = [p for p in (jpeg.Y, jpeg.Cb, jpeg.Cr, jpeg.K) if p is not None]
    tables = tuple(np.asarray(jpeg.qt[int(i)], dtype=np.int32) for i in jpeg.quant_tbl_no[: len(planes)])
    sampling = tuple((int(v), int(h)) for v, h in np.asarray(jpeg.samp_factor)[: len(planes)])
    space = _COLOR_SPACES.get(getattr(jpeg.jpeg_color_space, "name", ""), "unknown")
    return JpegCoefficients(
        components=tuple(np.ascontiguousarray(p, dtype=np.int16) for p in planes),
        qtables=tables,
        sampling=sampling,
        color_space=space,
        progressive=bool(jpeg.progressive_mode),
        height=int(jpeg.height),
        width=int(jpeg.width),
    )


def require_jpeg(media: ImageMedia, purpose: str = "this method") -> None:
    """Raise NotApplicable unless the media's bytes are a JPEG file."""
    if media.format != "jpeg":
        raise NotApplicable(f"{purpose} reads JPEG compression data and this file is {media.format.upper()}")


def jpeg_coefficients(media: ImageMedia) -> JpegCoefficients:
    """The file's quantized DCT coefficients (memoised). NotApplicable for non-JPEG or unreadable streams."""
    require_jpeg(media, "reading DCT coefficients")

    def compute() -> JpegCoefficients:
        try:
            coefs = _from_jpeglib(_load_jpeglib(media.data))
        except (OSError, ValueError, RuntimeError) as exc:
            raise NotApplicable(f"the JPEG's DCT coefficients could not be read ({exc})") from exc
        if not coefs.components or (coefs.height, coefs.width) != (media.height, media.width):
            raise NotApplicable("the JPEG's coefficient data does not match its decoded size")
        return coefs

    return media.shared("jpeg_coefficients", compute)


def dct_matrix(n: int = BLOCK) -> np.ndarray:
    """Orthonormal DCT-II basis as rows (the JPEG transform up to its fixed scaling), float32 n x n."""
    k = np.arange(n)
    m = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


def to_blocks(plane: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """View of `plane` cut into whole 8x8 blocks starting at `offset` (rows, cols): (bh, bw, 8, 8)."""
    dy, dx = offset
    x = plane[dy:, dx:]
    bh, bw = x.shape[0] // BLOCK, x.shape[1] // BLOCK
    return x[: bh * BLOCK, : bw * BLOCK].reshape(bh, BLOCK, bw, BLOCK).swapaxes(1, 2)


def block_dct(plane: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """2-D DCT of every 8x8 block of `plane` on the grid starting at `offset`, float32 (bh, bw, 8, 8)."""
    d = dct_matrix()
    return d @ to_blocks(plane.astype(np.float32, copy=False), offset) @ d.T


def block_idct(coefs: np.ndarray) -> np.ndarray:
    """Inverse of `block_dct` for a (bh, bw, 8, 8) array, returned as a (bh*8, bw*8) plane."""
    d = dct_matrix()
    blocks = d.T @ coefs.astype(np.float32, copy=False) @ d
    bh, bw = blocks.shape[:2]
    return blocks.swapaxes(1, 2).reshape(bh * BLOCK, bw * BLOCK)


def decoded_component(coefs: JpegCoefficients, index: int = 0) -> np.ndarray:
    """Component `index` decoded on its own sampling grid (IDCT + level shift, rounded and clipped as a
    decoder does), float32. Unlike the RGB pixels this exists for every colour space, CMYK included."""
    plane = block_idct(coefs.dequantized(index)) + 128.0
    return np.clip(np.round(plane), 0.0, 255.0)


def block_map_to_pixels(grid: np.ndarray, shape: tuple[int, int],
                        block: tuple[int, int] = (BLOCK, BLOCK)) -> np.ndarray:
    """Expand a per-block map to an (H, W) float32 pixel map (nearest), replicating the last block row and
    column over any remainder so the map covers the whole image."""
    up = np.repeat(np.repeat(grid, block[0], axis=0), block[1], axis=1)[: shape[0], : shape[1]]
    pad = ((0, shape[0] - up.shape[0]), (0, shape[1] - up.shape[1]))
    return np.pad(up, pad, mode="edge").astype(np.float32)


def luma_dct(media: ImageMedia, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Blockwise DCT of the decoded luma minus 128 on the 8x8 grid shifted by `offset` (memoised).

    Works on any image: on the grid a JPEG was compressed on, values cluster at multiples of the
    quantization steps; on other grids they do not, which is what grid-shift analyses look for.
    """
    dy, dx = offset[0] % BLOCK, offset[1] % BLOCK
    return media.shared(f"luma_dct_{dy}_{dx}", lambda: block_dct(gray(media) - 128.0, (dy, dx)))


@dataclass(frozen=True, eq=False)
class GridCounts:
    """Per 8x8 block and per grid phase, how many 1-D DCT high-frequency coefficients are large.

    `rows[..., s]` uses row segments starting at columns s, s+8, ... (the phase of the vertical block
    boundaries), `cols[..., s]` column segments starting at rows s, s+8, ... Each count is over the block's
    8 lines times the tested frequencies; `trials` says how many coefficients were tested per phase.
    Border blocks that no segment of a phase is centred in hold NaN for that phase.
    """

    rows: np.ndarray
    cols: np.ndarray
    trials: int


def _phase_counts(plane: np.ndarray, threshold: float, lowest: int) -> np.ndarray:
    """(bh, bw, 8) counts of |1-D DCT coefficient| > threshold for frequencies >= `lowest`, per phase.

    On the grid a JPEG was compressed on, each 8-pixel segment of a block row is a sum of the block's
    surviving cosines, so its high frequencies are mostly quantized away; a segment straddling a block
    boundary picks up the step between blocks. The count is lowest at the compression grid's phase.
    """
    h, w = plane.shape
    bh, bw = h // BLOCK, w // BLOCK
    basis = dct_matrix()[lowest:].T
    out = np.full((bh, bw, BLOCK), np.nan, np.float32)
    for s in range(BLOCK):
        nb = (w - s) // BLOCK
        if nb <= 0 or bh == 0:
            continue
        seg = plane[: bh * BLOCK, s : s + nb * BLOCK].reshape(bh * BLOCK, nb, BLOCK)
        large = (np.abs(seg @ basis) > threshold).astype(np.float32)  # float sums are much faster than bool
        per_line = large.reshape(bh, BLOCK, nb * basis.shape[1]).sum(axis=1)
        per_block = per_line.reshape(bh, nb, basis.shape[1]).sum(axis=-1)
        target = (s + BLOCK * np.arange(nb) + BLOCK // 2) // BLOCK  # the block holding the segment's centre
        keep = target < bw
        out[:, target[keep], s] = per_block[:, keep]
    return out


def grid_counts(media: ImageMedia, threshold: float = 2.0, lowest: int = 4) -> GridCounts:
    """High-frequency counts per block and grid phase along both axes, from the decoded luma (memoised)."""

    def compute() -> GridCounts:
        g = gray(media)
        rows = _phase_counts(g, threshold, lowest)
        cols = _phase_counts(np.ascontiguousarray(g.T), threshold, lowest).transpose(1, 0, 2)
        return GridCounts(rows, cols, BLOCK * (BLOCK - lowest))

    return media.shared(f"grid_counts_{threshold}_{lowest}", compute)


@dataclass(frozen=True)
class GridEstimate:
    """The image-wide 8x8 grid: the row and column where blocks start (0..7) and how clear it is (the
    relative drop in high-frequency count at that phase versus the mean over phases; ~0 = no grid)."""

    row_phase: int
    col_phase: int
    row_contrast: float
    col_contrast: float

    @property
    def contrast(self) -> float:
        return min(self.row_contrast, self.col_contrast)


def _phase_and_contrast(counts: np.ndarray) -> tuple[int, float]:
    if not np.isfinite(counts).any(axis=(0, 1)).all():  # too small for every phase to have a segment
        return 0, 0.0
    total = np.nanmean(counts, axis=(0, 1), dtype=np.float64)
    phase = int(np.argmin(total))
    mean = float(total.mean())
    return phase, (mean - float(total[phase])) / mean if mean > 0 else 0.0


def global_grid(media: ImageMedia) -> GridEstimate:
    """Where the last JPEG compression put its 8x8 grid, from the decoded pixels alone (memoised).

    A crop before saving shifts the grid, so this can differ from (0, 0) even for a JPEG file.
    """

    def compute() -> GridEstimate:
        counts = grid_counts(media)
        col_phase, col_contrast = _phase_and_contrast(counts.rows)
        row_phase, row_contrast = _phase_and_contrast(counts.cols)
        return GridEstimate(row_phase, col_phase, row_contrast, col_contrast)

    return media.shared("global_grid", compute)


def clipped_blocks(plane: np.ndarray, share: float = 0.1) -> np.ndarray:
    """Blocks where the decoder clipped many pixels to black or white: clipping between the two
    compressions moves coefficients off the double-quantization lattice, so they say nothing."""
    extreme = ((plane <= 1.0) | (plane >= 254.0)).astype(np.float32)
    return to_blocks(extreme).mean(axis=(2, 3)) > share


@dataclass(frozen=True, eq=False)
class LumaHistogramInput:
    """What coefficient-histogram methods (double quantization, blocking artifacts) start from: the file's
    quantized luma blocks, the decoded luma plane, and its DCT on the grid shifted by (4, 4), an estimate of
    the never-quantized coefficients (the 'calibration' of Fridrich et al.)."""

    coefs: JpegCoefficients
    quantized: np.ndarray
    plane: np.ndarray
    calibrated: np.ndarray


def luma_histogram_input(media: ImageMedia, purpose: str, min_blocks: int) -> LumaHistogramInput:
    """The luma inputs above (memoised), or NotApplicable for a non-JPEG or one with too few blocks."""
    require_jpeg(media, purpose)
    coefs = jpeg_coefficients(media)
    quantized = coefs.components[0]
    if quantized.shape[0] * quantized.shape[1] < min_blocks:
        raise NotApplicable("the JPEG has too few 8x8 blocks for coefficient histograms")

    def compute() -> LumaHistogramInput:
        plane = decoded_component(coefs, 0)
        return LumaHistogramInput(coefs, quantized, plane, block_dct(plane - 128.0, (4, 4)))

    return media.shared("luma_histogram_input", compute)
