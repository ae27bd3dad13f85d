"""Shipped models: cards complete and tied to their configs, weights load, outputs pinned (golden), detectors
run them. Golden values come from tests/assets/make_learned_golden.py."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import asset_module

pytest.importorskip("torch")
pytest.importorskip("safetensors")

from unmask.learned.store import list_models, load_model

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(__file__).with_name("assets")
GOLDEN = json.loads((ASSETS / "learned_golden.json").read_text())
CARDS = {card["name"]: card for card in list_models()}
SHIPPED = ["face_xray", "forensic_unet", "lfcc_gmm", "npr", "spectral", "text_encoder", "tfidf_lr", "univfd",
           "whisper_probe"]


def _golden_module():
    return asset_module("make_learned_golden")


def test_the_expected_models_are_shipped_and_small() -> None:
    assert sorted(CARDS) == sorted(SHIPPED)
    assert sum(card["size_mb"] for card in CARDS.values()) < 40  # issue 15: every shipped model under 40 MB


@pytest.mark.parametrize("name", SHIPPED)
def test_card_is_complete_and_matches_its_config(name: str) -> None:
    pytest.importorskip("yaml")
    from unmask.train.config import load_config

    card = CARDS[name]
    assert card["format"] == "unmask-model/1" and card["params"] > 0
    assert card["heldout"] and card["trained"]["command"].startswith("unmask train")
    cfg = load_config(ROOT / "configs" / "train" / f"{name}.yaml")
    assert cfg.digest() == card["trained"]["digest"], "the shipped weights were not trained from this config"
    assert cfg.arch == card["arch"] and cfg.arch_kwargs == card["arch_kwargs"]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_outputs_match_the_golden_values(name: str) -> None:
    golden = _golden_module()
    net, _ = load_model(name)
    prob, mask = golden.run(net, golden.model_input(net, golden.golden_input()))
    assert prob == pytest.approx(GOLDEN[name]["probability"], abs=1e-4)
    if "map_mean" in GOLDEN[name]:
        assert float(mask.mean()) == pytest.approx(GOLDEN[name]["map_mean"], abs=1e-4)


def test_forensic_unet_detector_maps_at_input_resolution() -> None:
    import unmask

    report = unmask.analyze(ASSETS / "watermark_sd1.png", detectors=["forensic_unet"])
    [ev] = [e for e in report.evidence if e.detector == "forensic_unet"]
    assert 0.0 <= ev.score <= 1.0 and ev.details["model"] == "forensic_unet"
    heat = report.maps[ev.heatmap.name]
    assert heat.shape == (report.media.height, report.media.width) and heat.dtype == np.float32


def test_tile_starts_cover_the_image_with_overlap() -> None:
    from unmask.learned.infer import tile_starts

    assert tile_starts(900, 1024) == [0]
    for size in (1025, 2000, 4097):
        starts = tile_starts(size, 1024, 64)
        assert starts[0] == 0 and starts[-1] + 1024 == size
        assert all(b - a <= 1024 - 64 for a, b in itertools.pairwise(starts))


def test_large_images_run_in_tiles_and_stitch_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A per-pixel network (its output at a pixel depends on that pixel only) must give the same map tiled
    and whole, which checks the stitching; the image logit of a localiser is the highest tile's."""
    import torch

    import unmask.learned.infer as infer
    from unmask.learned.net import ForensicNet

    class PerPixel(ForensicNet):
        task = "localize"
        multiple = 8

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            m = x.mean(dim=1, keepdim=True) * 4 - 2
            return {"logit": m.flatten(1).amax(dim=1), "mask_logits": m}

    net = PerPixel().eval()
    image = np.random.default_rng(0).integers(0, 256, (300, 410, 3), dtype=np.uint8)
    whole_p, whole_map = infer.predict_image(net, image)
    monkeypatch.setattr(infer, "TILE", 128)
    monkeypatch.setattr(infer, "TILE_PIXELS", 10_000)
    calls = []
    original = infer._predict_whole
    monkeypatch.setattr(infer, "_predict_whole", lambda n, im: calls.append(im.shape) or original(n, im))
    tiled_p, tiled_map = infer.predict_image(net, image)
    assert len(calls) == len(infer.tile_starts(300, 128)) * len(infer.tile_starts(410, 128)) > 1
    assert all(h <= 128 and w <= 128 for h, w, _ in calls)
    assert tiled_map.shape == (300, 410) and np.allclose(tiled_map, whole_map, atol=1e-6)
    assert tiled_p == pytest.approx(whole_p, abs=1e-6)


@pytest.mark.parametrize("name", ["forensic_unet", "face_xray"])
def test_inference_form_folds_batch_norm_and_keeps_the_output(name: str) -> None:
    """What detectors run (learned.infer.for_inference: batch norm folded, channels-last) is the shipped
    network to float rounding, with no batch norm left."""
    import torch

    from unmask.learned.infer import for_inference, predict_image

    golden = _golden_module()
    plain, folded = load_model(name)[0], for_inference(load_model(name)[0])
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    image = golden.model_input(plain, golden.golden_input())
    (p0, m0), (p1, m1) = predict_image(plain, image), predict_image(folded, image)
    assert p1 == pytest.approx(p0, abs=1e-5) and np.abs(m1 - m0).max() < 1e-4
