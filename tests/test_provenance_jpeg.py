"""JPEG fingerprint: quality and table family (libjpeg, mozjpeg, Photoshop presets, custom), header traces,
and aligned double compression with the first quality estimated."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

import unmask
from assets import provenance_fixtures as F
from unmask.detectors.image.jpeg_fingerprint import JpegFingerprintDetector
from unmask.errors import NotApplicable
from unmask.provenance import jpeg_tables

pytest.importorskip("jpeglib")


def _fp(blob: bytes):
    return JpegFingerprintDetector().analyze(unmask.load(blob))


def _double(rgb: np.ndarray, q1: int, q2: int) -> bytes:
    first = np.asarray(Image.open(io.BytesIO(F.jpeg_bytes(rgb, q1))).convert("RGB"))
    return F.jpeg_bytes(first, q2)


def test_ijg_scaling_reproduces_libjpeg_tables():
    for q in (10, 50, 75, 90, 95, 100):
        tables = Image.open(io.BytesIO(F.jpeg_bytes(data.coffee(), q))).quantization
        assert np.array_equal(np.asarray(tables[0]).reshape(8, 8), jpeg_tables.ijg_scale(jpeg_tables.ANNEX_K_LUMA, q))
        assert np.array_equal(np.asarray(tables[1]).reshape(8, 8), jpeg_tables.ijg_scale(jpeg_tables.ANNEX_K_CHROMA, q))


@pytest.mark.parametrize("quality", [55, 75, 92])
def test_libjpeg_quality_is_read_exactly(quality):
    ev = _fp(F.jpeg_bytes(data.chelsea(), quality))
    best = ev.details["table_matches"][0]
    assert best == {"family": "libjpeg (IJG) standard tables", "quality": quality, "exact": True, "mean_abs_diff": 0.0}
    assert ev.details["quality_estimate"] == quality and ev.score is None
    claims = [f.claim for f in ev.facts]
    assert f"JPEG quantization tables are exactly libjpeg (IJG) standard tables at quality {quality}" in claims


def test_mozjpeg_photoshop_and_custom_tables():
    moz = [jpeg_tables.ijg_scale(jpeg_tables.ROBIDOUX, 80).ravel().tolist()] * 2
    ev = _fp(F.jpeg_bytes(data.chelsea(), None, qtables=moz))
    assert ev.details["table_matches"][0]["family"] == "mozjpeg default tables"
    assert ev.details["table_matches"][0]["quality"] == 80 and ev.details["table_matches"][0]["exact"]
    buf = io.BytesIO()
    Image.fromarray(data.chelsea()).save(buf, format="JPEG", quality="web_high")
    ev = _fp(buf.getvalue())
    assert ev.details["table_matches"][0]["exact"] and "Photoshop preset" in ev.details["table_matches"][0]["family"]
    rng = np.random.default_rng(0)
    custom = [(jpeg_tables.ijg_scale(jpeg_tables.ANNEX_K_LUMA, 85) + rng.integers(0, 3, (8, 8))).ravel().tolist()] * 2
    ev = _fp(F.jpeg_bytes(data.chelsea(), None, qtables=custom))
    assert not ev.details["table_matches"][0]["exact"] and 80 <= ev.details["quality_estimate"] <= 86
    assert any(f.claim.startswith("JPEG quantization tables are custom") for f in ev.facts)


@pytest.mark.parametrize(("q1", "q2"), [(60, 90), (70, 85), (50, 80)])
def test_double_compression_is_detected_and_the_first_quality_estimated(q1, q2):
    ev = _fp(_double(data.chelsea(), q1, q2))
    d = ev.details["double_compression"]
    assert d["verdict"] == "double" and d["fraction"] >= 0.8
    assert abs(d["primary_quality"] - q1) <= 3
    assert ev.facts[0].claim == f"compressed at least twice as JPEG, first at about quality {d['primary_quality']}"
    assert "re-saved by software" in ev.summary and ev.score is None


@pytest.mark.parametrize("quality", [75, 90, 97])
def test_single_compression_shows_no_sign(quality):
    for rgb in (data.chelsea(), data.immunohistochemistry()):
        ev = _fp(F.jpeg_bytes(rgb, quality))
        assert ev.details["double_compression"]["verdict"] == "none"
        assert "no sign of an earlier JPEG compression" in ev.summary


def test_recompression_at_a_lower_quality_is_a_documented_blind_spot():
    ev = _fp(_double(data.chelsea(), 92, 70))
    assert ev.details["double_compression"]["verdict"] in ("none", "weak")


def test_header_traces():
    buf = io.BytesIO()
    Image.fromarray(data.chelsea()).save(buf, format="JPEG", quality=85, progressive=True, comment=b"CREATOR: test")
    ev = _fp(buf.getvalue())
    claims = [f.claim for f in ev.facts]
    assert "progressive JPEG" in claims and "JPEG comment: CREATOR: test" in claims
    ev = _fp(F.jpeg_bytes(data.chelsea(), 85, optimize=True))
    assert "optimised Huffman tables" in [f.claim for f in ev.facts] and ev.details["standard_huffman"] is False
    assert _fp(F.jpeg_bytes(data.chelsea(), 85)).details["standard_huffman"] is True


def test_png_is_not_applicable():
    with pytest.raises(NotApplicable):
        _fp(F.png_bytes(data.chelsea()))
