"""The DWT-DCT generator watermark: bit-exact decoding against golden output of the real invisible-watermark
package, detection on images marked here, no false match on unmarked photos, and what JPEG leaves."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.stats import binom
from skimage import data

import unmask
from helpers import png
from unmask.detectors.image.watermark import InvisibleWatermark
from unmask.errors import NotApplicable
from unmask.provenance import watermark as wm

ASSETS = Path(__file__).parent / "assets"
GOLDEN = json.loads((ASSETS / "watermark_golden.json").read_text())
MARKS = {m.key: m for m in wm.KNOWN_MARKS}


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def test_known_messages_match_the_generators_source_code():
    assert MARKS["sdxl"].bits == tuple(GOLDEN["files"]["watermark_sdxl.png"]["message"])
    assert MARKS["sd1"].bits == tuple(GOLDEN["files"]["watermark_sd1.png"]["message"])
    assert len(MARKS["sdxl"].bits) == 48 and len(MARKS["sd2"].bits) == 32
    assert len(MARKS["flux1"].bits) == 46  # bin() drops the two leading zeros of the 48-bit literal


@pytest.mark.parametrize("name", sorted(GOLDEN["files"]))
def test_decoder_is_bit_exact_with_the_reference_package(name):
    rgb = _rgb(ASSETS / name)
    for key, expected in GOLDEN["files"][name]["reference_decode"].items():
        mark, convention = key.split("/")
        assert len(expected) == len(MARKS[mark].bits)
        ours = wm.decode(rgb, len(expected), convention).astype(int).tolist()
        assert ours == expected, f"{name}: {key}"


@pytest.mark.parametrize(("name", "key"), [("watermark_sd1.png", "sd1"), ("watermark_sdxl.png", "sdxl")])
def test_detector_finds_the_mark_the_real_package_embedded(name, key):
    ev = InvisibleWatermark().analyze(unmask.load(ASSETS / name))
    assert ev.details["best"]["mark"] == key and ev.details["decisive"]
    assert ev.score == pytest.approx(0.97) and ev.attribution == {"ai-generated": 1.0, key: 1.0}
    assert ev.details["best"]["p_false_alarm"] < 1e-6
    assert ev.facts and MARKS[key].generator in ev.facts[0].claim and "BER" in ev.facts[0].detail


@pytest.mark.parametrize(("key", "convention"), [("sdxl", "f32-bgr"), ("sd1", "u8-bgr"), ("flux1", "f32-bgr")])
def test_images_marked_here_are_found_and_unmarked_originals_are_not(key, convention):
    original = data.astronaut()
    marked = wm.embed(original, MARKS[key].bits, convention)
    assert np.abs(marked.astype(int) - original).mean() < 1.5  # invisible: tiny change
    found = InvisibleWatermark().analyze(unmask.load(png(marked)))
    assert found.details["best"]["mark"] == key and found.details["best"]["ber"] == 0.0
    assert found.details["best"]["convention"] == convention
    clean = InvisibleWatermark().analyze(unmask.load(png(original)))
    assert clean.score is None and not clean.facts and clean.details["best"]["p_false_alarm"] > 1e-3


@pytest.mark.parametrize("photo", ["coffee", "chelsea", "rocket", "camera", "coins"])
def test_unmarked_photos_give_no_opinion(photo):
    rgb = getattr(data, photo)()
    rgb = np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb
    ev = InvisibleWatermark().analyze(unmask.load(png(rgb)))
    assert ev.score is None and ev.details["best"]["p_false_alarm"] > 1e-3
    bers = [t["ber"] for t in ev.details["tests"]]
    assert min(bers) > 0.15  # nothing close to a message


def test_jpeg_recompression_erases_the_mark_and_the_detector_says_so():
    """What survives (chelsea, SDXL convention): lossless and quality 98 keep the mark, 90 erases it."""
    marked = wm.embed(data.chelsea(), MARKS["sdxl"].bits, "f32-bgr")
    errors = {}
    for quality in (98, 95, 90):
        tests = {(t.mark.key, t.convention): t for t in wm.check_known_marks(_jpeg_roundtrip(marked, quality))}
        errors[quality] = tests[("sdxl", "f32-bgr")].bit_errors
    assert errors[98] <= 2 and errors[90] >= 10
    q98 = InvisibleWatermark().analyze(unmask.load(png(_jpeg_roundtrip(marked, 98))))
    q90 = InvisibleWatermark().analyze(unmask.load(png(_jpeg_roundtrip(marked, 90))))
    assert q98.details["decisive"] and q98.details["best"]["mark"] == "sdxl"
    assert q90.score is None and not q90.details["decisive"]


def test_binomial_tail_is_the_chance_of_a_random_match():
    assert wm.binomial_tail(48, 48) == pytest.approx(2.0**-48)
    assert wm.binomial_tail(0, 32) == 1.0
    for n, k in ((48, 40), (32, 20), (136, 100)):
        assert wm.binomial_tail(k, n) == pytest.approx(binom.sf(k - 1, n, 0.5), rel=1e-9)


def test_encoder_and_decoder_agree_on_any_message_and_odd_sizes():
    rng = np.random.default_rng(3)
    bits = tuple(int(b) for b in rng.integers(0, 2, 40))
    rgb = data.astronaut()[5:400, 3:397]  # sizes not multiple of 4 or 8
    for convention in ("u8-bgr", "f32-bgr", "f32-rgb"):
        decoded = wm.decode(wm.embed(rgb, bits, convention), len(bits), convention)
        assert np.mean(decoded != np.array(bits, dtype=bool)) <= 0.05


def test_strip_processing_gives_the_same_votes():
    rgb = data.astronaut()[:509, :498]
    for convention in ("u8-bgr", "f32-rgb"):
        whole = wm.block_votes(rgb, convention, strip=1 << 20)
        assert np.array_equal(whole, wm.block_votes(rgb, convention, strip=64))
        assert len(whole) == (509 // 8) * (498 // 8)


def test_haar_band_is_bit_identical_to_pywavelets():
    pywt = pytest.importorskip("pywt")
    plane = data.coffee()[:300, :400, 1].astype(np.float64) * 0.37 - 11.0
    assert np.array_equal(wm.haar_ll(plane), pywt.dwt2(plane, "haar")[0])


def test_small_images_are_out_of_scope():
    with pytest.raises(NotApplicable, match="256x256"):
        InvisibleWatermark().analyze(unmask.load(png(data.astronaut()[:200, :200])))
