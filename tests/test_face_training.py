"""Face training data and model: self-blended faces (unmask.faces.blend), the `faces` source (aligned crops,
X-ray boundary masks, landmark cache), cross-validation folds, the face_xray network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unmask.datasets.manifest import Item
from unmask.datasets.split import fold_of, group_split
from unmask.faces.blend import boundary, self_blend
from unmask.train.sources import Context, build

pytest.importorskip("dlib")
pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def face_manifest(tmp_path_factory: pytest.TempPathFactory, photo: np.ndarray) -> Path:
    """Two crops around the astronaut's face (a real face for dlib) and one without a face, as a manifest."""
    root = tmp_path_factory.mktemp("faces")
    rows = ["path,label"]
    for i, (y, x) in enumerate([(20, 140), (30, 150)]):
        Image.fromarray(photo[y:y + 224, x:x + 224]).save(root / f"f{i}.png")
        rows.append(f"f{i}.png,real")
    Image.fromarray(photo[300:524, 0:224]).save(root / "noface.png")
    rows.append("noface.png,fake")
    (root / "faces.csv").write_text("\n".join(rows) + "\n")
    return root / "faces.csv"


def test_self_blend_changes_only_the_masked_region(photo: np.ndarray) -> None:
    face = np.ascontiguousarray(photo[20:244, 140:364])
    out, soft = self_blend(face, None, np.random.default_rng(3))
    assert out.shape == face.shape and soft.shape == face.shape[:2]
    assert 0.05 < (soft > 0.1).mean() < 0.9
    outside = soft == 0
    assert outside.any() and np.array_equal(out[outside], face[outside])
    inside = soft > 0.5 * soft.max()
    assert np.abs(out[inside].astype(int) - face[inside]).mean() > 1.0


def test_boundary_peaks_where_the_blend_is_half_and_half() -> None:
    m = np.array([0.0, 0.25, 0.5, 1.0])
    assert boundary(m).tolist() == [0.0, 0.75, 1.0, 0.0]


def test_faces_source_aligns_blends_and_caches_landmarks(face_manifest: Path, tmp_path: Path) -> None:
    cache = tmp_path / "landmarks.json"
    spec = {"source": "faces", "faces": {"manifest": str(face_manifest)}, "size": 96, "self_blend": 1.0,
            "cache": str(cache)}
    src = build(spec, Context(face_manifest.parent, 0))
    assert len(src) == 3 and src.no_face == 1 and cache.is_file()
    a, b = src.get(0, np.random.default_rng(5)), src.get(0, np.random.default_rng(5))
    assert a.label == 1 and np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert a.image.shape == (96, 96, 3) and 0.02 < a.mask.mean() < 0.5  # a band, not the whole face
    fake = src.get(2, np.random.default_rng(1))  # a manifest fake: mask unknown, never self-blended
    assert fake.label == 1 and fake.mask is None and fake.image.shape == (96, 96, 3)
    plain = build({**spec, "self_blend": 0.0}, Context(face_manifest.parent, 0)).get(0, np.random.default_rng(1))
    assert plain.label == 0 and not plain.mask.any()
    assert np.array_equal(a.image[:8, :8], plain.image[:8, :8])  # same alignment; the corner is not blended
    assert not np.array_equal(a.image[40:56, 40:56], plain.image[40:56, 40:56])
    cache.write_text(cache.read_text().replace("[[", "[[1000.0, 1000.0], ["))  # the cache is what is read
    with pytest.raises(ValueError, match="5 or 68"):
        build(spec, Context(face_manifest.parent, 0)).get(0, np.random.default_rng(5))
    with pytest.raises(ValueError, match="'faces:'"):
        build({"source": "faces"}, Context(face_manifest.parent, 0))


def test_box_jitter_varies_the_framing_per_sample(face_manifest: Path) -> None:
    spec = {"source": "faces", "faces": {"manifest": str(face_manifest)}, "size": 96}
    fixed = build(spec, Context(face_manifest.parent, 0))
    jittered = build({**spec, "box_jitter": [0.8, 1.25]}, Context(face_manifest.parent, 0))
    views = [jittered.get(0, np.random.default_rng(k)).image for k in range(4)]
    assert all(v.shape == (96, 96, 3) for v in views)
    assert len({v.tobytes() for v in views}) == 4  # each draw frames the face differently
    assert all(np.array_equal(fixed.get(0, np.random.default_rng(k)).image, fixed.get(0, np.random.default_rng(9)).image)
               for k in range(2))  # without it the framing is fixed


def test_folds_partition_groups() -> None:
    items = [Item(path=f"{g}-{i}.jpg", label="real", group=f"g{g}") for g in range(40) for i in range(2)]
    tests = [{it.path for it in group_split(items, folds=5, fold=k) if it.split == "test"} for k in range(5)]
    assert sum(len(t) for t in tests) == len(items) and len(set().union(*tests)) == len(items)
    assert all(10 <= len(t) <= 24 for t in tests)
    assert {fold_of("g3", 5)} == {k for k in range(5) if "3-0.jpg" in tests[k] and "3-1.jpg" in tests[k]}
    with pytest.raises(ValueError, match="folds"):
        group_split(items, folds=5, fold=5)


def test_face_xray_gives_a_logit_and_a_boundary_map() -> None:
    torch = pytest.importorskip("torch")
    from unmask.learned.net import build as build_net

    net = build_net("face_xray", {"width": 4}).eval()
    with torch.inference_mode():
        out = net(torch.rand(2, 3, 128, 128))
    assert out["logit"].shape == (2,) and out["mask_logits"].shape == (2, 1, 128, 128)


def test_face_xray_mbv2_gives_a_logit_and_a_boundary_map() -> None:
    torch = pytest.importorskip("torch")
    from unmask.learned.net import build as build_net

    net = build_net("face_xray_mbv2", {"input_size": 96}).eval()  # random weights: the shapes are what is tested
    with torch.inference_mode():
        out = net(torch.rand(2, 3, 96, 96))
    assert out["logit"].shape == (2,) and out["mask_logits"].shape == (2, 1, 96, 96)
    assert net.input_size == 96 and net.box_scale == 1.1
    with pytest.raises(ValueError, match="freeze at most 12"):
        build_net("face_xray_mbv2", {"frozen_blocks": 13})
