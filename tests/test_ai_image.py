"""AI-generated image detection: the NPR and spectral networks, the simulated up-sampling source, the
shipped detectors `npr` and `spectral_residual`."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import png

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import unmask  # noqa: E402
from unmask.errors import NotApplicable  # noqa: E402
from unmask.learned.layers import npr_residual  # noqa: E402
from unmask.learned.net import build  # noqa: E402
from unmask.train.sources.upsample import UpsampleSource, decode_fake, prepare_host  # noqa: E402


@pytest.mark.parametrize("arch", ["npr", "spectral"])
def test_forward_gives_one_logit_per_image(arch):
    net = build(arch).eval()
    with torch.inference_mode():
        out = net(torch.rand(3, 3, 96, 128))
    assert set(out) == {"logit"} and out["logit"].shape == (3,)
    assert torch.isfinite(out["logit"]).all()


def test_spectral_refuses_an_image_smaller_than_a_tile():
    with pytest.raises(ValueError, match="at least"):
        build("spectral", {"tile": 32})(torch.rand(1, 3, 20, 64))


def test_npr_residual_is_zero_on_a_nearest_upsampled_image_only():
    low = torch.rand(2, 3, 16, 24)
    up = low.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
    assert npr_residual(up).abs().max() == 0
    assert npr_residual(torch.rand(2, 3, 32, 48)).abs().mean() > 0.1


def test_spectral_peak_features_see_a_period_two_pattern():
    net = build("spectral", {"tile": 32}).eval()
    flat = torch.full((1, 3, 128, 128), 0.5) + 0.02 * torch.rand(1, 3, 128, 128)
    checker = flat.clone()
    checker[..., ::2, ::2] += 0.05  # a period-2 grid: energy at (N/2, N/2)
    peaks = net.peaks
    at = peaks.index((16, 16))
    offset = net.n_bins + 1
    f_flat, f_check = net.features(flat)[0, offset + at], net.features(checker)[0, offset + at]
    assert f_check > f_flat + 2.0


def _source(tmp_path, photo, **spec) -> UpsampleSource:
    path = tmp_path / "photo.png"
    path.write_bytes(png(photo))
    return UpsampleSource([path], 8, {"size": 96, **spec})


def test_upsample_source_is_deterministic_for_a_given_rng(tmp_path, photo):
    src = _source(tmp_path, photo)
    a, b = src.get(3, np.random.default_rng(11)), src.get(3, np.random.default_rng(11))
    assert a.label == b.label and np.array_equal(a.image, b.image) and a.image.shape == (96, 96, 3)
    others = [src.get(3, np.random.default_rng(s)).image for s in range(12, 16)]
    assert any(not np.array_equal(a.image, o) for o in others)
    labels = {src.get(0, np.random.default_rng(s)).label for s in range(20)}
    assert labels == {0, 1}


def _npr_energy(rgb: np.ndarray) -> float:
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1).unsqueeze(0).float()
    return float(npr_residual(x).abs().mean())


def test_simulated_fakes_have_less_neighbour_residual_than_their_reals(tmp_path, photo):
    src = _source(tmp_path, photo, jpeg_p=0.0, blur_p=0.0)
    ratios = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        host = prepare_host(photo, 96, rng)
        real, fake = src.make(host, False, rng), src.make(host, True, rng)
        ratios.append(_npr_energy(fake) / _npr_energy(real))
    assert np.median(ratios) < 0.8


def test_decoder_keeps_the_size_and_reports_its_layers(photo):
    out, info = decode_fake(photo[:64, :64], 4, ("transposed",), np.random.default_rng(0))
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert info["stages"] == ["transposed", "transposed"] and info["factor"] == 4


@pytest.mark.parametrize("name", ["npr", "spectral_residual"])
def test_detectors_run_the_shipped_model(name, photo):
    from unmask.detectors.registry import Registry

    detector = Registry.default(plugins=False).get(name)()
    media = unmask.load(png(photo[100:228, 150:278]))
    ev = detector.analyze(media)
    assert 0.0 <= ev.score <= 1.0
    assert ev.attribution == {"ai-generated": pytest.approx(ev.score)}
    assert ev.summary.endswith(".") and "probability" in ev.summary
    assert ev.details["model"] == detector.model_name and ev.details["model_digest"]


@pytest.mark.parametrize("name", ["npr", "spectral_residual"])
def test_detectors_refuse_a_tiny_image(name, photo):
    from unmask.detectors.registry import Registry

    detector = Registry.default(plugins=False).get(name)()
    with pytest.raises(NotApplicable, match="at least"):
        detector.predict(unmask.load(png(photo[:40, :40])))
