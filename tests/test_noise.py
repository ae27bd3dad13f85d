"""Local noise-inconsistency detectors (noise_wavelet, splicebuster) on synthetic edits of a natural photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

import unmask
from unmask.detectors.image.noise_wavelet import NoiseWavelet
from unmask.detectors.image.splicebuster import Splicebuster
from unmask.detectors.registry import Registry
from unmask.errors import NotApplicable
from unmask.media import ImageMedia
from unmask.preprocess.residual import COOC_CLASSES, N_COOC_CLASSES, cell_quantiles, region_score

DETECTORS = (NoiseWavelet, Splicebuster)


def load_png(rgb: np.ndarray) -> ImageMedia:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return unmask.load(buf.getvalue())


def add_luma_noise(rgb: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """The same Gaussian noise on all three channels, like luminance grain."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, (*rgb.shape[:2], 1))
    return np.clip(rgb.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def blurred(rgb: np.ndarray, radius: float) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(radius)))


def box_mask(shape: tuple[int, ...], lo: int, hi: int) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    mask[lo:hi, lo:hi] = True
    return mask


def inside_outside(heat: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    return float(heat[mask].mean()), float(heat[~mask].mean())


@pytest.fixture(scope="module")
def smooth_image() -> np.ndarray:
    """An unedited smooth picture: colour gradients with a little even grain (like a clear sky)."""
    yy, xx = np.mgrid[0:320, 0:384].astype(np.float64)
    rgb = np.stack([40 + xx * 0.4, 60 + yy * 0.3, 100 + 0 * xx], axis=-1)
    return add_luma_noise(np.clip(rgb, 0, 255).astype(np.uint8), 1.5, seed=3)


@pytest.fixture(scope="module")
def camera_like(photo: np.ndarray) -> np.ndarray:
    """The photo slightly softened, then given even sensor-like grain (sigma 2): one 'camera' everywhere."""
    return add_luma_noise(blurred(photo, 1.0), 2.0, seed=4)


# --- noise_wavelet (Mahdian & Saic 2009) ---------------------------------------------------------------


def test_noise_wavelet_flags_a_region_with_added_noise(photo: np.ndarray) -> None:
    mask = box_mask(photo.shape, 160, 352)
    edited = photo.copy()
    edited[mask] = add_luma_noise(photo, 8.0, seed=0)[mask]
    det = NoiseWavelet()
    clean, ev = det.analyze(load_png(photo)), det.analyze(load_png(edited))
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 3 * outside and inside - outside > 0.08
    assert ev.score > clean.score + 0.3
    assert ev.details["anomaly_direction"] == "noisier"


def test_noise_wavelet_flags_a_smoothed_region(photo: np.ndarray) -> None:
    mask = box_mask(photo.shape, 160, 352)
    edited = photo.copy()
    edited[mask] = blurred(photo, 2.0)[mask]
    det = NoiseWavelet()
    clean, ev = det.analyze(load_png(photo)), det.analyze(load_png(edited))
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 3 * outside and inside - outside > 0.08
    assert ev.score > clean.score + 0.2
    assert ev.details["anomaly_direction"] == "smoother"


def test_noise_wavelet_estimates_the_noise_level_of_pure_noise() -> None:
    rgb = add_luma_noise(np.full((256, 256, 3), 128, np.uint8), 5.0, seed=5)
    native = NoiseWavelet().predict(load_png(rgb))
    assert native.typical_sigma == pytest.approx(5.0, rel=0.1)


# --- splicebuster (Cozzolino, Poggi & Verdoliva 2015) ----------------------------------------------------


def test_splicebuster_flags_a_noisier_region_in_an_evenly_grainy_photo(camera_like: np.ndarray) -> None:
    mask = box_mask(camera_like.shape, 192, 320)
    edited = camera_like.copy()
    edited[mask] = add_luma_noise(camera_like, 6.0, seed=1)[mask]
    det = Splicebuster()
    clean, ev = det.analyze(load_png(camera_like)), det.analyze(load_png(edited))
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 5 * outside and inside - outside > 0.08
    assert ev.score > clean.score + 0.1


def test_splicebuster_flags_a_denoised_region(camera_like: np.ndarray, photo: np.ndarray) -> None:
    mask = box_mask(camera_like.shape, 192, 320)
    edited = camera_like.copy()
    edited[mask] = blurred(photo, 1.0)[mask]  # the same content without its grain
    det = Splicebuster()
    clean, ev = det.analyze(load_png(camera_like)), det.analyze(load_png(edited))
    inside, outside = inside_outside(ev.heatmap, mask)
    assert inside > 5 * outside and inside - outside > 0.15
    assert ev.score > clean.score + 0.3


def test_splicebuster_has_no_opinion_without_readable_noise() -> None:
    with pytest.raises(NotApplicable, match="readable noise"):
        Splicebuster().analyze(load_png(np.full((256, 256, 3), 128, np.uint8)))


# --- both ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", DETECTORS)
def test_unedited_images_score_low(cls: type, photo: np.ndarray, smooth_image: np.ndarray) -> None:
    det = cls()
    for rgb in (photo, smooth_image):
        ev = det.analyze(load_png(rgb))
        assert ev.score < 0.5, (cls.name, ev.score, ev.summary)


def test_noise_wavelet_scores_a_flat_image_low_and_has_no_opinion_on_a_black_one() -> None:
    assert NoiseWavelet().analyze(load_png(np.full((128, 160, 3), 90, np.uint8))).score < 0.1
    with pytest.raises(NotApplicable, match="very dark"):
        NoiseWavelet().analyze(load_png(np.zeros((128, 160, 3), np.uint8)))


@pytest.mark.parametrize("cls", DETECTORS)
def test_heatmap_has_the_image_shape_and_unit_range(cls: type, photo: np.ndarray) -> None:
    rgb = np.ascontiguousarray(photo[:300, :451])  # sizes that are not multiples of the tiles
    ev = cls().analyze(load_png(rgb))
    assert ev.heatmap is not None and ev.heatmap.shape == (300, 451) and ev.heatmap.dtype == np.float32
    assert float(ev.heatmap.min()) >= 0.0 and float(ev.heatmap.max()) <= 1.0
    assert 0.0 <= ev.score <= 1.0 and ev.summary.endswith(".")
    assert ev.details


@pytest.mark.parametrize("cls", DETECTORS)
@pytest.mark.parametrize("size", [(20, 20), (1, 500), (100, 40)])
def test_tiny_images_are_not_applicable(cls: type, size: tuple[int, int]) -> None:
    rgb = add_luma_noise(np.full((*size, 3), 120, np.uint8), 3.0, seed=6)
    with pytest.raises(NotApplicable, match="too small"):
        cls().analyze(load_png(rgb))


def test_analyzer_reports_tiny_images_as_not_applicable() -> None:
    report = unmask.analyze(load_png(np.full((20, 20, 3), 7, np.uint8)), detectors=["noise_wavelet"])
    entry = next(e for e in report.evidence if e.detector == "noise_wavelet")
    assert entry.score is None and "too small" in entry.summary


def test_registry_profiles() -> None:
    registry = Registry.default()
    assert registry.get("noise_wavelet") is NoiseWavelet and registry.get("splicebuster") is Splicebuster
    assert NoiseWavelet in registry.for_media("image", "default")
    assert Splicebuster in registry.for_media("image", "thorough")
    assert Splicebuster not in registry.for_media("image", "default")


# --- shared helpers -----------------------------------------------------------------------------------


def test_cooccurrence_classes_pool_negation_and_reversal() -> None:
    assert N_COOC_CLASSES == 169 and COOC_CLASSES.shape == (625,)
    code = lambda d: ((d[0] * 5 + d[1]) * 5 + d[2]) * 5 + d[3]  # noqa: E731
    t = (0, 1, 3, 4)
    variants = [t, tuple(4 - v for v in t), t[::-1], tuple(4 - v for v in t[::-1])]
    assert len({int(COOC_CLASSES[code(v)]) for v in variants}) == 1
    assert COOC_CLASSES[code((0, 1, 3, 4))] != COOC_CLASSES[code((0, 1, 3, 3))]


def test_cell_quantiles_match_numpy() -> None:
    x = np.random.default_rng(7).random((40, 24)).astype(np.float32)
    med = cell_quantiles(x, 8)
    ref = np.median(x[:40, :24].reshape(5, 8, 3, 8).transpose(0, 2, 1, 3).reshape(5, 3, 64), axis=2)
    np.testing.assert_allclose(med, ref, rtol=1e-6)


def test_region_score_needs_a_region_not_one_window() -> None:
    heat = np.zeros(1000)
    heat[0] = 1.0
    assert region_score(heat)[0] < 0.1
    heat[:40] = 1.0
    assert region_score(heat)[0] > 0.9
    heat[:] = 1.0  # everything "anomalous": no typical level, damped
    assert region_score(heat)[0] <= 0.3 + 1e-9
