"""Time each detector of a profile on a synthetic-photo 1-megapixel JPEG, single process.

    python tools/time_profile.py [--profile default] [--repeat 5] [--image PATH]

Prints the median wall time per detector (each on a fresh load, so the shared cache is cold) and of the
whole profile on one load (shared preprocessing reused), which is the number the README quotes.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image
from time_faces import median_s  # tools/ is the script folder, so on sys.path

import unmask
from unmask.analysis import Analyzer
from unmask.detectors import Registry


def test_image() -> bytes:
    """1000x1000 JPEG (q90) of skimage's astronaut, upscaled: a natural photo with texture and flat areas."""
    from skimage import data

    im = Image.fromarray(data.astronaut()).resize((1000, 1000), Image.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="default")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--image", default=None)
    args = ap.parse_args()
    data = Path(args.image).read_bytes() if args.image else test_image()
    analyzer = Analyzer(profile=args.profile, skip_uninstalled=True)
    registry = Registry.default()
    analyzer.analyze(data)  # warm-up: imports, detector construction
    for name in analyzer.detector_names:
        cls = registry.get(name)
        if "image" not in cls.modalities or not cls.runs_in(args.profile, "image"):
            continue  # the profile's detectors for other media (video, audio, text, posts)
        det = cls()
        t = median_s(lambda d=det: d.analyze(unmask.load(data)), args.repeat) - median_s(
            lambda: unmask.load(data), args.repeat)
        print(f"{name:20s} {t:.3f} s")
    total = median_s(lambda: analyzer.analyze(data), args.repeat)
    print(f"{'profile ' + args.profile:20s} {total:.3f} s (load + all detectors, {np.prod((1000, 1000)) / 1e6:.0f} MP)")


if __name__ == "__main__":
    main()
