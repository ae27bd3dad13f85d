"""Self-blended images (unmask.train.sources.sbi): exact masks, determinism, landmarks from unmask.faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unmask.train.sources import Context, build
from unmask.train.sources.sbi import self_blend

pytest.importorskip("dlib")
pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def face_manifest(tmp_path_factory: pytest.TempPathFactory, photo: np.ndarray) -> Path:
    """Two crops around the astronaut's face (a real face for dlib), as a manifest of real images."""
    root = tmp_path_factory.mktemp("faces")
    rows = ["path,label"]
    for i, (y, x) in enumerate([(20, 140), (30, 150)]):
        Image.fromarray(photo[y:y + 224, x:x + 224]).save(root / f"f{i}.png")
        rows.append(f"f{i}.png,real")
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


def test_sbi_source_is_deterministic_and_uses_landmarks(face_manifest: Path) -> None:
    spec = {"source": "sbi", "faces": {"manifest": str(face_manifest)}, "n": 4, "fake_fraction": 1.0,
            "jpeg_p": 0.0}
    src = build(spec, Context(face_manifest.parent, 0))
    a = src.get(1, np.random.default_rng(5))
    b = src.get(1, np.random.default_rng(5))
    assert a.label == 1 and np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert a.image.shape == (224, 224, 3) and a.mask.any()
    assert src.no_landmarks == 0  # dlib found the astronaut's face: the mask follows her landmarks
    real = build({**spec, "fake_fraction": 0.0}, Context(face_manifest.parent, 0)).get(0, np.random.default_rng(1))
    assert real.label == 0 and not real.mask.any()
    with pytest.raises(ValueError, match="'faces:'"):
        build({"source": "sbi"}, Context(face_manifest.parent, 0))


def test_face_cnn_gives_one_logit_per_face() -> None:
    torch = pytest.importorskip("torch")
    from unmask.learned.net import build as build_net

    net = build_net("face_cnn", {"width": 4}).eval()
    with torch.inference_mode():
        out = net(torch.rand(2, 3, 224, 224))
    assert set(out) == {"logit"} and out["logit"].shape == (2,)
