"""The `univfd` AI-image detector: a linear probe on a frozen ImageNet encoder (Ojha et al. CVPR 2023).
Runs with the shipped safetensors only (no ImageNet weights packages, no shared data)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import png

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import unmask  # noqa: E402
from unmask.learned.archs.univfd import shrink_short, view_starts, views  # noqa: E402
from unmask.learned.net import build  # noqa: E402
from unmask.train.sources import Sample  # noqa: E402
from unmask.train.sources.rescaled import RescaledSource  # noqa: E402


def test_views_see_every_size_at_one_scale():
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (2000, 3000, 3), dtype=np.uint8)
    assert views(big, 224).shape == (2, 224, 224, 3)  # 3000x2000 -> 336x224 -> two crops
    assert views(big[:, :2000], 224).shape == (1, 224, 224, 3)
    assert views(rng.integers(0, 256, (4000, 1000, 3), dtype=np.uint8), 224).shape == (3, 224, 224, 3)
    small = rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)
    assert np.array_equal(shrink_short(small, 224), small)  # never up-sampled
    padded = views(small, 224)
    assert padded.shape == (1, 224, 224, 3)  # reflect-padded as the training loop pads a small image
    assert np.array_equal(padded[0, :150, :200], small) and np.array_equal(padded[0, 150:152, :200], small[148:146:-1])
    assert view_starts(336, 224, 3) == [0, 112] and view_starts(224, 224, 3) == [0]


def test_only_the_probe_trains_and_the_trunk_stays_in_eval_mode():
    net = build("univfd", {"backbone": "mobilenet_v2", "side": 64}).train()
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}
    assert not any(m.training for m in net.trunk_modules()) and net.norm.training
    h = net.trunk(torch.rand(2, 3, 64, 64))
    assert h.shape == (2, 16 + 24 + 32 + 96 + 320 + 1280) and not h.requires_grad
    out = net.rest(h, (64, 64))
    assert out["logit"].shape == (2,) and out["logit"].requires_grad


def test_score_is_a_probability_for_any_size():
    net = build("univfd", {"backbone": "mobilenet_v2", "side": 64, "spread": True}).eval()
    rng = np.random.default_rng(1)
    for shape in ((80, 300, 3), (64, 64, 3), (200, 90, 3)):
        p = net.score(rng.integers(0, 256, shape, dtype=np.uint8))
        assert 0.0 <= p <= 1.0


class _Stub:
    def __init__(self, image: np.ndarray) -> None:
        self.image = image

    def __len__(self) -> int:
        return 1

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        return Sample(self.image, 1, None)


def test_rescaled_source_brings_samples_to_the_detectors_scale(photo):
    src = RescaledSource(_Stub(photo), 96, None, 0.0, (1.0, 2.0))
    out = src.get(0, np.random.default_rng(0))
    assert min(out.image.shape[:2]) == 96 and out.label == 1
    matched = RescaledSource(_Stub(photo), 96, {"side": 128, "jpeg": 95}, 1.0, (1.0, 1.5))
    out = matched.get(0, np.random.default_rng(0))
    assert out.image.shape == (96, 96, 3) and out.data[:2] == b"\xff\xd8"


def test_detector_runs_the_shipped_model(photo):
    from unmask.detectors.registry import Registry

    detector = Registry.default(plugins=False).get("univfd")()
    ev = detector.analyze(unmask.load(png(photo)))
    assert 0.0 <= ev.score <= 1.0 and ev.attribution == {"ai-generated": pytest.approx(ev.score)}
    assert ev.summary.endswith(".") and "probability" in ev.summary
    assert ev.details["model"] == "univfd" and ev.details["model_digest"]
    assert detector.profiles == ("thorough",)  # until the verdict models are refitted on its scores
