"""Face detectors on videos the tests make: per-track timelines, segments, the HTML timeline.

The clip is the astronaut's head drifting over a gradient for 4 s at 10 fps; from 1.5 s to 2.5 s her face
is replaced by a colour-shifted, blurred copy blended inside her landmark hull, the blend changing every
frame (tests/clips.py). The timeline must mark that part and nothing else.
"""

from __future__ import annotations

import numpy as np
import pytest

import unmask
from clips import face_frame, mp4, swap_clip
from unmask.faces.timeline import segments

pytest.importorskip("dlib")
pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")

FORGED = (1.5, 2.5)


@pytest.fixture(scope="module")
def head() -> np.ndarray:
    return np.ascontiguousarray(skdata.astronaut()[30:230, 120:320])


@pytest.fixture(scope="module")
def swapped(head: np.ndarray, tmp_path_factory: pytest.TempPathFactory):
    from unmask.faces import default_finder

    landmarks = max(default_finder().find(head), key=lambda f: f.area).landmarks
    path = tmp_path_factory.mktemp("clips") / "swap.mp4"
    path.write_bytes(swap_clip(head, landmarks))
    return path


@pytest.fixture(scope="module")
def temporal(swapped):
    return unmask.Analyzer(detectors=["face_temporal"]).analyze(swapped)


def _overlap(seg, span) -> float:
    return max(0.0, min(seg.end_s, span[1]) - max(seg.start_s, span[0]))


def test_segments_are_runs_with_half_step_edges() -> None:
    times = [0.0, 0.5, 1.0, 1.5, 2.0]
    out = segments(times, [0.1, 0.7, 0.9, 0.2, 0.8], duration=2.2)
    assert [(s.start_s, s.end_s) for s in out] == [(0.25, 1.25), (1.75, 2.2)]
    assert out[0].score == pytest.approx(0.8) and out[1].score == pytest.approx(0.8)
    assert segments(times, [0.0] * 5) == [] and segments([], []) == []


def test_temporal_detector_marks_the_swapped_part(temporal) -> None:
    (entry,) = temporal.evidence
    (track,) = entry.tracks
    assert len(track.times) == len(track.frame_scores) == len(track.boxes) == 32
    assert track.thumbnail.startswith("data:image/jpeg;base64,")
    forged = [s for t, s in zip(track.times, track.frame_scores, strict=True) if FORGED[0] <= t < FORGED[1]]
    clean = [s for t, s in zip(track.times, track.frame_scores, strict=True)
             if t < FORGED[0] - 0.15 or t > FORGED[1] + 0.05]
    assert min(forged) > 0.5 > max(clean)
    assert entry.segments == track.segments
    covered = sum(_overlap(s, FORGED) for s in track.segments)
    outside = sum(s.end_s - s.start_s for s in track.segments) - covered
    assert covered > 0.8 * (FORGED[1] - FORGED[0]) and outside < 0.3
    assert 0.0 < entry.score < 0.5  # a quarter of the track is forged: its mean stays low


def test_still_face_gives_no_segment(head) -> None:
    clip = mp4([face_frame(head, 20 + i) for i in range(30)])
    report = unmask.Analyzer(detectors=["face_temporal"], options={"face_temporal": {"frames": 12}}).analyze(clip)
    (entry,) = report.evidence
    assert entry.tracks[0].segments == [] and entry.score < 0.2


def test_no_face_is_not_applicable_and_html_draws_the_timeline(temporal, head) -> None:
    empty = unmask.Analyzer(detectors=["face_temporal"]).analyze(mp4([face_frame(head, None)] * 10))
    assert empty.evidence[0].score is None and "no face" in empty.evidence[0].summary
    html = temporal.to_html()
    assert "Faces over time" in html and html.count('<svg class="timeline"') == 1
    assert html.count("<rect") == 32 + 1  # one cell per sampled frame, one bar for the segment
    assert "data:image/jpeg;base64," in html
