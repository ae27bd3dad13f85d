"""Tests for the blocking-artifact inconsistency detector (Ye, Sun & Chang 2007) on synthetic re-saved JPEGs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import unmask
from unmask.detectors.image.jpeg_primary_quant import JpegPrimaryQuant, lattice_residual, zigzag
from unmask.errors import NotApplicable

REGION = (slice(192, 320), slice(160, 288))  # 128x128, on the 8x8 grid


def encode(rgb: np.ndarray, quality: int | None = None) -> bytes:
    buf = io.BytesIO()
    if quality is None:
        Image.fromarray(rgb).save(buf, "PNG")
    else:
        Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encode(rgb, quality))).convert("RGB"))


def region_mask(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[REGION] = True
    return mask


@pytest.fixture(scope="module")
def detector() -> JpegPrimaryQuant:
    return JpegPrimaryQuant()


@pytest.fixture(scope="module")
def first_save(photo) -> np.ndarray:
    return roundtrip(photo, 60)


def splice(first_save: np.ndarray, patch: np.ndarray) -> unmask.ImageMedia:
    edited = first_save.copy()
    edited[REGION] = patch
    return unmask.load(encode(edited, 85))


def test_zigzag_and_residual() -> None:
    order = zigzag()
    assert order[:5] == [(0, 1), (1, 0), (2, 0), (1, 1), (0, 2)] and len(order) == 31
    assert np.allclose(lattice_residual(np.array([0.0, 9.0, 12.0, 14.0, -13.0]), 9), [0, 0, 3, 4, 4])


@pytest.mark.parametrize("source", ["other-image", "shifted-3px"])
def test_pasted_region_stands_out(source, photo, first_save, detector) -> None:
    if source == "other-image":  # never compressed: quantized once, by Q2 only
        rng = np.random.default_rng(0)
        patch = np.clip(np.asarray(Image.fromarray(photo[::-1, ::-1]).resize((128, 128)), np.float32)
                        + rng.normal(0, 4, (128, 128, 3)), 0, 255).astype(np.uint8)
    else:  # the same first save, 3 px off its grid
        patch = first_save[195:323, 163:291]
    media = splice(first_save, patch)
    native = detector.predict(media)
    ev = detector.to_evidence(native, media)
    mask = region_mask(ev.heatmap.shape)
    inside, outside = float(ev.heatmap[mask].mean()), float(ev.heatmap[~mask].mean())
    assert inside > 0.5 and inside > 5 * outside
    assert ev.score > 0.7
    assert ev.details["primary_found"] and ev.details["doubly_compressed_modes"] >= 10
    # Where a primary step was found it is the quality-60 table's step: exactly in the low-frequency modes;
    # in sparse high-frequency ones (few non-zero values) a neighbouring step explains them as well.
    table = np.asarray(Image.open(io.BytesIO(encode(photo, 60))).quantization[0]).reshape(8, 8)
    found = native.doubly_compressed_modes
    low = [m for m in found if m.mode in zigzag(14)]
    assert len(low) >= 10 and all(m.q1 == table[m.mode] for m in low)
    assert all(abs(m.q1 - table[m.mode]) <= 0.1 * table[m.mode] for m in found)
    # The paper's raw measure B is larger inside too.
    blocks = native.blocking[24:40, 20:36]
    assert blocks.mean() > 2 * np.delete(native.blocking, np.s_[24:40], axis=0).mean()


@pytest.mark.parametrize("quality", [75, 90])
def test_single_compression_scores_low(quality, photo, detector) -> None:
    ev = detector.analyze(unmask.load(encode(photo, quality)))
    assert ev.score < 0.3
    assert not ev.details["primary_found"]
    assert "no trace of an earlier compression" in ev.summary


def test_unedited_double_compression_scores_below_a_splice(photo, first_save, detector) -> None:
    unedited = detector.analyze(unmask.load(encode(first_save, 85)))
    assert unedited.details["primary_found"]
    spliced = detector.analyze(splice(first_save, first_save[195:323, 163:291]))
    assert unedited.score < 0.3 < spliced.score


def test_png_gets_no_opinion(photo, detector) -> None:
    png = encode(photo)
    with pytest.raises(NotApplicable):
        detector.predict(unmask.load(png))
    report = unmask.Analyzer(detectors=["jpeg_primary_quant"]).analyze(png)
    [entry] = [e for e in report.evidence if e.detector == "jpeg_primary_quant"]
    assert entry.score is None


@pytest.mark.parametrize("shape", [(16, 16), (100, 75), (203, 301)])
def test_shapes_and_tiny_images(shape, photo, detector) -> None:
    data = encode(roundtrip(photo[: shape[0], : shape[1]], 50), 90)
    media = unmask.load(data)
    try:
        ev = detector.analyze(media)
    except NotApplicable:
        assert shape[0] * shape[1] < 64 * 64  # only images with too few blocks are refused
        return
    assert ev.heatmap.shape == shape
    assert ev.heatmap.dtype == np.float32 and 0.0 <= ev.heatmap.min() <= ev.heatmap.max() <= 1.0
    assert 0.0 <= ev.score <= 1.0
