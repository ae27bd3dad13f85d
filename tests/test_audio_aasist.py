"""AASIST (unmask.audio.aasist) and its fitter (unmask.train.aasist): shapes at any length, the paper's sizes,
the frame-model wrapper inside score_track, the arrays round trip, and a tiny fit that learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unmask.audio.aasist import (  # noqa: E402
    FRAME,
    MIN_SAMPLES,
    Aasist,
    AasistModel,
    parameter_count,
    round_to_half,
    sinc_bank,
)
from unmask.audio.windows import score_track  # noqa: E402
from unmask.train.audio import ARCHS, Clip, fitter  # noqa: E402
from unmask.train.audio import window_logits as shared_window_logits  # noqa: E402

RATE = 16000


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def voice(seconds: float, seed: int, hiss: float = 0.0) -> np.ndarray:
    """A voiced-speech stand-in: harmonics of a gliding ~120-220 Hz pitch under a syllable-rate envelope,
    with `hiss` of noise above 5 kHz (the synthetic class of the tiny fit)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    f0 = rng.uniform(120, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 16))
    x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6))) * 0.1
    if hiss:
        spec = np.fft.rfft(rng.standard_normal(t.size))
        spec[np.fft.rfftfreq(t.size, 1 / RATE) < 5000] = 0
        x = x + hiss * np.fft.irfft(spec, t.size) / 0.7
    return x.astype(np.float32)


def trained_looking(size: str, seed: int = 0) -> Aasist:
    """A network with non-trivial batch-norm statistics (a few train-mode passes), rounded, in eval mode."""
    torch.manual_seed(seed)
    net = Aasist(size)
    with torch.no_grad():
        for i in range(2):
            net(torch.from_numpy(np.stack([voice(1.0, seed + i), voice(1.0, seed + i + 7, 0.05)])))
    return round_to_half(net).eval()


def test_sizes_match_the_paper() -> None:
    assert parameter_count(Aasist("full")) == 297_866  # the paper: ~297k
    assert parameter_count(Aasist("light")) == 85_306  # AASIST-L: ~85k
    with pytest.raises(ValueError, match="unknown AASIST size"):
        Aasist("huge")


@pytest.mark.parametrize("size", ["light", "full"])
def test_any_length_from_one_second(size: str) -> None:
    net = Aasist(size).eval()
    with torch.no_grad():
        for seconds, n in ((1.0, 2), (2.0, 2), (4.0, 1)):
            x = torch.from_numpy(np.stack([voice(seconds, i) for i in range(n)]))
            z = net(x)
            assert z.shape == (n, 2) and torch.isfinite(z).all()
            assert torch.equal(z[:, 1] - z[:, 0], net.log_odds(x))
        assert net(torch.zeros(1, MIN_SAMPLES)).shape == (1, 2)
        with pytest.raises(ValueError, match="samples or more"):
            net(torch.zeros(1, MIN_SAMPLES - 1))


def test_sinc_front_end_is_a_mel_spaced_band_pass_bank() -> None:
    bank = sinc_bank()
    assert bank.shape == (70, 129) and np.allclose(bank, bank[:, ::-1])  # symmetric (linear phase)
    gain = np.abs(np.fft.rfft(bank, 4096, axis=1))
    peaks = np.fft.rfftfreq(4096, 1 / RATE)[gain.argmax(axis=1)]
    assert np.all(np.diff(peaks[5:]) > 0) and peaks[-1] > 7000  # ascending centres up to the top band
    assert np.all(np.diff(peaks[35:]) > np.diff(peaks[5:36]).mean())  # wider spacing up high (mel)


def test_wrapper_logit_is_the_network_on_the_window_and_arrays_round_trip() -> None:
    model = AasistModel(trained_looking("light"), scale=0.75, offset=-0.25)
    x = voice(2.0, 3, 0.02)
    frames = model.features(x)
    assert frames.shape == (200, FRAME) and model.frame_s == 0.01
    with torch.no_grad():
        direct = 0.75 * float(model.net.log_odds(torch.from_numpy(x)[None])[0]) - 0.25
    assert model.logit(frames) == pytest.approx(direct, abs=1e-5)
    # a shorter window (a short clip scored whole) is repeated up to the training window
    short = voice(1.2, 4)
    assert model.logit(model.features(short)) == pytest.approx(model.logit(model.features(np.resize(short, 32000))),
                                                               abs=1e-5)
    safetensors = pytest.importorskip("safetensors.numpy")
    arrays = safetensors.load(safetensors.save(model.arrays()))  # through the file format the detectors read
    assert {a.dtype for k, a in arrays.items() if k.endswith("weight")} == {np.dtype(np.float16)}
    assert all(a.flags.c_contiguous for a in model.arrays().values())  # safetensors writes the raw buffer
    back = AasistModel.from_arrays(arrays)
    assert (back.net.size, back.scale, back.offset, back.window_s) == ("light", 0.75, -0.25, 2.0)
    assert back.logit(frames) == model.logit(frames)  # parameters were rounded to float16 already
    arrays.pop("net.out.bias")
    with pytest.raises(ValueError, match="do not match"):
        AasistModel.from_arrays(arrays)


def test_score_track_runs_through_the_wrapper() -> None:
    model = AasistModel(trained_looking("light", 5))
    audio = voice(3.3, 6)
    track = score_track(iter([audio[:10000], audio[10000:]]), model)  # blocks cut off the 10-ms grid
    assert np.allclose(track.starts, [0.0, 0.5, 1.0, 1.3]) and track.scored.all()
    for start, z in zip(track.starts, track.logits, strict=True):
        at = round(start * RATE)
        assert z == pytest.approx(model.logit(model.features(audio[at:at + 32000])), abs=1e-4)
    import soundfile as sf

    from unmask.train.aasist import window_logits

    speech, _ = sf.read(Path(__file__).with_name("assets") / "speech_espeak.flac", dtype="float32")
    clip = Clip(speech[: 4 * RATE], 0, "g", "c")  # trainers score the windows that hold speech, as detectors do
    ours, shared = window_logits(model, clip), shared_window_logits(model, clip)
    assert ours.size == shared.size > 0 and np.allclose(ours, shared, atol=1e-4)


def test_crops_have_sound_and_repeat_short_clips() -> None:
    from unmask.train.aasist import crop, crop_starts

    audio = np.concatenate([np.zeros(3 * RATE, np.float32), voice(2.5, 8)])
    clip = Clip(audio, 1, "g", "c")
    starts = crop_starts(clip, 32000)
    assert starts.min() >= RATE and np.all(starts % FRAME == 0) and starts.max() == audio.size - 32000
    rng = np.random.default_rng(0)
    assert all(np.abs(crop(clip, 32000, rng)).max() > 0.01 for _ in range(5))
    short = Clip(voice(0.7, 9), 0, "g", "s")
    assert np.array_equal(crop(short, 32000, rng), np.resize(short.audio, 32000))


def test_aasist_is_a_registered_audio_architecture_and_checks_its_kwargs() -> None:
    from unmask.train.aasist import fit, options

    assert ARCHS["aasist"] == "unmask.train.aasist:fit" and fitter("aasist") is fit
    with pytest.raises(ValueError, match="unknown aasist kwargs"):
        options({"epoch": 3})
    with pytest.raises(ValueError, match="calibration must be"):
        options({"calibration": "platt"})
    assert options({"calibration": "none"})["calibration"] == "none"


def test_calibration_none_is_one_fit_scored_by_the_network_log_odds() -> None:
    from unmask.train.aasist import fit, options, train_net

    clips = [Clip(voice(0.6, i, 0.03 * (i % 2)), i % 2, f"g{i}", f"c{i}") for i in range(4)]
    kwargs = {"size": "light", "epochs": 1, "batch_size": 2, "window_s": 0.25, "device": "cpu", "calibration": "none"}
    model = fit(clips, kwargs, 0, lambda s: None)
    alone = train_net(clips, np.arange(4), options(kwargs), 0, lambda s: None)
    assert (model.scale, model.offset) == (1.0, 0.0)
    assert all(np.array_equal(v, alone.arrays()[k]) for k, v in model.arrays().items() if k != "calibration")


def test_a_tiny_fit_separates_two_synthetic_classes() -> None:
    import soundfile as sf

    from unmask.train.aasist import fit

    # windows are scored where Silero VAD hears speech, so the classes are the eSpeak clip clean and hissed
    speech, _ = sf.read(Path(__file__).with_name("assets") / "speech_espeak.flac", dtype="float32")
    hiss = np.random.default_rng(0).normal(0, 0.03, speech.size).astype(np.float32)

    def piece(start_s: float, fake: bool) -> np.ndarray:
        at = round(start_s * RATE)
        return speech[at:at + RATE] + (hiss[at:at + RATE] if fake else 0)

    clips = [Clip(piece(i, i % 2 == 1), i % 2, f"g{i // 2}", f"c{i}") for i in range(8)]
    kwargs = {"size": "light", "epochs": 8, "batch_size": 4, "lr": 3e-3, "window_s": 0.25, "calibration_folds": 2,
              "device": "cpu"}
    model = fit(clips, kwargs, 0, lambda s: None)
    assert model.scale > 0 and model.window_s == 0.25
    real = [model.logit(model.features(piece(0.5 + 2 * i, False))) for i in range(3)]
    fake = [model.logit(model.features(piece(0.5 + 2 * i, True))) for i in range(3)]
    assert min(fake) > max(real)  # ranked apart (the calibration of 8 one-second clips is too rough to centre)


def test_training_repeats_with_the_seed() -> None:
    from unmask.train.aasist import options, train_net

    clips = [Clip(voice(0.6, i, 0.03 * (i % 2)), i % 2, f"g{i}", f"c{i}") for i in range(4)]
    opts = options({"size": "light", "epochs": 1, "batch_size": 2, "window_s": 0.25, "device": "cpu"})
    runs = [train_net(clips, np.arange(4), opts, seed, lambda s: None).arrays() for seed in (0, 0, 1)]
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not np.array_equal(runs[0]["net.out.weight"], runs[2]["net.out.weight"])
