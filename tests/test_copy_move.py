"""Copy-move detectors: a textured disk of a natural photo is pasted elsewhere (plain, rotated, scaled, JPEG).

IoU bound: both detectors grow their mask from local matches whose support is a window of a few pixels (NCC
7x7 for keypoints, the radius-6 Zernike disk for the dense field), so a disk of radius 30-45 px loses or gains a
band of about 3 px along the edge of each copy: IoU ~ 1 - 2 * 3 / r ~ 0.8-0.87 when everything works. The
bound 0.6 leaves room for interpolation and JPEG losses at the rims, yet fails if either copy is missed (then
IoU <= 0.5) or if only keypoints are marked (IoU < 0.1).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
pytest.importorskip("scipy")
skdata = pytest.importorskip("skimage.data")

from PIL import Image  # noqa: E402

import unmask  # noqa: E402
from unmask.detectors.image.copy_move import CopyMoveSIFT  # noqa: E402
from unmask.detectors.image.copy_move_dense import (  # noqa: E402
    CopyMoveDense,
    fit_error,
    zernike_features,
)
from unmask.errors import NotApplicable  # noqa: E402
from unmask.preprocess.keypoints import apply, describe, ransac_affine  # noqa: E402

IOU_BOUND = 0.6


def disk(shape: tuple[int, int], center: tuple[float, float], radius: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx - center[0]) ** 2 + (yy - center[1]) ** 2 <= radius**2


def forge(img: np.ndarray, src: tuple[float, float], dst: tuple[float, float], radius: float,
          angle: float = 0.0, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paste the disk at `src`, rotated (counter-clockwise) and scaled, centred on `dst`; return both regions."""
    m = cv2.getRotationMatrix2D(src, angle, scale)
    m[:, 2] += np.subtract(dst, src)
    warped = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR)
    target = disk(img.shape[:2], dst, radius * scale)
    out = img.copy()
    out[target] = warped[target]
    return out, disk(img.shape[:2], src, radius), target


def as_media(img: np.ndarray, quality: int | None = None):
    buf = io.BytesIO()
    if quality is None:
        Image.fromarray(img).save(buf, format="PNG")
    else:
        Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return unmask.load(buf.getvalue())


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.fixture(scope="module")
def sift() -> CopyMoveSIFT:
    return CopyMoveSIFT()


@pytest.mark.parametrize(("angle", "scale", "quality"), [
    (0.0, 1.0, None), (20.0, 1.0, None), (0.0, 1.2, None), (0.0, 1.0, 85), (20.0, 1.0, 75),
])
def test_keypoints_localise_copy(sift: CopyMoveSIFT, angle: float, scale: float, quality: int | None) -> None:
    img = skdata.astronaut()
    forged, source, target = forge(img, (120.0, 420.0), (420.0, 300.0), 45, angle, scale)
    ev = sift.analyze(as_media(forged, quality))
    assert ev.mask is not None and ev.mask.shape == img.shape[:2]
    assert ev.heatmap is not None and ev.heatmap.shape == img.shape[:2]
    assert iou(ev.mask, source | target) > IOU_BOUND
    assert (ev.mask & source).sum() > 0.5 * source.sum() and (ev.mask & target).sum() > 0.5 * target.sum()
    assert ev.score > 0.7
    copy = ev.details["copies"][0]
    assert abs(copy["rotation_deg"] - angle) < 2.0 and abs(copy["scale"] - scale) < 0.04
    assert "appears twice" in ev.summary
    if angle:
        assert "rotated by about 20 degrees" in ev.summary
    assert float(ev.heatmap[ev.mask].min()) >= 0.5 > float(ev.heatmap[~ev.mask].max())


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_keypoints_quiet_on_unedited_photo(sift: CopyMoveSIFT, name: str) -> None:
    img = getattr(skdata, name)()
    ev = sift.analyze(as_media(img, 90))
    assert ev.score < 0.1
    assert ev.mask is not None and ev.mask.mean() < 0.005


@pytest.mark.parametrize("name", ["brick", "checkerboard"])
def test_repetitive_texture_does_not_crash(sift: CopyMoveSIFT, name: str) -> None:
    """Genuinely repeating texture: the g2NN ratio test finds no distinctive match (both score 0.0 today)."""
    img = np.ascontiguousarray(np.stack([getattr(skdata, name)()] * 3, axis=-1))
    ev = sift.analyze(as_media(img))
    assert ev.score is not None and 0.0 <= ev.score <= 0.5
    assert ev.heatmap is not None and ev.heatmap.shape == img.shape[:2]


def test_tiny_image_is_not_applicable(sift: CopyMoveSIFT) -> None:
    with pytest.raises(NotApplicable):
        sift.predict(as_media(np.zeros((20, 30, 3), np.uint8)))


def test_ransac_recovers_map_from_undirected_pairs() -> None:
    rng = np.random.default_rng(3)
    m = cv2.getRotationMatrix2D((50.0, 60.0), 30.0, 1.1)
    m[:, 2] += (150.0, 40.0)
    src = rng.uniform(30, 90, (40, 2))
    dst = apply(m, src) + rng.normal(0, 0.3, (40, 2))
    flip = rng.random(40) < 0.5
    a, b = np.where(flip[:, None], dst, src), np.where(flip[:, None], src, dst)
    a[:12] = rng.uniform(0, 300, (12, 2))
    fit = ransac_affine(a, b, tol=2.0, rng=rng)
    assert fit is not None
    found, sign = fit
    assert np.abs(found - m).max() < 0.5
    assert np.array_equal(sign[12:], np.where(flip[12:], -1, 1))
    assert (sign[:12] == 0).sum() >= 10
    d = describe(found)
    assert abs(d["rotation_deg"] - 30.0) < 1.0 and abs(d["scale"] - 1.1) < 0.02


def test_zernike_magnitudes_are_rotation_invariant() -> None:
    rng = np.random.default_rng(0)
    g = rng.uniform(0, 255, (41, 41)).astype(np.float32)
    a = zernike_features(g, 6)[20, 20]
    b = zernike_features(np.ascontiguousarray(np.rot90(g)), 6)[20, 20]
    c = zernike_features(rng.uniform(0, 255, (41, 41)).astype(np.float32), 6)[20, 20]
    assert np.allclose(a, b, rtol=1e-3, atol=1e-2)
    assert np.abs(a - c).max() > 1.0


def test_dense_linear_fit_error_separates_affine_from_chaotic_offsets() -> None:
    yy, xx = np.mgrid[:40, :40].astype(np.float32)
    smooth = fit_error(0.3 * xx - 0.2 * yy + 5, 0.1 * yy + 2, 4)
    chaos = np.random.default_rng(1).integers(-50, 50, (2, 40, 40)).astype(np.float32)
    assert smooth[5:-5, 5:-5].max() < 1e-2
    assert np.median(fit_error(chaos[0], chaos[1], 4)) > 100


@pytest.fixture(scope="module")
def fur() -> np.ndarray:
    """A crop of the cat: fur with few corners, where keypoint methods fail and dense matching is needed."""
    return np.ascontiguousarray(skdata.chelsea()[20:236, 40:296])


@pytest.mark.parametrize(("angle", "quality"), [(0.0, 85), (20.0, 75)])
def test_dense_localises_copy_in_weak_texture(fur: np.ndarray, angle: float, quality: int) -> None:
    forged, source, target = forge(fur, (70.0, 170.0), (200.0, 60.0), 28, angle)
    media = as_media(forged, quality)
    ev = CopyMoveDense().analyze(media)
    assert iou(ev.mask, source | target) > IOU_BOUND
    assert ev.score > 0.6
    assert "copied" in ev.summary
    assert abs(abs(ev.details["regions"][0]["rotation_deg"]) - angle) < 3.0
    assert CopyMoveSIFT().analyze(media).score < 0.5  # the case the dense detector exists for


def test_dense_calls_a_checkerboard_a_pattern_not_a_copy() -> None:
    """Every square matches many others; the field is coherent, but the match also holds at half the shift,
    so the areas are reported as a repeating pattern with a low score (0.3 today) instead of a copy."""
    img = np.ascontiguousarray(np.stack([skdata.checkerboard()] * 3, axis=-1))
    ev = CopyMoveDense().analyze(as_media(img))
    assert ev.score is not None and ev.score <= 0.5
    assert "pattern" in ev.summary
    assert ev.details["regions"] and all(r["repeats"] >= 0.3 for r in ev.details["regions"])


def test_dense_quiet_on_unedited_photo(fur: np.ndarray) -> None:
    ev = CopyMoveDense().analyze(as_media(fur, 90))
    assert ev.score < 0.1
    assert ev.mask is not None and ev.mask.mean() < 0.005
