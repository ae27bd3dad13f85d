"""The speech building blocks (unmask.audio): block decoding at 16 kHz, VAD, LFCC, GMM scoring, windows."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from unmask.audio import gmm, lfcc, signal, vad, windows
from unmask.media import load


def voice(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A voiced-speech stand-in: a 120-Hz harmonic series under slow syllable-rate amplitude modulation."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 10 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t + np.random.default_rng(seed).uniform(0, 6))
    return (0.2 * x * envelope).astype(np.float32)


def encode(x: np.ndarray, rate: int, fmt: str = "FLAC") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100])
def test_blocks_cover_the_audio_at_16k_without_seams(rate: int) -> None:
    x = voice(7.3, rate)
    whole = signal.to_rate(x, rate)
    joined = np.concatenate(list(signal.blocks(load(encode(x, rate)), block_s=2.0)))
    assert abs(joined.size - whole.size) <= 2
    n = min(joined.size, whole.size)
    # away from the file's ends, block-wise resampling equals resampling the whole signal
    assert np.max(np.abs(joined[800:n - 800] - whole[800:n - 800])) < 2e-3


def test_blocks_mix_stereo_and_decode_compressed_audio() -> None:
    x = voice(3.0, 16000)
    stereo = np.stack([x, -x * 0.0 + x], axis=1)
    assert np.allclose(signal.load(load(encode(stereo, 16000, "WAV"))), x, atol=1e-4)
    av = pytest.importorskip("av")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as out:
        stream = out.add_stream("mp3", rate=22050)
        frame = av.AudioFrame.from_ndarray(voice(3.0, 22050)[None, :], format="flt", layout="mono")
        frame.sample_rate = 22050
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    decoded = signal.load(load(buf.getvalue()))
    assert abs(decoded.size / signal.RATE - 3.0) < 0.1


def test_load_stops_at_max_s() -> None:
    assert signal.load(load(encode(voice(5.0, 16000), 16000)), max_s=2.0).size == 32000


def test_vad_marks_sound_not_silence() -> None:
    x = np.concatenate([np.zeros(16000, np.float32), voice(1.0, 16000), np.zeros(16000, np.float32)])
    on = vad.active(x)
    assert on[110:190].all() and not on[:90].any() and not on[-80:].any()


def test_lfcc_shape_and_filterbank() -> None:
    x = voice(1.0, 16000) + np.random.default_rng(0).normal(0, 1e-3, 16000).astype(np.float32)
    f = lfcc.lfcc(x)
    assert f.shape == (1 + (16000 - lfcc.WIN) // lfcc.HOP, 59) and np.isfinite(f).all()
    assert np.allclose(lfcc.lfcc(0.1 * x), f, atol=1e-3)  # level-free: a gain moves only the dropped c0
    fb = lfcc.linear_filterbank()
    assert fb.shape == (20, 257) and np.allclose(fb.max(axis=1), 1.0, atol=0.05)
    basis = lfcc.dct_matrix(20, 20)
    assert np.allclose(basis @ basis.T, np.eye(20), atol=1e-9)


def test_gmm_log_likelihood_matches_sklearn() -> None:
    from sklearn.mixture import GaussianMixture

    x = np.random.default_rng(0).normal(size=(500, 6))
    g = GaussianMixture(4, covariance_type="diag", random_state=0).fit(x)
    ours = gmm.DiagGmm(g.weights_, g.means_, g.covariances_)
    assert np.allclose(ours.log_likelihood(x), g.score_samples(x), atol=1e-8)


class Loudness:
    """A toy frame model: frame = mean square level; a window's logit = how loud it is against 0.01."""

    frame_s = 0.01

    def features(self, x: np.ndarray) -> np.ndarray:
        n = x.size // 160
        return np.square(x[:n * 160].reshape(n, 160)).mean(axis=1, keepdims=True)

    def logit(self, frames: np.ndarray) -> float:
        return float(np.log(frames.mean() / 0.01))


def test_score_track_is_the_same_in_blocks_and_whole() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([voice(10.0, 16000), 3 * voice(4.0, 16000, 1), voice(6.0, 16000, 2)])
    x += rng.normal(0, 1e-3, x.size).astype(np.float32)
    whole = windows.score_track(iter([x]), Loudness())
    parts = windows.score_track(iter(np.array_split(x, 7)), Loudness())
    assert np.allclose(whole.starts, parts.starts) and np.allclose(whole.logits, parts.logits, atol=1e-3)
    assert whole.starts[0] == 0 and whole.starts[-1] + whole.window_s == pytest.approx(20.0)
    loud = whole.starts[np.argmax(whole.logits)]
    assert 9.5 <= loud <= 12.5


def test_score_track_skips_silence_and_scores_a_short_clip_whole() -> None:
    x = np.concatenate([voice(3.0, 16000), np.zeros(5 * 16000, np.float32)])
    track = windows.score_track(iter([x]), Loudness())
    assert track.scored[:2].all() and not track.scored[-3:].any()
    short = windows.score_track(iter([voice(1.2, 16000)]), Loudness())
    assert len(short.starts) == 1 and short.window_s == pytest.approx(1.2)
    assert windows.score_track(iter([voice(0.3, 16000)]), Loudness()).starts.size == 0


def test_score_track_keeps_memory_bounded() -> None:
    """A long stream of blocks keeps only about one block of frames, whatever its length."""
    held = []

    class Spy(Loudness):
        def logit(self, frames: np.ndarray) -> float:
            held.append(frames.base.size if frames.base is not None else frames.size)
            return super().logit(frames)

    blocks = (voice(30.0, 16000, i) for i in range(20))  # 10 minutes
    track = windows.score_track(blocks, Spy())
    assert track.duration_s == pytest.approx(600.0) and max(held) < 2 * 3000 + 400


def test_splice_inserts_at_the_stated_span_level_matched() -> None:
    from unmask.audio import splice

    host, insert = voice(4.0, 16000), 4 * voice(1.5, 16000, 3)
    out, (a, b) = splice.splice(host, insert, 16000)
    assert (a, b) == (16000, 16000 + insert.size) and out.size == host.size + insert.size
    assert np.allclose(out[:a], host[:a]) and np.allclose(out[b:], host[a:])
    assert splice.active_rms(out[a:b]) == pytest.approx(splice.active_rms(host), rel=0.05)
    assert abs(out[a]) < 1e-3 and abs(out[b - 1]) < 1e-3  # faded in and out
    quiet = np.concatenate([np.zeros(8000, np.float32), voice(1.0, 16000), np.zeros(8000, np.float32)])
    span = splice.speech_span(quiet, 10 * 16000)
    assert 15000 <= span.size <= 16000 + 2400  # the VAD hangover keeps up to 0.1 s more


def test_clip_probability_is_the_mean_unless_a_long_stretch_is_flagged() -> None:
    def track(p: list[float]) -> windows.ScoreTrack:
        logits = np.log(np.array(p) / (1 - np.array(p)))
        return windows.ScoreTrack(np.arange(len(p)) * 0.5, logits, np.ones(len(p)), 2.0, len(p) * 0.5 + 1.5)

    flat = [0.2] * 20
    assert track(flat).clip_probability() == pytest.approx(0.2)
    three = flat[:8] + [0.9] * 3 + flat[11:]  # 1.5 s flagged: averaged in
    assert track(three).clip_probability() == pytest.approx(np.mean(three))
    four = flat[:8] + [0.9] * 4 + flat[12:]  # 2 s flagged: the stretch speaks for the clip
    assert track(four).clip_probability() == pytest.approx(0.9)
    broken = [*flat[:8], 0.9, 0.9, np.nan, 0.9, 0.9, *flat[13:]]  # a skipped window ends a stretch
    assert track(broken).clip_probability() == pytest.approx(np.nanmean(broken))
    assert np.isnan(track([np.nan] * 3).clip_probability())


def test_segments_end_at_an_unscored_window() -> None:
    from unmask.detectors.segments import segments

    out = segments([0.0, 0.5, 1.0, 1.5, 2.0], [0.9, 0.8, float("nan"), 0.7, 0.1])
    assert [(s.start_s, s.end_s) for s in out] == [(0.0, 0.75), (1.25, 1.75)]
    assert all(np.isfinite(s.score) for s in out)
