"""forensic_unet, shipped vs earlier, side by side in one run: CASIA v1 held-out groups and clean camera photos.

    python benchmarks/forensic_unet_compare.py [--out bench-out/forensic_unet_compare]
        [--doc docs/benchmarks/forensic_unet.md] [--old-commit f1dcb8f] [--clean-max-mp 6]

Both models run on exactly the same inputs in the same process (the four training-free maps are computed once
per file and given to both), through the detector's own code path (`ForensicUNetDetector`: score = the
network's image probability, mask = heatmap >= 0.5):

- CASIA v1 development half, the held-out 30% of source photos of `protocols/casia1_heldout.yaml` (no image of
  these source photos was seen in training by either model), original files and after JPEG 75
  (`jpeg(q=75)`, the benchmark perturbation). Image AUC (all images), pixel F1 at 0.5 and pixel AUC (per image,
  averaged over tampered images with a mask, the convention of docs/benchmarks/learned_casia1.md), each with a
  95% bootstrap interval (2,000 resamples: stratified over images for the AUC, over tampered images for the
  pixel means), and the paired difference new - old with its interval;
- false alarms at the detector's threshold (score >= 0.5, fixed in advance) on authentic photos no model was
  trained on: the real camera photos of `../shared/data/aigi_photos` of at most `--clean-max-mp` megapixels
  (20 of the 50 by default; chosen by size only, before any score was seen, to fit the CPU budget) at their
  native resolution, as a user would submit them (big ones run in tiles, learned/infer.py), and the held-out
  CASIA authentic images; Wilson 95% intervals.

The earlier model is read from git history (`--old-commit`, the last commit that shipped it) into
`OUT/old/`; its architecture lives on as `forensic_unet_scratch`. Per-item results are cached in `OUT/items.jsonl`
(rerun resumes).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import subprocess
import time
from pathlib import Path

import numpy as np

from unmask.metrics.binary import roc_auc
from unmask.metrics.intervals import BOOT, bootstrap_interval, paired_difference, wilson
from unmask.metrics.localization import localization_scores

ROOT = Path(__file__).resolve().parents[1]
OLD_COMMIT = "f1dcb8f"  # the last commit whose src/unmask/learned/weights/forensic_unet.* is the scratch U-Net
WEIGHTS = "src/unmask/learned/weights/forensic_unet"
PERTURBATIONS = ["none", "jpeg(q=75)"]
TARGETS = {("none", "pixel_f1"): 0.50, ("none", "pixel_auc"): 0.90, ("none", "image_auc"): 0.85,
           ("jpeg(q=75)", "pixel_f1"): 0.35, ("jpeg(q=75)", "pixel_auc"): 0.85, ("jpeg(q=75)", "image_auc"): 0.75}


def old_model(out: Path, commit: str) -> tuple[object, dict]:
    """The earlier shipped forensic_unet (weights and card from git), on its renamed architecture."""
    from unmask.learned.store import network

    folder = out / "old"
    folder.mkdir(parents=True, exist_ok=True)
    for ext in ("safetensors", "json"):
        data = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{WEIGHTS}.{ext}"], check=True,
                              capture_output=True).stdout
        (folder / f"forensic_unet.{ext}").write_bytes(data)
    card = json.loads((folder / "forensic_unet.json").read_text(encoding="utf-8"))
    card["arch"] = "forensic_unet_scratch"
    return network(card, folder / "forensic_unet.safetensors"), card


def heldout_items() -> list:
    from unmask.bench import load_protocol
    from unmask.bench.protocol import _read_dataset
    from unmask.datasets.split import group_split

    protocol = load_protocol(ROOT / "protocols" / "casia1_heldout.yaml")
    manifest = _read_dataset(protocol.dataset)
    items = [it for it in group_split(manifest.items, **protocol.group_split) if it.split == protocol.split]
    return [(manifest.resolve(it.path), it.y, manifest.resolve(it.mask) if it.mask else None, it.group)
            for it in items]


def clean_items(max_mp: float) -> list:
    """The real camera photos of aigi_photos with at most `max_mp` megapixels (the CPU budget: both models at
    native resolution take several seconds per megapixel each)."""
    import csv

    from PIL import Image

    root = ROOT.parent / "shared" / "data" / "aigi_photos"
    if not (root / "manifest.csv").is_file():
        return []
    with open(root / "manifest.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] == "real"]
    out = []
    for r in rows:
        with Image.open(root / r["path"]) as im:
            if im.width * im.height <= max_mp * 1e6:
                out.append((root / r["path"], 0, None, r["path"]))
    return out


class Runner:
    def __init__(self, out: Path, old_commit: str) -> None:
        from unmask.detectors.image.forensic_unet import ForensicUNetDetector
        from unmask.detectors.maps import MapMaker

        self.new = ForensicUNetDetector()
        self.old = ForensicUNetDetector()
        self.old._net, self.old.card = old_model(out, old_commit)
        maps = list(self.new.net().maps)
        if maps != list(self.old.net().maps):
            raise SystemExit("the two models read different maps; this script gives both the same input")
        self.maker = MapMaker(maps)

    def item(self, path: Path, label: int, mask_path: Path | None, pert: str) -> dict:
        from PIL import Image

        import unmask
        from unmask.perturb import parse

        data = path.read_bytes()
        if pert != "none":
            data = parse(pert).apply(data, 0)
        media = unmask.load(data)
        t0 = time.perf_counter()
        x = np.concatenate([media.rgb, self.maker(media)], axis=2)
        row: dict = {"path": str(path), "perturbation": pert, "label": label, "pixels": int(media.height * media.width),
                     "maps_s": time.perf_counter() - t0}
        gt = None
        if mask_path is not None:
            with Image.open(mask_path) as im:
                gt = np.asarray(im.convert("L"))
        for name, det in (("old", self.old), ("new", self.new)):
            t0 = time.perf_counter()
            prob, heat = det.run(x)
            row[f"{name}_s"] = time.perf_counter() - t0
            row[f"{name}_score"] = prob
            if gt is not None and heat is not None:
                region = heat >= 0.5
                scores = localization_scores(heat, gt, mask=region if region.any() else np.zeros_like(region))
                row[f"{name}_f1"], row[f"{name}_pauc"] = scores["f1"], scores["auc"]
        return row


def load_rows(path: Path) -> dict[tuple[str, str], dict]:
    rows = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            rows[(r["path"], r["perturbation"])] = r
    return rows


def mean_interval(values: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    boots = [values[rng.integers(0, values.size, values.size)].mean() for _ in range(BOOT)]
    return float(values.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def paired_mean(a: np.ndarray, b: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    return mean_interval(a - b, seed)


def fmt(v: float, lo: float, hi: float) -> str:
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"


def table(rows: list[dict]) -> tuple[list[str], dict]:
    """Markdown rows and a JSON summary of the held-out CASIA metrics."""
    lines = ["| perturbation | metric | earlier model (scratch U-Net) | shipped model (ImageNet encoder) | "
             "new - old (paired) | target | met? |", "|---|---|---|---|---|---|---|"]
    summary: dict = {}
    for pert in PERTURBATIONS:
        sel = [r for r in rows if r["perturbation"] == pert]
        y = np.array([r["label"] for r in sel])
        loc = [r for r in sel if "old_f1" in r and r.get("old_pauc") is not None and r.get("new_pauc") is not None]
        metrics = {}
        s_old, s_new = (np.array([r[f"{m}_score"] for r in sel]) for m in ("old", "new"))
        metrics["image_auc"] = ((roc_auc(y, s_old), *bootstrap_interval(y, s_old)),
                                (roc_auc(y, s_new), *bootstrap_interval(y, s_new)),
                                paired_difference(y, s_new, s_old))
        for key, field in (("pixel_f1", "f1"), ("pixel_auc", "pauc")):
            a, b = (np.array([r[f"{m}_{field}"] for r in loc], float) for m in ("old", "new"))
            metrics[key] = (mean_interval(a), mean_interval(b), paired_mean(b, a))
        for key in ("pixel_f1", "pixel_auc", "image_auc"):
            old, new, diff = metrics[key]
            target = TARGETS.get((pert, key))
            met = "–" if target is None else ("yes" if new[0] >= target else "**no**")
            lines.append(f"| {pert} | {key.replace('_', ' ')} | {fmt(*old)} | {fmt(*new)} | "
                         f"{diff[0]:+.3f} [{diff[1]:+.3f}, {diff[2]:+.3f}] | "
                         f"{'–' if target is None else f'≥ {target:.2f}'} | {met} |")
            summary[f"{pert}/{key}"] = {"old": old, "new": new, "difference": diff, "target": target}
        summary[f"{pert}/n"] = {"images": len(sel), "tampered": int(y.sum()), "with_mask": len(loc)}
    return lines, summary


def false_alarms(rows: list[dict], title: str) -> tuple[list[str], dict]:
    lines, out = [], {}
    n = len(rows)
    if not n:
        return lines, out
    for m, label in (("old", "earlier model"), ("new", "shipped model")):
        k = sum(r[f"{m}_score"] >= 0.5 for r in rows)
        lo, hi = wilson(k, n)
        med = float(np.median([r[f"{m}_score"] for r in rows]))
        secs = float(np.median([r[f"{m}_s"] + r["maps_s"] for r in rows]))
        lines.append(f"| {title} | {label} | {k} / {n} = {k / n:.3f} [{lo:.3f}, {hi:.3f}] | {med:.3f} | "
                     f"{secs:.2f} |")
        out[m] = {"k": k, "n": n, "rate": k / n, "interval": [lo, hi], "median_score": med}
    return lines, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "forensic_unet_compare")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks" / "forensic_unet.md")
    ap.add_argument("--old-commit", default=OLD_COMMIT)
    ap.add_argument("--clean-max-mp", type=float, default=6.0,
                    help="only the clean photos of at most this many megapixels (default 6: 20 of the 50)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "items.jsonl"
    done = load_rows(cache)
    runner = Runner(args.out, args.old_commit)
    work = [(it, pert, "casia") for it in heldout_items() for pert in PERTURBATIONS]
    clean = clean_items(args.clean_max_mp)
    if clean:
        work += [(it, "none", "clean") for it in clean]
    else:
        print("../shared/data/aigi_photos is missing: no clean-photo false-alarm row")
    with open(cache, "a", encoding="utf-8") as f:
        for i, ((path, label, mask, _group), pert, part) in enumerate(work):
            if (str(path), pert) in done:
                continue
            row = {**runner.item(path, label, mask, pert), "part": part}
            done[(str(path), pert)] = row
            f.write(json.dumps(row) + "\n")
            f.flush()
            if i % 50 == 0:
                print(f"{i}/{len(work)}", flush=True)
    rows = list(done.values())
    casia = [r for r in rows if r.get("part") == "casia"]
    clean_rows = [r for r in rows if r.get("part") == "clean"]
    lines, summary = table(casia)
    fa_lines, fa_clean = false_alarms(clean_rows, f"{len(clean_rows)} real camera photos (aigi_photos) of at most "
                                                  f"{args.clean_max_mp:g} MP, native resolution")
    casia_auth = [r for r in casia if r["label"] == 0 and r["perturbation"] == "none"]
    fa2, fa_casia = false_alarms(casia_auth, "CASIA held-out authentic images, original files")
    summary["false_alarms"] = {"clean_photos": fa_clean, "casia_authentic": fa_casia}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    doc = ["# forensic_unet: the shipped model against the earlier one, side by side", "",
           f"Generated by `python benchmarks/forensic_unet_compare.py` ({_dt.date.today().isoformat()}); both "
           f"models in one run on the same inputs (the earlier one read from git commit `{args.old_commit}`). "
           "95% intervals in brackets: bootstrap (2,000 resamples; stratified by class over images for the image "
           "AUC, over tampered images for the pixel means; the difference is paired). Threshold 0.5, fixed in "
           "advance; nothing was tuned on these images.", "",
           "## CASIA v1 held-out groups", "",
           "The 30% of source photos of `protocols/casia1_heldout.yaml` (the training configs train on the other "
           f"70%): {summary['none/n']['images']} images, {summary['none/n']['tampered']} tampered, "
           f"{summary['none/n']['with_mask']} with a mask. `none`: the files as distributed; `jpeg(q=75)`: each "
           "re-encoded at quality 75 first. Pixel metrics are per image, averaged over tampered images with a "
           "mask (as in docs/benchmarks/learned_casia1.md); image AUC over all images. On the original files "
           "the image AUC can ride CASIA's JPEG-quality shortcut (docs/benchmarks/learned_casia1.md); the "
           "`jpeg(q=75)` rows cannot.", "", *lines, "",
           "## False alarms on authentic photos", "",
           "Share of authentic images the detector scores at or above 0.5 (its sentence then says 'finds signs of "
           "editing'). The camera photos were used by no training run of either model; they run at native "
           "resolution, as a user's upload would (large ones in 1024-px tiles, the image score being the "
           "highest tile's). Only the photos up to the size limit run here (CPU budget; chosen by size before "
           "any score was seen).", "",
           "| images | model | false alarms at 0.5 [95% Wilson] | median score | median s (maps + network) |",
           "|---|---|---|---|---|", *fa_lines, *fa2, ""]
    args.doc.write_text("\n".join(doc), encoding="utf-8")
    print("\n".join(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
