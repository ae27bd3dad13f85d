"""JPEG-trace detectors (block grid, double quantization, ghosts) and the shared JPEG access they use.

The splice fixture is the classic one: a photo saved by a "camera" at quality 80, a patch cut from another
photo saved at quality 60, pasted in, and the composite saved again at quality 90.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import unmask
from unmask.analysis import Analyzer
from unmask.detectors.image.jpeg_double_quant import JpegDoubleQuantization
from unmask.detectors.image.jpeg_ghost import JpegGhost
from unmask.detectors.image.jpeg_grid_alignment import JpegGridAlignment
from unmask.errors import NotApplicable
from unmask.media import ImageMedia
from unmask.preprocess.jpeg import (
    block_dct,
    block_idct,
    decoded_component,
    global_grid,
    jpeg_coefficients,
    luma_dct,
)

skdata = pytest.importorskip("skimage.data")

BOX = (200, 232, 160, 192)  # top, left, height, width of the pasted region (multiples of 8)


def encode(rgb: np.ndarray, fmt: str = "JPEG", mode: str | None = None, **options: object) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(rgb)
    (im.convert(mode) if mode else im).save(buf, format=fmt, **options)
    return buf.getvalue()


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encode(rgb, quality=quality))).convert("RGB"))


def splice(shift: tuple[int, int], patch_quality: int | None = 60) -> tuple[ImageMedia, np.ndarray]:
    """Paste a patch into a quality-80 photo at BOX moved by `shift`, save at quality 90."""
    host = jpeg_roundtrip(skdata.astronaut(), 80)
    source = skdata.coffee() if patch_quality is None else jpeg_roundtrip(skdata.coffee(), patch_quality)
    top, left, h, w = BOX
    top, left = top + shift[0], left + shift[1]
    out = host.copy()
    out[top : top + h, left : left + w] = source[40 : 40 + h, 80 : 80 + w]
    mask = np.zeros(out.shape[:2], bool)
    mask[top : top + h, left : left + w] = True
    return unmask.load(encode(out, quality=90)), mask


def inside_outside(heat: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    return float(heat[mask].mean()), float(heat[~mask].mean())


def iou(pred: np.ndarray, mask: np.ndarray) -> float:
    return float((pred & mask).sum() / max((pred | mask).sum(), 1))


@pytest.fixture(scope="module")
def shifted_splice() -> tuple[ImageMedia, np.ndarray]:
    return splice((3, 5))


@pytest.fixture(scope="module")
def aligned_splice() -> tuple[ImageMedia, np.ndarray]:
    return splice((0, 0))


@pytest.fixture(scope="module")
def single_jpeg() -> ImageMedia:
    """A never-edited photo compressed once."""
    return unmask.load(encode(skdata.astronaut(), quality=90))


# ---- shared JPEG access --------------------------------------------------------------------------------

ODD = (509, 503)  # neither side a multiple of 8 (nor of 16)


@pytest.mark.parametrize(
    ("mode", "options", "space", "sampling"),
    [
        ("RGB", {"quality": 75}, "YCbCr", ((2, 2), (1, 1), (1, 1))),
        ("RGB", {"quality": 75, "subsampling": 1}, "YCbCr", ((1, 2), (1, 1), (1, 1))),
        ("RGB", {"quality": 75, "progressive": True}, "YCbCr", ((2, 2), (1, 1), (1, 1))),
        ("L", {"quality": 80}, "grayscale", ((1, 1),)),
        ("CMYK", {"quality": 80}, "CMYK", ((1, 1),) * 4),
    ],
)
def test_coefficients_decode_to_the_decoders_first_plane(mode, options, space, sampling) -> None:
    data = encode(skdata.astronaut()[: ODD[0], : ODD[1]], mode=mode, **options)
    media = unmask.load(data)
    coefs = jpeg_coefficients(media)
    assert coefs.color_space == space
    assert coefs.sampling == sampling
    assert coefs.progressive == bool(options.get("progressive"))
    assert coefs.components[0].shape == (64, 63, 8, 8)  # ceil(509 / 8), ceil(503 / 8)
    plane = decoded_component(coefs, 0)[: ODD[0], : ODD[1]]
    decoded = Image.open(io.BytesIO(data))
    if mode == "CMYK":  # Pillow writes and reads Adobe CMYK JPEGs inverted
        reference = 255.0 - np.asarray(decoded)[..., 0]
    elif mode == "L":
        reference = np.asarray(decoded)
    else:
        reference = np.asarray(decoded.convert("YCbCr"))[..., 0]
    assert np.abs(plane - reference).mean() < (0.1 if mode in ("L", "CMYK") else 1.0)


def test_png_has_no_coefficients() -> None:
    with pytest.raises(NotApplicable):
        jpeg_coefficients(unmask.load(encode(skdata.astronaut(), fmt="PNG")))


def test_block_dct_is_inverted_and_sees_the_quantization_grid() -> None:
    x = np.random.default_rng(0).normal(128, 40, (64, 80)).astype(np.float32)
    assert np.allclose(block_idct(block_dct(x)), x, atol=1e-3)
    media = unmask.load(encode(skdata.camera(), mode="L", quality=50))
    step = float(jpeg_coefficients(media).qtables[0][0, 1])

    def off_lattice(offset: tuple[int, int]) -> float:
        v = luma_dct(media, offset)[..., 0, 1] / step
        return float(np.abs(v - np.round(v)).mean())

    assert off_lattice((0, 0)) < 0.1  # on the compression grid, coefficients sit on multiples of Q
    assert off_lattice((3, 5)) > 0.2  # off the grid they do not (uniform would give 0.25)


def test_global_grid_follows_a_crop_and_is_absent_without_compression() -> None:
    once = jpeg_roundtrip(skdata.astronaut(), 75)
    cropped = unmask.load(encode(once[3:, 5:], fmt="PNG"))  # a PNG saved from a cropped JPEG
    grid = global_grid(cropped)
    assert (grid.row_phase, grid.col_phase) == (5, 3)
    assert grid.contrast > 0.2
    raw = unmask.load(encode(skdata.astronaut(), fmt="PNG"))
    assert global_grid(raw).contrast < 0.02
    assert JpegGridAlignment().analyze(raw).score is None


# ---- detectors --------------------------------------------------------------------------------------------


def test_blocking_grid_localises_a_shifted_paste(shifted_splice, single_jpeg) -> None:
    media, mask = shifted_splice
    det = JpegGridAlignment()
    ev = det.analyze(media)
    assert ev.heatmap.shape == mask.shape
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 0.12 and inside > 5 * outside
    assert ev.details["grid_row_phase"] == 0 and ev.details["grid_col_phase"] == 0
    assert ev.score > det.analyze(single_jpeg).score


def test_blocking_grid_also_reads_a_png_saved_from_the_jpeg(shifted_splice) -> None:
    media, mask = shifted_splice
    png = unmask.load(encode(media.rgb, fmt="PNG"))
    inside, outside = inside_outside(JpegGridAlignment().analyze(png).heatmap, mask)
    assert inside > 5 * outside


@pytest.mark.parametrize("patch_quality", [60, None], ids=["shifted-jpeg-patch", "never-jpeg-patch"])
def test_double_quantization_finds_the_singly_compressed_paste(patch_quality, single_jpeg) -> None:
    media, mask = splice((3, 5), patch_quality)
    det = JpegDoubleQuantization()
    native = det.predict(media)
    ev = det.to_evidence(native, media)
    assert ev.heatmap.shape == mask.shape
    assert iou(ev.heatmap > 0.5, mask) > 0.6
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 0.6 and outside < 0.05
    # The first save's steps are recovered: Q1 is the quality-80 table wherever a mode was informative.
    first_save = Image.open(io.BytesIO(encode(skdata.astronaut(), quality=80)))
    first = np.asarray(first_save.quantization[0]).reshape(8, 8)
    assert len(native.informative) >= 8
    assert all(f.q1 == first[f.mode] for f in native.informative)
    single = det.analyze(single_jpeg)
    assert single.details["informative_modes"] == 0
    assert ev.score > single.score


@pytest.mark.parametrize("quality", [60, 75, 90, 98])
def test_a_faint_double_quantization_trace_never_moves_the_verdict(quality) -> None:
    """Singly-compressed photos often show 'suggestive' modes (used for the map only): they give no image
    score and the summary says the evidence is too weak."""
    ev = JpegDoubleQuantization().analyze(unmask.load(encode(skdata.coffee(), quality=quality)))
    assert ev.details["informative_modes"] == 0
    assert ev.score == 0.0
    if ev.details["map_modes"]:
        assert ev.details["weak_trace"] and "too weak to judge" in ev.summary


def test_double_quantization_is_not_applicable_to_png() -> None:
    png = encode(skdata.astronaut(), fmt="PNG")
    report = Analyzer(detectors=["jpeg_double_quant"]).analyze(png)
    [entry] = [e for e in report.evidence if e.detector == "jpeg_double_quant"]
    assert entry.score is None
    assert entry.summary.startswith("Not applicable: ")
    with pytest.raises(NotApplicable):
        JpegDoubleQuantization().predict(unmask.load(png))


def test_jpeg_ghost_localises_an_aligned_paste_at_its_quality(aligned_splice, single_jpeg) -> None:
    media, mask = aligned_splice
    det = JpegGhost()
    ev = det.analyze(media)
    assert ev.heatmap.shape == mask.shape
    assert iou(ev.heatmap > 0.5, mask) > 0.5
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 0.6 and inside > 4 * outside
    assert abs(ev.details["ghost_quality"] - 60) <= 5
    assert ev.score > det.analyze(single_jpeg).score


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_detectors_handle_odd_sizes_and_other_colour_spaces(mode) -> None:
    rgb = jpeg_roundtrip(skdata.chelsea()[:203, :301], 70)
    media = unmask.load(encode(rgb, mode=mode, quality=90))
    for det in (JpegGridAlignment(), JpegDoubleQuantization(), JpegGhost()):
        ev = det.analyze(media)
        assert ev.heatmap is not None and ev.heatmap.shape == (203, 301)
        assert ev.score is None or 0.0 <= ev.score <= 1.0


@pytest.mark.parametrize("shape", [(5, 7), (8, 8), (40, 64)])
def test_tiny_images_get_no_opinion_instead_of_noise(shape) -> None:
    media = unmask.load(encode(skdata.astronaut()[: shape[0], : shape[1]], quality=70))
    for det in (JpegGridAlignment(), JpegDoubleQuantization()):
        with pytest.raises(NotApplicable):
            det.analyze(media)
    assert JpegGhost().analyze(media).score is None
