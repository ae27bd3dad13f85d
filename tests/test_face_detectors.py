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
from unmask.detectors.segments import segments
from unmask.report.html import render_html

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


def _split(track) -> tuple[list[float], list[float]]:
    """Frame scores inside the swapped part, and away from it (a frame step either side may see a change)."""
    pairs = list(zip(track.times, track.frame_scores, strict=True))
    return ([s for t, s in pairs if FORGED[0] <= t < FORGED[1]],
            [s for t, s in pairs if t < FORGED[0] - 0.15 or t > FORGED[1] + 0.05])


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
    forged, clean = _split(track)
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
    html = render_html([temporal])
    assert "Faces over time" in html and html.count('<svg class="timeline"') == 1
    assert html.count("<rect") == 32 + 1  # one cell per sampled frame, one bar for the segment
    assert "data:image/jpeg;base64," in html


# -- face_xray (the shipped network) ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def xray(swapped):
    pytest.importorskip("torch")
    return unmask.Analyzer(detectors=["face_xray"]).analyze(swapped)


def test_face_xray_scores_each_face_of_a_photo_and_maps_it_back(head) -> None:
    pytest.importorskip("torch")
    photo = np.ascontiguousarray(skdata.astronaut())
    report = unmask.Analyzer(detectors=["face_xray"]).analyze(_png(photo))
    (entry,) = report.evidence
    (box,) = entry.boxes
    assert 0.0 <= entry.score <= 1.0 and box.score == entry.score
    assert 120 < box.x0 < 220 and 30 < box.y0 < 120  # her face
    heat = report.maps["face_xray.heatmap"]
    assert heat.shape == photo.shape[:2]
    x0, y0, x1, y1 = (int(v) for v in (box.x0, box.y0, box.x1, box.y1))
    pad = int(0.6 * (x1 - x0))  # the aligned crop (1.3x margin) reaches a little beyond the box
    outside = heat.copy()
    outside[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = 0
    assert heat.max() > 0 and outside.max() == 0
    empty = unmask.Analyzer(detectors=["face_xray"]).analyze(_png(np.full((200, 300, 3), 120, np.uint8)))
    assert empty.evidence[0].score is None and "no face" in empty.evidence[0].summary


def test_face_xray_gives_one_timeline_per_track(xray) -> None:
    (entry,) = xray.evidence
    (track,) = entry.tracks
    assert len(track.frame_scores) == len(track.times) == 32
    assert entry.score == pytest.approx(np.mean(track.frame_scores))
    assert len(entry.boxes) == 32 and all(b.time_s is not None for b in entry.boxes)
    assert entry.details["most_suspicious_track"] == 0 and entry.segments == track.segments
    forged, clean = _split(track)
    assert min(forged) > max(clean)  # the swapped face scores above every untouched frame
    # the swapped span lies inside a stretch scored 0.5 or more; the untouched astronaut scores high too
    # (0.7-0.98: a studio portrait is far from DFDC's faces, docs/models/face_xray.md), so the stretch is longer
    assert any(_overlap(segment, FORGED) > 0.8 for segment in track.segments)


def _png(rgb: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def test_face_xray_runs_on_photos_in_the_thorough_profile_only() -> None:
    """A video-trained detector may narrow its profiles for one kind of media (profiles_by_kind)."""
    from unmask.detectors import Registry
    from unmask.detectors.face.face_xray import FaceXRayDetector

    assert FaceXRayDetector.runs_in("default") and FaceXRayDetector.runs_in("default", "video")
    assert not FaceXRayDetector.runs_in("default", "image") and FaceXRayDetector.runs_in("thorough", "image")
    registry = Registry.default()
    assert FaceXRayDetector not in registry.for_media("image", "default")
    assert FaceXRayDetector in registry.for_media("image", "thorough")
    assert FaceXRayDetector in registry.for_media("video", "default")
    row = next(r for r in registry.describe() if r["name"] == "face_xray")
    assert row["profiles_by_kind"] == {"image": ["thorough"]}
    assert "profiles_by_kind" not in next(r for r in registry.describe() if r["name"] == "ela")


def test_default_profile_leaves_face_xray_out_of_photo_reports(head) -> None:
    pytest.importorskip("torch")
    photo = _png(np.ascontiguousarray(skdata.astronaut()))
    default = unmask.Analyzer(profile="default", detectors=None)
    assert "face_xray" in default.detector_names  # loaded for videos
    assert "face_xray" not in {e.detector for e in default.analyze(photo).evidence}
    explicit = unmask.Analyzer(detectors=["face_xray"]).analyze(photo)
    assert [e.detector for e in explicit.evidence] == ["face_xray"]
