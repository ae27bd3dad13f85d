"""How much the shipped face_xray's score depends on the face square's framing.

    python benchmarks/face_framing.py [--data DIR] [--fold 0] [--out docs/benchmarks/faces_framing.json]

The detector cuts the square of 1.1 times dlib's face box from the upright aligned crop (the framing it was
trained on). dlib's boxes come in pyramid steps, so the same face can get a box some 10% larger or smaller
depending on its size and the search scale. This cuts each face of the held-out fold of dfdc_faces (the
fold the shipped model was trained without; crops where dlib finds no face are left out) at 1.0x, 1.1x and
1.2x the box and reports, per framing, AUC, the share of real faces at 0.7 or more, and how far the scores
move from the 1.1x ones (mean absolute change, share changed by more than 0.2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCALES = (1.0, 1.1, 1.2)


def squares(items: list[dict]) -> tuple[dict[float, np.ndarray], np.ndarray]:
    """The largest face of each item cut at every scale (network input side), and the items' labels."""
    from unmask.detectors.face.face_xray import FaceXRayDetector
    from unmask.faces import analyze_faces
    from unmask.faces.align import box_square, cut_square

    detector = FaceXRayDetector()
    side, finder = detector.net().input_size, detector.finder()
    crops: dict[float, list[np.ndarray]] = {s: [] for s in SCALES}
    labels = []
    for it in items:
        faces = analyze_faces(np.asarray(Image.open(it["path"]).convert("RGB")), finder)
        if not faces:
            continue
        face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        for s in SCALES:
            crops[s].append(cut_square(face.crop, box_square(face.aligned, face.box, s), side))
        labels.append(it["label"])
    return {s: np.stack(c) for s, c in crops.items()}, np.array(labels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--fold", type=int, default=0, help="the held-out fold of configs/train/face_xray.yaml")
    ap.add_argument("--out", type=Path, default=ROOT / "docs/benchmarks/faces_framing.json")
    args = ap.parse_args()
    from face_cv import all_items, score_crops

    from unmask.learned.store import load_model
    from unmask.metrics import roc_auc

    net = load_model("face_xray")[0]
    crops, y = squares([it for it in all_items(args.data) if it["fold"] == args.fold])
    scores = {s: score_crops(net, c) for s, c in crops.items()}
    result = {"faces": int(y.size), "fold": args.fold, "framings": {}}
    for s, p in scores.items():
        moved = np.abs(p - scores[1.1])
        result["framings"][f"{s:.1f}x"] = {"auc": roc_auc(y, p), "real_at_or_above_0_7": float((p[y == 0] >= 0.7).mean()),
                                           "mean_abs_change": float(moved.mean()),
                                           "changed_more_than_0_2": float((moved > 0.2).mean())}
    print(json.dumps(result, indent=2))
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
