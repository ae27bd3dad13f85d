"""Real faces from outside DFDC: how often the face models call them forged.

    python benchmarks/face_ood.py [--data DIR] [--run runs/face_xray_mbv2] [--out docs/benchmarks/faces_ood.json]

Every face unmask.faces finds in the real camera photos of aigi_photos, every fifth CASIA v1 authentic
image, every MediaEval VMU image (tweets' photos: some are misused or edited, but none is a face swap) and
skimage's astronaut, with the largest side of a photo brought to 2,000 px at most. Each face is cut as the
face detectors cut it (1.1x its box from the upright aligned crop) and scored by the shipped `face_xray` and
by the network of a training run folder (`--run`: `unmask train configs/train/face_xray_mbv2.yaml --out
DIR`). Reported: the share of faces at or above 0.7 (the verdict layer's clear-sign band) and 0.5, with 95%
Wilson intervals. None of these photos is in either model's training data.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MAX_SIDE = 2000


def photos(data: Path) -> list[tuple[str, np.ndarray]]:
    from skimage import data as skdata

    with open(data / "aigi_photos/manifest.csv", newline="") as fh:
        paths = [data / "aigi_photos" / r["path"] for r in csv.DictReader(fh) if r["label"] == "real"]
    paths += sorted((data / "casia1/Au").glob("*"))[::5]
    paths += sorted((data / "mediaeval_vmu").rglob("*.jpg"))
    out = [("astronaut", skdata.astronaut())]
    for path in paths:
        try:
            with Image.open(path) as im:
                im = im.convert("RGB")
                im.thumbnail((MAX_SIDE, MAX_SIDE))
                out.append((path.name, np.asarray(im)))
        except OSError:
            continue
    return out


def face_squares(images: list[tuple[str, np.ndarray]], sides: tuple[int, ...]) -> tuple[list[str], dict]:
    """(the image each face came from, {side: the faces' network inputs}) for every face found."""
    from face_cv import squares

    from unmask.faces import analyze_faces
    from unmask.faces.detect import DlibFaceFinder

    finder, names, crops = DlibFaceFinder(), [], {s: [] for s in sides}
    for name, rgb in images:
        for face in analyze_faces(rgb, finder):
            names.append(name)
            for side, crop in squares(face, sides).items():
                crops[side].append(crop)
    return names, {s: np.stack(c) for s, c in crops.items()}


def rates(s: np.ndarray) -> dict:
    from unmask.metrics import wilson

    out = {"n": int(s.size), "median": float(np.median(s))}
    for cut in (0.7, 0.5):
        k = int((s >= cut).sum())
        out[f"at_or_above_{cut}"] = {"k": k, "rate": k / s.size, "ci": wilson(k, int(s.size))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--run", type=Path, default=ROOT / "runs/face_xray_mbv2")
    ap.add_argument("--out", type=Path, default=ROOT / "docs/benchmarks/faces_ood.json")
    args = ap.parse_args()
    from face_cv import score_crops

    from unmask.learned.store import load_model, network

    shipped = load_model("face_xray")[0]
    candidate = network(json.loads((args.run / "card.json").read_text()), args.run / "model.safetensors")
    names, crops = face_squares(photos(args.data), (shipped.input_size, candidate.input_size))
    result = {"faces": len(names), "images": len(set(names)),
              "shipped face_xray": rates(score_crops(shipped, crops[shipped.input_size])),
              f"candidate {args.run.name}": rates(score_crops(candidate, crops[candidate.input_size]))}
    print(json.dumps(result, indent=2))
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
