"""The shipped speech detectors end to end: golden outputs, files of every shape a user has (8 kHz, stereo,
clipped, silent, too short, corrupt, a video's sound track), and what the report says."""

from __future__ import annotations

import io
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from helpers import asset_module

sf = pytest.importorskip("soundfile")
pytest.importorskip("safetensors")

import unmask  # noqa: E402
from unmask.learned.store import list_models  # noqa: E402

ASSETS = Path(__file__).with_name("assets")
GOLDEN = json.loads((ASSETS / "audio_golden.json").read_text())
SHIPPED = {card["name"] for card in list_models()}


def _golden_module():
    return asset_module("make_audio_golden")


def flac(x: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="FLAC")
    return buf.getvalue()


def speechlike(seconds: float, rate: int) -> np.ndarray:
    golden = _golden_module()
    x, r = sf.read(io.BytesIO(golden.golden_clip()), dtype="float32")
    from unmask.audio.signal import to_rate

    x = np.tile(x, int(np.ceil(seconds / (len(x) / r))))[: int(seconds * r)]
    return to_rate(x, r, rate)


def only(report, name: str):
    [entry] = [e for e in report.evidence if e.detector == name]
    return entry


def test_golden_covers_every_shipped_speech_model() -> None:
    assert "lfcc_gmm" in GOLDEN and set(GOLDEN) <= SHIPPED


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_window_scores_match_the_golden_values(name: str) -> None:
    golden = _golden_module()
    from unmask.detectors.registry import Registry

    if not Registry.default(plugins=False).get(name).installed():
        pytest.skip(f"{name} needs an extra that is not installed")
    got = golden.run(name)
    assert got["score"] == pytest.approx(GOLDEN[name]["score"], abs=1e-4)
    assert got["window_scores"] == pytest.approx(GOLDEN[name]["window_scores"], abs=1e-4)


def test_a_clip_gets_a_score_windows_and_a_verdict(tmp_path: Path) -> None:
    path = tmp_path / "clip.flac"
    path.write_bytes(flac(speechlike(12.0, 22050), 22050))
    report = unmask.analyze(path, detectors=["lfcc_gmm"])
    entry = only(report, "lfcc_gmm")
    assert 0.0 <= entry.score <= 1.0 and entry.calibrated
    assert len(entry.details["window_starts"]) == len(entry.details["window_scores"]) >= 20
    assert entry.summary and report.verdict.label in ("authentic", "inconclusive", "manipulated", "ai-generated")
    for seg in entry.segments:
        assert 0.0 <= seg.start_s < seg.end_s <= 12.0 and seg.label == "synthetic speech"


@pytest.mark.parametrize("shape", ["telephone_8k", "stereo_44k", "clipped"])
def test_awkward_but_valid_audio_is_scored(tmp_path: Path, shape: str) -> None:
    if shape == "telephone_8k":
        x, rate = speechlike(5.0, 8000), 8000
    elif shape == "stereo_44k":
        mono = speechlike(5.0, 44100)
        x, rate = np.stack([mono, 0.5 * mono], axis=1), 44100
    else:
        x, rate = np.clip(speechlike(5.0, 16000) * 8, -1, 1), 16000
    path = tmp_path / f"{shape}.flac"
    path.write_bytes(flac(x, rate))
    assert 0.0 <= only(unmask.analyze(path, detectors=["lfcc_gmm"]), "lfcc_gmm").score <= 1.0


@pytest.mark.parametrize("case", ["silent", "too_short", "tone", "noise"])
def test_audio_without_a_voice_gets_no_opinion_with_a_reason(tmp_path: Path, case: str) -> None:
    t = np.arange(16000 * 4) / 16000
    x = {"silent": np.zeros(t.size), "too_short": speechlike(0.3, 16000), "tone": 0.5 * np.sin(2 * np.pi * 440 * t),
         "noise": np.random.default_rng(0).normal(0, 0.1, t.size)}[case].astype(np.float32)
    path = tmp_path / f"{case}.wav"
    sf.write(path, x, 16000)
    entry = only(unmask.analyze(path, detectors=["lfcc_gmm"]), "lfcc_gmm")
    assert entry.score is None and entry.details.get("not_applicable")
    expected = {"silent": "silent", "too_short": "0.30 s", "tone": "no speech", "noise": "no speech"}[case]
    assert expected in entry.summary


def test_corrupt_audio_is_a_clear_error(tmp_path: Path) -> None:
    data = flac(speechlike(4.0, 16000), 16000)
    path = tmp_path / "broken.flac"
    path.write_bytes(data[:200] + bytes(range(256)) * 40)
    report = unmask.analyze(path, detectors=["lfcc_gmm"])
    assert report.errors and report.verdict.label in ("no-opinion", "error")


def _video_with_sound(path: Path, sound: np.ndarray | None, rate: int = 16000) -> None:
    av = pytest.importorskip("av")
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=rate, layout="mono") if sound is not None else None
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 6 * i, np.uint8), format="rgb24")
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if audio is not None:
            for i in range(0, len(sound), 1024):
                chunk = av.AudioFrame.from_ndarray(sound[None, i:i + 1024], format="flt", layout="mono")
                chunk.sample_rate, chunk.pts, chunk.time_base = rate, i, Fraction(1, rate)
                out.mux(audio.encode(chunk))
            out.mux(audio.encode(None))


def test_the_sound_track_of_a_video_is_analysed(tmp_path: Path) -> None:
    with_sound, silent_film = tmp_path / "talk.mp4", tmp_path / "mute.mp4"
    _video_with_sound(with_sound, speechlike(4.0, 16000))
    _video_with_sound(silent_film, None)
    entry = only(unmask.analyze(with_sound, detectors=["lfcc_gmm"]), "lfcc_gmm")
    assert 0.0 <= entry.score <= 1.0 and entry.details["windows"] >= 4
    mute = only(unmask.analyze(silent_film, detectors=["lfcc_gmm"]), "lfcc_gmm")
    assert mute.score is None and "no audio track" in mute.summary


def test_a_flagged_clip_shorter_than_one_window_is_one_segment_over_it() -> None:
    from unmask.audio.windows import ScoreTrack
    from unmask.detectors.audio._track import evidence

    one = ScoreTrack(np.array([0.0]), np.array([2.0]), np.array([1.0]), 1.6, 1.6, speech=np.array([1.0]))
    [seg] = evidence(one, "x").segments
    assert (seg.start_s, seg.end_s) == (0.0, 1.6)
