"""Face preprocessing (unmask.faces): detection, landmarks, alignment, quality flags, memoisation, video tracks.

Every input is built here from scikit-image's bundled `astronaut` (one frontal face) and synthetic canvases.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import unmask
from clips import face_frame, mp4
from unmask.errors import MissingDependency
from unmask.faces import Alignment, DlibFaceFinder, Face, FaceFinder, analyze_faces, faces
from unmask.faces.align import apply, umeyama
from unmask.faces.detect import model_dir

pytest.importorskip("dlib")
cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def finder() -> DlibFaceFinder:
    return DlibFaceFinder()


@pytest.fixture(scope="module")
def head(photo: np.ndarray) -> np.ndarray:
    """A 200x200 crop around the astronaut's head (face box about 88 px)."""
    return np.ascontiguousarray(photo[30:230, 120:320])


def png_media(rgb: np.ndarray) -> unmask.media.ImageMedia:
    buf = io.BytesIO()
    from PIL import Image

    Image.fromarray(rgb).save(buf, "PNG")
    return unmask.load(buf.getvalue())


def on_canvas(parts: list[tuple[np.ndarray, int, int]], size: tuple[int, int]) -> np.ndarray:
    """Paste (image, x, y) parts onto a flat gray canvas of (height, width)."""
    canvas = np.full((*size, 3), 128, np.uint8)
    for img, x, y in parts:
        canvas[y:y + img.shape[0], x:x + img.shape[1]] = img
    return canvas


class Counting(FaceFinder):
    """Delegates to a real finder and counts calls (for memoisation)."""

    def __init__(self, inner: FaceFinder) -> None:
        self.inner, self.calls, self.key = inner, 0, "counting"

    def find(self, rgb: np.ndarray) -> list[Face]:
        self.calls += 1
        return self.inner.find(rgb)


# -- detection and landmarks ---------------------------------------------------------------------------------

def test_astronaut_has_one_face_with_plausible_box_and_landmarks(photo, finder):
    found = faces(png_media(photo), finder)
    assert len(found) == 1
    r = found[0]
    x0, y0, x1, y1 = r.box
    assert 160 < x0 < 200 and 60 < y0 < 100 and 70 < x1 - x0 < 110 and 70 < y1 - y0 < 110
    assert r.face.score > 0.5 and r.index == 0 and r.flags == ()
    pts = r.face.landmarks
    assert pts.shape == (68, 2)
    assert ((pts >= [x0 - 15, y0 - 15]) & (pts <= [x1 + 15, y1 + 15])).all()
    eyes_y, nose_y, mouth_y = pts[36:48, 1].mean(), pts[30, 1], pts[48:68, 1].mean()
    assert eyes_y < nose_y < mouth_y
    assert pts[36:42, 0].mean() < pts[42:48, 0].mean()  # the image-left eye is left


def test_two_faces_are_both_kept_and_sorted_by_size(head, finder):
    small = cv2.resize(head, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    canvas = on_canvas([(small, 20, 20), (head, 260, 20)], (240, 480))  # the smaller face is on the left
    found = analyze_faces(canvas, finder)
    assert [r.index for r in found] == [0, 1]
    assert found[0].box[0] > 240 > found[1].box[2]  # largest first, whatever the position
    assert found[0].face.area > found[1].face.area
    assert all(r.flags == () for r in found)


def test_no_face_in_a_landscape_or_a_gradient(finder):
    assert faces(png_media(np.ascontiguousarray(skdata.coffee())), finder) == []
    gradient = np.repeat(np.linspace(0, 255, 400, dtype=np.uint8)[None, :, None], 3, axis=2)
    assert analyze_faces(np.ascontiguousarray(np.repeat(gradient, 300, axis=0)), finder) == []


# -- quality flags -------------------------------------------------------------------------------------------

def test_tiny_face_is_flagged_too_small_not_dropped(head, finder):
    tiny = cv2.resize(head, None, fx=0.45, fy=0.45, interpolation=cv2.INTER_AREA)
    canvas = on_canvas([(tiny, 20, 20)], (160, 160))
    assert analyze_faces(canvas, finder) == []  # below HOG's 80-px window without upsampling
    found = analyze_faces(canvas, finder.with_options(upsample=1))
    assert len(found) == 1
    assert found[0].face.side < 64 and "too_small" in found[0].flags and "blurry" not in found[0].flags


def test_blurred_face_is_flagged_blurry(photo, finder):
    sharp = analyze_faces(photo, finder)[0]
    blurred = analyze_faces(cv2.GaussianBlur(photo, (0, 0), 3), finder)
    assert len(blurred) == 1
    assert blurred[0].flags == ("blurry",)
    assert sharp.quality.sharpness > 5 * blurred[0].quality.sharpness


def test_face_cut_by_the_border_is_flagged(photo, finder):
    cut = np.ascontiguousarray(photo[:, 200:])  # the face's right three quarters
    found = analyze_faces(cut, finder.with_options(upsample=1))
    assert len(found) == 1 and found[0].box[0] < 0 and "at_border" in found[0].flags
    assert analyze_faces(photo, finder)[0].flags == ()


# -- alignment -----------------------------------------------------------------------------------------------

def test_umeyama_recovers_a_similarity_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    m = umeyama(src, src @ (scale * rot).T + shift)
    np.testing.assert_allclose(m, np.hstack([scale * rot, shift[:, None]]), atol=1e-9)
    with pytest.raises(ValueError):
        umeyama(np.ones((5, 2)), src)


def test_aligned_astronaut_has_eyes_on_the_template(photo, finder):
    r = faces(png_media(photo), finder)[0]
    template = Alignment().template()
    assert r.crop.shape == (256, 256, 3) and r.crop.dtype == np.uint8
    np.testing.assert_allclose(template[0], [96.87, 120.43], atol=0.01)  # 1.3x margin on ArcFace's 112
    eyes = apply(r.transform, r.face.keypoints()[:2])
    assert np.abs(eyes - template[:2]).max() < 8
    assert abs(eyes[0, 1] - eyes[1, 1]) < 3  # roll removed
    back = apply(r.inverse, template)
    assert np.abs(back[:2] - r.face.keypoints()[:2]).max() < 8 / 1.5  # crop scale is about 1.5x here
    np.testing.assert_allclose(apply(r.inverse, apply(r.transform, back)), back, atol=1e-9)


def test_crop_map_goes_back_onto_the_face(photo, finder):
    r = analyze_faces(photo, finder)[0]
    heat = np.zeros((256, 256), np.float32)
    x0, y0, x1, y1 = (round(v) for v in apply(r.transform, np.array([r.box[:2], r.box[2:]])).ravel())
    heat[y0:y1, x0:x1] = 1.0  # mark the face box inside the crop
    back = r.map_to_image(heat, photo.shape[:2])
    assert back.shape == (512, 512)
    bx0, by0, bx1, by1 = (round(v) for v in r.box)
    assert back[by0 + 5:by1 - 5, bx0 + 5:bx1 - 5].min() > 0.99
    assert back.sum() == pytest.approx(r.face.area, rel=0.15) and back[300:].max() == 0


def test_alignment_is_configurable_and_five_point_finders_plug_in(photo, finder):
    keypoints = finder.find(photo)[0].keypoints()

    class FivePoints(FaceFinder):
        key = "five"

        def find(self, rgb):
            return [Face(box=(180, 80, 270, 170), score=1.0, landmarks=keypoints)]

    r = analyze_faces(photo, FivePoints(), Alignment(size=128, margin=1.5))[0]
    assert r.crop.shape == (128, 128, 3)
    eyes = apply(r.transform, keypoints[:2])
    assert np.abs(eyes - Alignment(128, 1.5).template()[:2]).max() < 4


# -- memoisation and packaging -------------------------------------------------------------------------------

def test_faces_are_computed_once_per_media(photo, finder):
    media, counting = png_media(photo), Counting(finder)
    first = faces(media, counting)
    assert faces(media, counting) is first and counting.calls == 1
    faces(media, counting, Alignment(size=128))  # other settings: computed again
    assert counting.calls == 2


def test_descriptor_on_demand(photo, finder):
    r = analyze_faces(photo, finder)[0]
    assert r.face.descriptor is None
    d = finder.describe(photo, r.face)
    assert d.shape == (128,) and r.face.descriptor is d
    mirrored = np.ascontiguousarray(photo[:, ::-1])
    other = finder.describe(mirrored, finder.find(mirrored)[0])
    assert np.linalg.norm(d - other) < finder.descriptor_threshold


def test_missing_models_name_the_extra(monkeypatch):
    assert (model_dir() / "shape_predictor_68_face_landmarks.dat").is_file()
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(MissingDependency, match=r"unmask\[faces\]"):
        model_dir()


# -- video ---------------------------------------------------------------------------------------------------

def test_track_survives_a_cut_to_no_face(head, finder):
    from unmask.faces.video import track_faces

    frames = ([face_frame(head, 6 * i) for i in range(10)] + [face_frame(head, None)] * 5
              + [face_frame(head, 120 - 4 * i) for i in range(5)])  # back far from where it left: IoU 0
    media = unmask.load(mp4(frames))
    result = track_faces(media, every=1, finder=finder)
    assert result.times == pytest.approx([i / 10 for i in range(20)])
    assert result.counts == [1] * 10 + [0] * 5 + [1] * 5
    assert [t.id for t in result.tracks] == [0]  # re-identified by descriptor after the gap
    track = result.tracks[0]
    assert track.times == pytest.approx([i / 10 for i in [*range(10), *range(15, 20)]])
    assert track_faces(media, every=1, finder=finder) is result


def test_uniform_sampling_and_two_tracks(head, finder):
    from unmask.faces.video import track_faces

    small = cv2.resize(head, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(20):
        frame = face_frame(head, 300 + 2 * i, (240, 540))
        frame[40:200, 10 + i:170 + i] = small
        frames.append(frame)
    result = track_faces(unmask.load(mp4(frames)), n=8, finder=finder)
    assert result.times == pytest.approx([0.0, 0.3, 0.5, 0.8, 1.0, 1.3, 1.5, 1.8])  # first frame at/after i*2/8
    assert result.counts == [2] * 8
    assert [t.id for t in result.tracks] == [0, 1]
    for track in result.tracks:
        assert len(track.points) == 8
        xs = [r.box[0] for _, r in track.points]
        assert max(xs) - min(xs) < 80 and len({x > 270 for x in xs}) == 1  # never swapped sides


def test_variable_frame_rate_times_come_from_pts(head, finder):
    from unmask.faces.video import sample_frames

    pts = [0, 100, 150, 400, 420, 900]
    media = unmask.load(mp4([face_frame(head, 10 * i) for i in range(6)], pts_ms=pts))
    assert [t for t, _ in sample_frames(media, every=1)] == pytest.approx([p / 1000 for p in pts])
    assert [t for t, _ in sample_frames(media, every=2)] == pytest.approx([0.0, 0.15, 0.42])


def test_rotation_metadata_is_honoured(head, finder):
    from unmask.faces.video import sample_frames, track_faces

    upright = face_frame(head, 60)
    stored = np.ascontiguousarray(np.rot90(upright, -1))  # stored turned clockwise; shown turned back
    assert finder.find(stored) == []
    media = unmask.load(mp4([stored] * 3, rotation=90))
    assert media.rotation == 90
    frames = list(sample_frames(media, every=1))
    assert frames[0][1].shape == upright.shape
    assert track_faces(media, every=1, finder=finder).counts == [1, 1, 1]
