"""Time a default-settings scan of a 10-second 720p face video, whole and stage by stage.

    python benchmarks/face_video_speed.py [--repeat 3]

The clip (tools/time_faces.py, write_clip): 1280x720, 30 fps, H.264, the astronaut's head (200 px) moving
across a flat background, one face throughout. Rows: the user's command `unmask scan clip.mp4` in a new
process (model loading included), then in one process with models loaded: decoding the 32 sampled frames,
finding + aligning + tracking faces on them (decode included), scoring the face crops with face_xray, and the
whole Analyzer (default profile). Each row is the median of `--repeat` runs, on a fresh media object each
time (so nothing is reused from the media cache).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import unmask
    from unmask.detectors.face.face_xray import FaceXRayDetector
    from unmask.faces.video import sample_frames, track_faces

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from time_faces import median_s, write_clip

    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        write_clip(clip)
        cli = str(Path(sys.executable).with_name("unmask"))
        rows = {"`unmask scan clip.mp4` (new process)": median_s(
            lambda: subprocess.run([cli, "scan", str(clip), "--quiet"], check=False, capture_output=True),
            args.repeat)}
        det = FaceXRayDetector()
        det.net()
        det.finder()._load()
        media = unmask.load(clip)
        found = track_faces(media, finder=det.finder())
        crops = [r.crop for tr in found.tracks for _, r in tr.points]
        analyzer = unmask.Analyzer()
        analyzer.analyze(clip)  # load every default detector's models once
        rows.update({
            "load (probe the file)": median_s(lambda: unmask.load(clip), args.repeat),
            "decode 32 sampled frames": median_s(lambda: list(sample_frames(unmask.load(clip))), args.repeat),
            "decode + find + align + track faces": median_s(
                lambda: track_faces(unmask.load(clip), finder=det.finder()), args.repeat),
            f"classify {len(crops)} face crops (face_xray)": median_s(lambda: det.score_crops(crops), args.repeat),
            "Analyzer().analyze (default profile, models loaded)": median_s(lambda: analyzer.analyze(clip),
                                                                           args.repeat),
        })
    print(f"| stage (10 s 1280x720 30 fps H.264, one face; median of {args.repeat}) | seconds |")
    print("|---|---|")
    for name, s in rows.items():
        print(f"| {name} | {s:.2f} |")


if __name__ == "__main__":
    main()
