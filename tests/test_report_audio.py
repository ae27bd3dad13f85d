"""Speech results shown to people: the spectrogram picture of the sound (size, silence, corrupt input, an hour in
bounded time), the analysis keeping it as the report's audio preview, the HTML report's "Speech over time"
section (spectrogram, score lane per detector, flagged stretches as m:ss.s, the detector's sentence), and the
terminal listing the flagged stretches."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from rich.console import Console

from unmask.analysis import Analyzer
from unmask.audio.signal import RATE, blocks
from unmask.audio.windows import score_track
from unmask.detectors import Detector, Evidence, Registry
from unmask.detectors.segments import segments
from unmask.errors import NotApplicable
from unmask.media import load
from unmask.report.html import MAX_CELLS, render_html
from unmask.report.model import EvidenceEntry, MediaInfo, Report, SegmentModel, TrackModel, Verdict
from unmask.report.spectrogram import HEIGHT, PREVIEW_KEY, WIDTH, audio_picture, clock, spectrogram
from unmask.report.terminal import print_summary

pytest.importorskip("soundfile")

SUMMARY = "The voice shows the spectral signature of synthetic speech (probability 0.85) between 0:04.2-0:06.2."


def _tone(seconds: float, freq: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _speech_report(duration: float = 10.0, picture: bool = True) -> Report:
    """An audio report with one speech detector: 17 windows of 2 s every 0.5 s, two skipped as too quiet,
    windows 7-9 above 0.5 (one flagged stretch, 4.25-6.25 s)."""
    starts = [0.5 * i for i in range(17)]
    scores = [0.1] * 5 + [None, None] + [0.8, 0.9, 0.85] + [0.2] * 7
    seg = SegmentModel(start_s=4.25, end_s=6.25, score=0.85, label="synthetic speech")
    entry = EvidenceEntry(detector="lfcc_gmm", score=0.85, calibrated=True, summary=SUMMARY, segments=[seg],
                          details={"window_s": 2.0, "hop_s": 0.5, "window_starts": starts, "window_scores": scores,
                                   "skipped_quiet": 2, "band": "clear"})
    report = Report(media=MediaInfo(path="voice.flac", kind="audio", format="flac", duration_s=duration),
                    verdict=Verdict(label="ai-generated", probability=0.85, calibrated=True),
                    reasons=[SUMMARY], evidence=[entry])
    if picture:
        report.previews[PREVIEW_KEY] = spectrogram([_tone(duration, 440.0)], duration)
    return report


# ------------------------------------------------------------------------------------------- spectrogram


def test_spectrogram_has_the_picture_size_and_puts_a_tone_at_its_pitch():
    x = np.concatenate([_tone(4.0, 1000.0), np.zeros(2 * RATE, np.float32), _tone(4.0, 6000.0)])
    pic = spectrogram([x[:50_000], x[50_000:90_001], x[90_001:]], 10.0)  # blocks cut off the frame grid
    assert pic.shape == (HEIGHT, WIDTH, 3) and pic.dtype == np.uint8
    bright = pic.sum(axis=2)
    row = lambda hz: round((1 - hz / 8000) * (HEIGHT - 1))  # noqa: E731 - 0 Hz is the bottom row
    assert abs(int(np.argmax(bright[:, 100])) - row(1000)) <= 2  # at 1 s
    assert abs(int(np.argmax(bright[:, 800])) - row(6000)) <= 2  # at 9 s
    assert bright[:, 450].max() < 30  # the silence at 5 s is dark


def test_spectrogram_of_silence_is_dark_and_of_nothing_is_none():
    dark = spectrogram([np.zeros(3 * RATE, np.float32)], 3.0)
    assert dark.shape == (HEIGHT, WIDTH, 3) and (dark == dark[0, 0]).all() and dark[0, 0].sum() < 10
    assert spectrogram([], 3.0) is None
    assert spectrogram([_tone(1.0, 440.0)], 0.0) is None
    short = spectrogram([_tone(0.01, 440.0)], 0.01)  # shorter than one spectrum: drawn from one padded spectrum
    assert short.shape == (HEIGHT, WIDTH, 3)


def test_an_hour_is_drawn_quickly_from_blocks():
    block = (0.05 * np.random.default_rng(0).standard_normal(30 * RATE)).astype(np.float32)
    t0 = time.perf_counter()
    pic = spectrogram((block for _ in range(120)), 3600.0)
    assert time.perf_counter() - t0 < 5.0
    assert pic.shape == (HEIGHT, WIDTH, 3) and pic.std() > 0  # every column holds some of the hour's noise


def test_audio_picture_of_real_files_and_of_ones_that_do_not_decode(media_files):
    flac = load(media_files.audio("tone.flac", _tone(3.0, 2000.0), RATE, "FLAC"))
    assert audio_picture(flac).shape == (HEIGHT, WIDTH, 3)
    video = load(media_files.video("silent.mp4", seconds=1.0))  # no sound track: no picture, no error
    assert audio_picture(video) is None
    wav = media_files.wav("cut.wav", _tone(3.0, 440.0))
    media = load(wav)
    wav.write_bytes(wav.read_bytes()[:40])  # the file breaks after it was loaded
    assert audio_picture(media) is None


# -------------------------------------------------------------------------------------------- analysis


class _HighPitch:
    """A FrameModel for the tests: a window is 'synthetic' when most of its energy lies above 2 kHz."""

    frame_s = 0.02

    def features(self, x: np.ndarray) -> np.ndarray:
        n = len(x) // 320
        spec = np.abs(np.fft.rfft(x[:n * 320].reshape(n, 320), axis=1)) ** 2
        return (spec[:, 40:].sum(axis=1) / (spec.sum(axis=1) + 1e-12))[:, None]

    def logit(self, frames: np.ndarray) -> float:
        return float(10 * (frames.mean() - 0.5))


class HighPitch(Detector):
    """A tiny speech detector with the evidence shape of unmask.detectors.audio (score track in details)."""

    name = "high_pitch"
    modalities = ("audio", "video")
    outputs = ("score", "segments")

    def predict(self, media):
        track = score_track(blocks(media), _HighPitch())
        if not track.scored.any():
            raise NotApplicable("no window holds enough sound to judge")
        return track

    def to_evidence(self, native, media):
        p = native.probabilities()
        found = segments((native.starts + native.window_s / 2).tolist(), p.tolist(), 0.5, native.duration_s,
                         "synthetic speech")
        score = float(max([np.nanmean(p), *(s.score for s in found)]))
        return Evidence(score=score, summary=f"High-pitched sound (probability {score:.2f}).", segments=found,
                        details={"window_s": native.window_s, "hop_s": 0.5,
                                 "window_starts": native.starts.tolist(),
                                 "window_scores": [None if np.isnan(v) else float(v) for v in p]})


def _analyzer(**kw) -> Analyzer:
    return Analyzer(detectors=["high_pitch"], registry=Registry([HighPitch]), **kw)


def test_analysis_draws_the_sound_and_the_html_shows_it_with_the_score_lane(media_files):
    x = np.concatenate([_tone(3.0, 300.0), np.zeros(2 * RATE, np.float32), _tone(3.0, 3000.0), _tone(2.0, 300.0)])
    path = media_files.audio("voice.flac", x, RATE, "FLAC")
    report = _analyzer().analyze(path)
    assert not report.errors, report.errors
    assert report.previews[PREVIEW_KEY].shape == (HEIGHT, WIDTH, 3)
    entry = report.evidence[0]
    assert len(entry.segments) == 1 and 4.5 <= entry.segments[0].start_s <= 5.5
    assert None in entry.details["window_scores"]  # the silence was skipped, not scored
    page = render_html([report])
    section = page[page.index("Speech over time"):]
    assert re.search(r'<img class="spectrogram" src="data:image/jpeg;base64,', section)
    assert 'aria-label="window scores of high_pitch"' in section
    g = entry.segments[0]
    assert f"flagged: {clock(g.start_s)}–{clock(g.end_s)} ({g.score:.0%})" in section
    assert "too quiet to judge" in section and entry.summary in section
    assert "no detector produced a map" not in page  # the spectrogram is not shown as an image part
    assert PREVIEW_KEY not in _analyzer(spectrograms=False).analyze(path).previews


def test_a_silent_file_and_a_video_without_sound_do_not_break_the_report(media_files):
    silent = _analyzer().analyze(media_files.wav("silent.wav", np.zeros(3 * RATE, np.float32)))
    assert not any(e.fatal for e in silent.errors) and silent.previews[PREVIEW_KEY].shape == (HEIGHT, WIDTH, 3)
    assert silent.evidence[0].details.get("not_applicable")  # nothing to score: the picture alone is shown
    page = render_html([silent])
    assert '<img class="spectrogram"' in page and "window scores of" not in page
    video = _analyzer().analyze(media_files.video("mute.mp4", seconds=1.0))
    assert PREVIEW_KEY not in video.previews and video.verdict is not None
    assert "Speech over time" not in render_html([video])


# ------------------------------------------------------------------------------------------------- HTML


def test_html_speech_section_from_a_report():
    page = render_html([_speech_report()])
    section = page[page.index("<h3>Speech over time</h3>"):page.index("What each detector found")]
    assert "<b>lfcc_gmm</b> · score 85% · flagged: 0:04.2–0:06.2 (85%)" in section
    assert SUMMARY in section
    assert '<div class="axis"><span>0:00.0</span><span>0:10.0</span></div>' in section
    cells = re.findall(r'<rect x="([\d.]+)" y="0" width="([\d.]+)" height="8" fill="([^"]+)"><title>([^<]+)</title>',
                       section)
    assert len(cells) == 17
    assert cells[0][0] == "7.5" and cells[0][3] == "0:00.8–0:01.2: 10%"  # the hop around the first centre
    assert cells[5][2] == "#c8ccd4" and cells[5][3].endswith("too quiet to judge")
    assert cells[8][2] == "hsl(12, 65%, 45%)" and cells[8][3].endswith(": 90%")
    assert re.search(r'<rect x="42.5" y="9" width="20.0" height="3" fill="#c0392b">', section)  # the stretch


def test_html_speech_lanes_of_an_hour_are_merged_and_text_only_without_a_picture():
    report = _speech_report(3600.0, picture=False)
    starts = [0.5 * i for i in range(7197)]
    scores = [0.1] * 7197
    scores[3000] = 0.95
    report.evidence[0].details.update(window_starts=starts, window_scores=scores)
    page = render_html([report])
    section = page[page.index("<h3>Speech over time</h3>"):page.index("What each detector found")]
    titles = re.findall(r"<title>([^<]+)</title>", section)
    assert len(titles) == MAX_CELLS and "highest 95%" in " ".join(titles)
    assert "spectrogram" not in section and "<span>60:00.0</span>" in section


def test_face_timelines_keep_their_cells():
    track = TrackModel(id=0, score=0.3, times=[0.0, 0.5, 1.0], frame_scores=[0.1, 0.8, 0.1],
                       boxes=[(0.0, 0.0, 8.0, 8.0)] * 3, segments=[])
    report = Report(media=MediaInfo(kind="video", duration_s=2.0),
                    verdict=Verdict(label="inconclusive", probability=0.4, calibrated=False),
                    evidence=[EvidenceEntry(detector="face_xray", score=0.3, tracks=[track])])
    page = render_html([report])
    assert "<title>0.50 s: 80%</title>" in page and 'aria-label="frame scores of track 0"' in page
    assert "Speech over time" not in page


# --------------------------------------------------------------------------------------------- terminal


def test_terminal_lists_the_flagged_stretches():
    console = Console(record=True, width=140)
    report = _speech_report(picture=False)
    report.evidence[0].segments.append(SegmentModel(start_s=75.0, end_s=80.5, score=0.7))
    print_summary([report], console)
    text = console.export_text()
    assert "speech flagged by lfcc_gmm: 0:04.2–0:06.2 (85%), 1:15.0–1:20.5 (70%)" in text
