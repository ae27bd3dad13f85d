"""face_xray on dfdc_faces: grouped 5-fold cross-validation, clean and after JPEG 50 / 0.5x resize.

    python benchmarks/face_cv.py [--data DIR] [--runs runs/face_cv] [--folds 0,1,2,3,4] [--threads 2]
                                 [--out docs/benchmarks/faces_cv.json]

Folds: `unmask.datasets.split.fold_of(source_video, 5, seed 0)`, so a fake and the real clip it was made
from are always on the same side. Each fold's model is `unmask train configs/train/face_xray.yaml` with
UNMASK_FOLD=k (trained here unless its run folder already holds a finished model of that exact config);
the shipped model is fold 0's. Scoring goes through the detector's own path on the original file after the
perturbation (unmask.perturb): find the largest face with unmask.faces, align it (256 px, 1.3x), cut the
network's box square from it and score it (FaceXRayDetector.score_faces). A crop where no face is found is
scored whole, resized to the network's input side, as in training, and counted. The threshold is 0.5, fixed in advance; AUC/AP follow docs/metrics.md; the
pooled row uses every item's out-of-fold score, the mean row the five folds' own AUCs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs/train/face_xray.yaml"
FOLDS = 5
PERTURBATIONS = ("none", "jpeg(50)", "resize(0.5)")
THRESHOLD = 0.5
STRONG = 0.7  # the cut-off for a finding strong enough to set a verdict (unmask.verdict.MANIPULATED_AT)


def train_fold(k: int, runs: Path, threads: int) -> Path:
    """The run folder of fold k, trained now unless a finished model of the same config is there."""
    from unmask.train.config import load_config

    out = runs / f"fold{k}"
    os.environ["UNMASK_FOLD"] = str(k)  # the config reads its fold from here (and so does the child)
    digest = load_config(CONFIG).digest()
    card = out / "card.json"
    if card.is_file() and json.loads(card.read_text())["trained"]["digest"] == digest:
        return out
    cmd = [str(Path(sys.executable).with_name("unmask")), "train", str(CONFIG), "--out", str(out), "--no-progress",
           "--threads", str(threads)]
    print(f"fold {k}: training ({' '.join(cmd[1:])})", flush=True)
    subprocess.run(cmd, check=True)
    return out


def fold_items(data: Path, k: int) -> list[tuple[Path, int]]:
    from unmask.datasets import convert
    from unmask.datasets.split import group_split

    manifest = convert("dfdc_faces", data / "dfdc_faces")
    items = group_split(manifest.items, folds=FOLDS, fold=k, seed=0)
    return [(manifest.resolve(it.path), int(it.label == "fake")) for it in items if it.split == "test"]


def score_fold(run: Path, items: list[tuple[Path, int]], perturbation: str) -> tuple[np.ndarray, int]:
    """(P(fake) per item, number of items where no face was found) through the detector's path."""
    from unmask.detectors.face.face_xray import FaceXRayDetector
    from unmask.faces import analyze_faces
    from unmask.perturb import parse

    det = FaceXRayDetector()
    det._net, det.card = _load_run(run)
    chain = None if perturbation == "none" else parse(perturbation)
    from unmask.faces.align import cut_square

    crops, missed, side = [], 0, det.net().input_size
    for i, (path, _) in enumerate(items):
        data = path.read_bytes()
        data = chain.apply(data, seed=i) if chain else data
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        found = analyze_faces(rgb, det.finder())
        if found:
            crops.append(cut_square(found[0].crop, det.square(found[0]), side))
        else:
            missed += 1
            crops.append(np.asarray(Image.fromarray(rgb).resize((side, side), Image.BILINEAR)))
    probs, _ = det.score_crops(crops)
    return probs, missed


def _load_run(run: Path):
    """(network, card) from a training run folder (model.safetensors + card.json)."""
    from unmask.learned.store import network

    card = json.loads((run / "card.json").read_text())
    return network(card, run / "model.safetensors"), card


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs/face_cv")
    ap.add_argument("--folds", default=",".join(map(str, range(FOLDS))))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "docs/benchmarks/faces_cv.json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from unmask.metrics.binary import binary_summary, roc_auc

    results: dict[str, dict] = {p: {"y": [], "s": [], "fold_auc": [], "missed": 0} for p in PERTURBATIONS}
    for k in map(int, args.folds.split(",")):
        run = train_fold(k, args.runs, args.threads)
        items = fold_items(args.data, k)
        y = np.array([lab for _, lab in items])
        for p in PERTURBATIONS:
            t0 = time.perf_counter()
            s, missed = score_fold(run, items, p)
            r = results[p]
            r["y"] += y.tolist()
            r["s"] += s.tolist()
            r["fold_auc"].append(roc_auc(y, s))
            r["missed"] += missed
            print(f"fold {k} {p}: AUC {r['fold_auc'][-1]:.3f} ({len(items)} items, {missed} without a face, "
                  f"{time.perf_counter() - t0:.0f} s)", flush=True)
    table = {}
    for p, r in results.items():
        row = binary_summary(r["y"], r["s"], THRESHOLD)
        y, sc = np.array(r["y"]), np.array(r["s"])
        row.update(fold_auc_mean=float(np.mean(r["fold_auc"])), fold_auc_std=float(np.std(r["fold_auc"])),
                   fold_auc=r["fold_auc"], no_face=r["missed"],
                   real_at_or_above_0_7=float(np.mean(sc[y == 0] >= STRONG)))
        table[p] = row
        print(f"{p:12s} pooled AUC {row['auc']:.3f} AP {row['ap']:.3f} acc@0.5 {row['accuracy']:.3f} "
              f"fold AUC {row['fold_auc_mean']:.3f} ± {row['fold_auc_std']:.3f} no face {r['missed']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"config": str(CONFIG.relative_to(ROOT)), "folds": args.folds,
                                    "threshold": THRESHOLD, "results": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
