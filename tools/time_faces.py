"""Time the face pipeline's stages: `python tools/time_faces.py [IMAGE] [--repeat N] [--video]`.

Without IMAGE it uses scikit-image's astronaut scaled to 1000x1000 (1 MP). `--video` also builds a 10-second
720p 30 fps H.264 clip with the astronaut's head moving and times sampling 32 frames, then faces and tracks.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from unmask.faces import analyze_faces
from unmask.faces.align import DEFAULT_ALIGNMENT, align
from unmask.faces.detect import DlibFaceFinder, default_finder
from unmask.faces.quality import assess


def median_s(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time (s) of `repeat` calls of `fn` (also used by benchmarks/face_video_speed.py)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _astronaut(side: int) -> np.ndarray:
    import cv2
    from skimage import data

    return np.ascontiguousarray(cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_CUBIC))


def time_image(rgb: np.ndarray, repeat: int) -> None:
    """Print the median seconds of each stage on one image."""
    finder = DlibFaceFinder()
    t0 = time.perf_counter()
    models = finder._load()
    print(f"image {rgb.shape[1]}x{rgb.shape[0]}; model load {time.perf_counter() - t0:.3f} s")
    for up in (0, 1):
        s = median_s(lambda up=up: models.detector.run(rgb, up, 0.0), repeat)
        print(f"HOG detection, upsample {up}: {s:.3f} s")
    found = finder.find(rgb)
    if not found:
        print("no face found")
        return
    face = found[0]
    rect = models.detector.run(rgb, 0, 0.0)[0][0]
    print(f"68 landmarks (per face): {median_s(lambda: models.predictor(rgb, rect), repeat):.4f} s")

    def describe() -> None:
        face.descriptor = None
        finder.describe(rgb, face)

    print(f"128-d descriptor (per face): {median_s(describe, repeat):.3f} s")
    aligned = align(rgb, face.keypoints())
    print(f"alignment 256 px (per face): {median_s(lambda: align(rgb, face.keypoints()), repeat):.4f} s")
    print(f"quality (per face): {median_s(lambda: assess(face, aligned, DEFAULT_ALIGNMENT, rgb.shape), repeat):.4f} s")
    print(f"analyze_faces total: {median_s(lambda: analyze_faces(rgb, finder), repeat):.3f} s")
    time_classifier(analyze_faces(rgb, finder), repeat)


def time_classifier(faces: list, repeat: int) -> None:
    """The shipped face_xray on one found face: cutting its square and the network's forward pass."""
    try:
        from unmask.detectors.face.face_xray import FaceXRayDetector
    except ImportError:
        return
    detector = FaceXRayDetector()
    detector.score_faces(faces[:1])  # loads the model
    print(f"face_xray, one face (square + network): {median_s(lambda: detector.score_faces(faces[:1]), repeat):.4f} s")


def write_clip(path: Path, seconds: int = 10, fps: int = 30) -> None:
    import av

    head = _astronaut(512)[30:230, 120:320]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for i in range(seconds * fps):
            frame = np.full((720, 1280, 3), 100, np.uint8)
            x = 200 + (i * 3) % 800
            frame[260:460, x:x + 200] = head
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def time_video() -> None:
    """Sampling alone, then sampling + faces + tracks (default settings), on a synthetic 720p clip."""
    import unmask
    from unmask.faces.video import sample_frames, track_faces

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        write_clip(path)
        media = unmask.load(path)
        t0 = time.perf_counter()
        n = sum(1 for _ in sample_frames(media))
        decode = time.perf_counter() - t0
        default_finder()._load()  # model loading is timed separately above
        t0 = time.perf_counter()
        result = track_faces(media)
        total = time.perf_counter() - t0
    print(f"video 1280x720, {media.duration_s:.1f} s: sampling {n} frames {decode:.2f} s; "
          f"sampling + faces + tracks {total:.2f} s; {len(result.tracks)} track(s), faces per frame "
          f"{sorted(set(result.counts))}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python tools/time_faces.py", description=__doc__)
    parser.add_argument("image", nargs="?", help="image file (default: astronaut at 1000x1000)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--video", action="store_true", help="also time a synthetic 10 s 720p clip")
    args = parser.parse_args()
    if args.image:
        from PIL import Image

        rgb = np.ascontiguousarray(np.asarray(Image.open(args.image).convert("RGB")))
    else:
        rgb = _astronaut(1000)
    time_image(rgb, args.repeat)
    if args.video:
        time_video()


if __name__ == "__main__":
    main()
