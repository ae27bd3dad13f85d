"""unmask.datasets.synth: seeded synthetic manipulations with exact masks, final JPEG and generated manifests."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import unmask
from unmask.datasets import Manifest
from unmask.datasets.synth import KINDS, make_edit, postprocess
from unmask.datasets.synth import generate as generate_synth

pytest.importorskip("scipy")
pytest.importorskip("cv2")

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def donor(photo: np.ndarray) -> np.ndarray:
    """Another 'photo': the host flipped, its channels permuted and shifted in level."""
    return np.ascontiguousarray(np.clip(photo[::-1, ::-1, [2, 0, 1]].astype(int) + 30, 0, 255).astype(np.uint8))


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int32) - b.astype(np.int32)).mean(-1)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_edit(photo, donor, kind):
    a = make_edit(photo, donor, kind, np.random.default_rng(7))
    b = make_edit(photo, donor, kind, np.random.default_rng(7))
    c = make_edit(photo, donor, kind, np.random.default_rng(8))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask) and a.params == b.params
    assert not np.array_equal(a.mask, c.mask)
    assert a.image.dtype == np.uint8 and a.image.shape == photo.shape
    assert a.mask.dtype == bool and a.mask.shape == photo.shape[:2] and a.kind == kind


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_edit_changes_inside_the_mask(photo, donor, kind, seed):
    edit = make_edit(photo, donor, kind, np.random.default_rng(seed))
    d = _diff(edit.image, photo)
    inside, outside = d[edit.mask].mean(), d[~edit.mask].mean()
    assert 0.02 <= edit.mask.mean() <= 0.25
    assert inside > 1.0 and inside > 10 * outside, (inside, outside, edit.params)


def test_unknown_kind_and_missing_donor(photo):
    with pytest.raises(ValueError, match="unknown kind"):
        make_edit(photo, None, "warp", np.random.default_rng(0))
    with pytest.raises(ValueError, match="donor"):
        make_edit(photo, None, "splice", np.random.default_rng(0))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


@pytest.mark.parametrize("seed", SEEDS)
def test_copy_move_target_is_the_warped_source(photo, seed):
    import cv2

    edit = make_edit(photo, None, "copy_move", np.random.default_rng(seed))
    matrix = np.array(edit.params["matrix"])
    warped = cv2.warpAffine(photo, matrix, photo.shape[1::-1], flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT)
    m = edit.mask
    assert _corr(edit.image[m], warped[m]) > 0.99
    assert _corr(photo[m], warped[m]) < 0.9  # the target really got other content
    x0, y0, x1, y1 = edit.params["box"]
    assert not m[y0:y1, x0:x1].any()  # the mask marks the target only, clear of the source box
    assert -45 <= edit.params["angle"] <= 45 and 0.8 <= edit.params["scale"] <= 1.25


@pytest.mark.parametrize("seed", SEEDS)
def test_recompress_mask_is_exact(photo, seed):
    edit = make_edit(photo, None, "recompress", np.random.default_rng(seed))
    q, s = edit.params["quality"], edit.params["shift"]
    buf = io.BytesIO()
    Image.fromarray(np.roll(photo, (-s, -s), axis=(0, 1))).save(buf, "JPEG", quality=q)
    layer = np.roll(np.asarray(Image.open(buf).convert("RGB")), (s, s), axis=(0, 1))
    m = edit.mask
    assert np.array_equal(edit.image[m], layer[m])  # inside: exactly the re-saved pixels
    assert np.array_equal(edit.image[~m], photo[~m])  # outside: untouched
    assert (_diff(edit.image, photo)[m] > 0).mean() > 0.5
    assert 0 <= s < 8 and 50 <= q <= 95


def test_splice_mask_is_exact(photo, donor):
    blends = set()
    for seed in range(12):
        edit = make_edit(photo, donor, "splice", np.random.default_rng(seed))
        blends.add(edit.params["blend"])
        changed = _diff(edit.image, photo) > 0
        if edit.params["blend"] == "feather":
            x0, y0, x1, y1 = edit.params["box"]
            rim = np.zeros_like(changed)
            pad = int(np.ceil(4 * edit.params["sigma"]))
            rim[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = True
            assert not changed[~rim].any()  # the feathered rim stays near the region
        else:
            assert not changed[~edit.mask].any()
        assert changed[edit.mask].mean() > 0.9
    assert blends == {"hard", "feather", "poisson"}


def test_inpaint_mask_is_exact_and_the_fill_comes_from_the_surroundings(photo):
    import cv2

    methods = set()
    for seed in range(8):
        edit = make_edit(photo, None, "inpaint", np.random.default_rng(seed))
        methods.add(edit.params["method"])
        m = edit.mask
        assert np.array_equal(edit.image[~m], photo[~m])  # outside: untouched
        assert (_diff(edit.image, photo)[m] > 0).mean() > 0.9  # inside: (nearly) every pixel replaced
        flag = cv2.INPAINT_TELEA if edit.params["method"] == "telea" else cv2.INPAINT_NS
        again = cv2.inpaint(photo, m.astype(np.uint8) * 255, edit.params["radius"], flag)
        assert np.array_equal(edit.image[m], again[m])  # inside: exactly OpenCV's fill of that mask
        assert 3 <= edit.params["radius"] <= 8
    assert methods == {"telea", "ns"}


def test_postprocess_is_a_decodable_jpeg(photo):
    rng = np.random.default_rng(3)
    qualities, resized = set(), 0
    for _ in range(40):
        data, params = postprocess(photo, rng)
        qualities.add(params["quality"])
        resized += params["resize"] != 1.0
    assert min(qualities) >= 70 and max(qualities) <= 95 and len(qualities) > 10
    assert 0 < resized < 40
    media = unmask.load(data)
    assert media.jpeg is not None and [media.width, media.height] == params["size"]


def test_generate_writes_a_readable_manifest(tmp_path, photo, donor):
    photos = []
    for name, rgb in (("astro", photo), ("other", donor)):
        photos.append(tmp_path / f"{name}.png")
        Image.fromarray(rgb).save(photos[-1])
    items = generate_synth(photos, 10, tmp_path / "out", seed=5, size=192)
    for fname in ("manifest.jsonl", "manifest.csv"):
        manifest = Manifest.read(tmp_path / "out" / fname)
        assert [i.label for i in manifest] == ["real", "fake"] * 5
        for item in manifest:
            media = unmask.load(manifest.resolve(item.path))
            assert item.group in ("astro", "other")
            if item.label == "real":
                assert item.mask is None and item.attrs["manipulation"] in ("", None)
                continue
            assert item.attrs["manipulation"] in KINDS and item.label_raw == item.attrs["manipulation"]
            mask = np.asarray(Image.open(manifest.resolve(item.mask))) > 127
            assert mask.shape == (media.height, media.width) and mask.any()
    again = generate_synth(photos, 10, tmp_path / "again", seed=5, size=192)
    assert [i.to_row() for i in again] == [i.to_row() for i in items]
    assert (tmp_path / "out/img/fake_00003.jpg").read_bytes() == (tmp_path / "again/img/fake_00003.jpg").read_bytes()
