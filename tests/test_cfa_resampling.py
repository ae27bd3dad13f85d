"""CFA (demosaicing) and resampling detectors on synthetic edits of scikit-image photos."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import unmask
from unmask.detectors.image.cfa import CFAArtifacts, fit_mixture
from unmask.detectors.image.resampling import ResamplingTraces, frequency_mask, grid_to_pixels
from unmask.detectors.registry import Registry
from unmask.errors import NotApplicable
from unmask.media import ImageMedia
from unmask.preprocess.cfa import BAYER_PATTERNS, fit_bayer

skdata = pytest.importorskip("skimage.data")

# (row parity, column parity) of red and blue for each arrangement, written out independently of the code.
PHASES = {
    "RGGB": ((0, 0), (1, 1)),
    "GRBG": ((0, 1), (1, 0)),
    "GBRG": ((1, 0), (0, 1)),
    "BGGR": ((1, 1), (0, 0)),
}


def load_array(rgb: np.ndarray, fmt: str = "PNG", quality: int = 95) -> ImageMedia:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return unmask.load(buf.getvalue())


def _conv3(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    p = np.pad(x, 1, mode="reflect")
    h, w = x.shape
    return sum(k[i, j] * p[i : i + h, j : j + w] for i in range(3) for j in range(3))


def bayer_demosaic(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Mosaic with a Bayer pattern, then demosaic bilinearly: a camera-like image with a known CFA trace."""
    x = rgb.astype(np.float64)
    rows, cols = np.indices(x.shape[:2]) % 2
    (rr, rc), (br, bc) = PHASES[pattern]
    red, blue = (rows == rr) & (cols == rc), (rows == br) & (cols == bc)
    green = ~(red | blue)
    k_green = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4.0
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4.0
    planes = ((0, red, k_rb), (1, green, k_green), (2, blue, k_rb))
    out = np.stack([_conv3(x[..., c] * m, k) for c, m, k in planes], axis=-1)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def box_downscale(rgb: np.ndarray, f: int) -> np.ndarray:
    h, w = rgb.shape[0] // f * f, rgb.shape[1] // f * f
    return rgb[:h, :w].reshape(h // f, f, w // f, f, 3).mean(axis=(1, 3)).round().astype(np.uint8)


def inside_outside(heat: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    return float(heat[mask].mean()), float(heat[~mask].mean())


@pytest.fixture(scope="module")
def camera_like() -> np.ndarray:
    return bayer_demosaic(skdata.astronaut(), "GRBG")


@pytest.mark.parametrize("pattern", BAYER_PATTERNS)
def test_bayer_pattern_is_recovered(pattern: str) -> None:
    fit = fit_bayer(load_array(bayer_demosaic(skdata.chelsea(), pattern)))
    assert fit.pattern == pattern
    assert fit.contrast > 2.0


def test_cfa_map_is_higher_where_a_non_demosaiced_region_was_pasted(camera_like: np.ndarray) -> None:
    source = box_downscale(skdata.coffee(), 2)  # 200x300, averaged 2x2: no CFA correlation left
    edited = camera_like.copy()
    edited[160:360, 180:400] = source[:200, 40:260]
    mask = np.zeros(edited.shape[:2], bool)
    mask[160:360, 180:400] = True
    det = CFAArtifacts()
    ev = det.analyze(load_array(edited, "JPEG", 97))
    assert ev.heatmap is not None and ev.heatmap.shape == mask.shape
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 0.4 and outside < 0.15 and inside > 4 * outside
    clean = det.analyze(load_array(camera_like, "JPEG", 97))
    assert clean.score is not None and ev.score is not None
    assert clean.score < 0.2 < 0.6 < ev.score
    assert ev.details["bayer_pattern"] == "GRBG"


def test_cfa_detects_content_from_a_shifted_bayer_grid(camera_like: np.ndarray) -> None:
    other = bayer_demosaic(skdata.coffee(), "GRBG")
    edited = camera_like.copy()
    edited[151:351, 201:401] = other[100:300, 201:401]  # odd row offset: green lattice inverted
    mask = np.zeros(edited.shape[:2], bool)
    mask[151:351, 201:401] = True
    ev = CFAArtifacts().analyze(load_array(edited))
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 0.5 > 0.1 > outside
    assert ev.details["pi_inverted"] > 0.05


def test_cfa_gives_no_opinion_without_a_trace() -> None:
    ev = CFAArtifacts().analyze(load_array(box_downscale(skdata.astronaut(), 2)))
    assert ev.score is None and ev.heatmap is None
    assert not ev.details["trace_present"]
    assert "no usable camera colour-filter pattern" in ev.summary


def test_mixture_separates_absent_from_present() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(1.5, 0.3, 900), rng.normal(0.0, 0.08, 100)])
    params, post = fit_mixture(x)
    assert abs(params["mu_present"] - 1.5) < 0.1 and abs(params["pi_absent"] - 0.1) < 0.03
    assert post[900:].mean() > 0.9 and post[:900].mean() < 0.05


def test_cfa_rejects_tiny_images() -> None:
    with pytest.raises(NotApplicable):
        CFAArtifacts().predict(load_array(np.zeros((20, 20, 3), np.uint8)))


def _bilinear_resize(rgb: np.ndarray, factor: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.asarray(Image.fromarray(rgb).resize((round(w * factor), round(h * factor)), Image.BILINEAR))


def test_resampling_map_is_higher_inside_an_upscaled_paste() -> None:
    photo = skdata.coffee()
    patch = _bilinear_resize(photo[100:260, 300:460], 1.5)  # 160 -> 240 pixels
    edited = photo.copy()
    edited[80:320, 40:280] = patch
    mask = np.zeros(edited.shape[:2], bool)
    mask[80:320, 40:280] = True
    det = ResamplingTraces()
    ev = det.analyze(load_array(edited))
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 0.5 and outside < 0.1
    clean = det.analyze(load_array(photo))
    assert ev.score is not None and clean.score is not None
    assert ev.score > 0.9 and clean.score < 0.5
    assert abs(ev.details["dominant_frequency"] - 1 / 3) < 0.05  # period 3 of a 1.5x (3/2) upscale


@pytest.mark.parametrize("kind", ["jpeg75", "demosaiced"])
def test_resampling_ignores_jpeg_grid_and_cfa_periodicity(kind: str) -> None:
    """Untouched photos carry period-8 (JPEG) and period-2 (CFA) structure that is not resampling."""
    photo = skdata.astronaut()
    media = load_array(photo, "JPEG", 75) if kind == "jpeg75" else load_array(bayer_demosaic(photo, "RGGB"))
    ev = ResamplingTraces().analyze(media)
    assert ev.details["resampled_fraction"] < 0.05
    assert ev.score is not None and ev.score < 0.5


def test_resampling_whole_image_resize_is_reported_not_flagged() -> None:
    ev = ResamplingTraces().analyze(load_array(_bilinear_resize(skdata.chelsea(), 1.5)))
    assert ev.details["resampled_fraction"] >= 0.5
    assert ev.score is None and "whole picture was resized" in ev.summary


def test_frequency_mask_excludes_jpeg_grid_and_low_frequencies() -> None:
    ok = frequency_mask(64)
    for ky in range(0, 64, 8):
        for kx in range(0, 33, 8):
            assert not ok[ky, kx]
    assert not ok[0, 3] and ok[21, 0] and ok[0, 21]  # 1/3 cycle/pixel is allowed on both axes


def test_grid_to_pixels_averages_overlapping_blocks() -> None:
    grid = np.array([[0.0, 1.0]])
    heat = grid_to_pixels(grid, 64, 32, (64, 100))
    assert heat.shape == (64, 100)
    assert heat[0, 10] == 0.0 and heat[0, 40] == 0.5 and heat[0, 70] == 1.0 and heat[0, 99] == 1.0


def test_both_detectors_are_registered() -> None:
    reg = Registry.default(plugins=False)
    assert reg.get("cfa") is CFAArtifacts and reg.get("resampling") is ResamplingTraces
