"""The shipped face_xray's recipe (an ImageNet MobileNetV2) on dfdc_faces: grouped 5-fold cross-validation, clean
and after JPEG 50 / 0.5x resize, with the previous, scratch-trained face_xray scored on the same files.

    python benchmarks/face_cv.py [--data DIR] [--runs runs/face_cv] [--baseline runs/face_xray_scratch]
                                 [--threads 2] [--out docs/benchmarks/faces_cv.json] [--table]

Folds: `unmask.datasets.split.fold_of(source_video, 5, seed 0)`, so a fake and the real clip it was made
from are always on the same side. Each fold's model follows `configs/train/face_xray.yaml` with UNMASK_FOLD=k
(its data, augmentations, self-blended subset, network, loss, optimiser and epochs), with one saving: the
frozen trunk's output is computed once per file and augmented pass for all five folds (`--runs`/trunk.pt),
each sample's randomness drawn from (seed, pass, source, file) rather than from its position in one fold's
epoch, and each fold trains the rest of the network on its own files' passes. `unmask train` of the config
itself is fold 0's model, the one shipped (benchmarks/face_ood.py scores it on real faces from other sources).

Scoring goes through the detector's own path on the original file after the perturbation (unmask.perturb):
find the largest face with unmask.faces, align it (256 px, 1.3x), cut the network's box square from it and
score it. A crop where no face is found is scored whole, resized to the network's input side, as in
training, and counted. The threshold is 0.5, fixed in advance; AUC/AP follow docs/metrics.md with 95%
stratified-bootstrap intervals (unmask.metrics.intervals); the pooled row uses every item's out-of-fold
score, the mean row the five folds' own AUCs.

The previous face_xray (trained from scratch on folds 1-4 of the first 1,196 rows by
configs/train/face_xray_scratch.yaml; `--baseline` is its run folder, or a copy of its shipped files as
model.safetensors and card.json) is scored on the same face squares, cut at its own input side (128 px). The
side-by-side rows use only the files it never saw: every row added since, and fold 0 of the first 1,196.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
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
OLD_ROWS = 1196  # the rows of dfdc_faces the previous face_xray's training folds came from


def load_recipe():
    """The face_xray training config (fold 0; the folds differ only in which files they take)."""
    from unmask.train.config import load_config

    os.environ.setdefault("UNMASK_FOLD", "0")
    return load_config(CONFIG)


def fresh_net(cfg):
    """The config's network with its ImageNet start, in training mode, as `unmask train` builds it."""
    import torch

    from unmask.learned.net import build

    torch.manual_seed(cfg.seed)
    net = build(cfg.arch, cfg.arch_kwargs)
    net.load_pretrained()
    return net


def trunk_passes(cfg, net, data: Path, cache: Path, keep: set[str] | None = None) -> dict:
    """For every file (and every real file self-blended), `cfg.trunk_passes` augmented passes through the
    frozen trunk: {"trunk": (passes, N, C, h, w) float16, "label", "mask" (self-blended only), "path",
    "blended"}, computed once and kept in `cache`."""
    import torch

    from unmask.train.data import augment, crop
    from unmask.train.sources import Context, build

    if cache.is_file():
        return torch.load(cache, weights_only=False)
    plain, blend = (dict(spec) for spec in cfg.train)
    for spec in (plain, blend):
        spec["faces"] = {k: v for k, v in spec["faces"].items() if k not in ("group_split", "split", "limit")}
        spec["faces"]["root"] = str(data / "dfdc_faces")
    ctx = Context(Path(cfg.folder), cfg.seed)
    sources = [build(plain, ctx), build(blend, ctx)]
    if keep is not None:  # --limit: a smoke run on part of the data
        for src in sources:
            kept = [i for i, (p, _) in enumerate(src.items) if p.name in keep]
            src.items, src.faces = [src.items[i] for i in kept], [src.faces[i] for i in kept]
    out = {"trunk": [], "label": [], "mask": [], "path": [], "blended": []}
    for s, src in enumerate(sources):
        out["path"] += [str(p.name) for p, _ in src.items]
        out["blended"] += [bool(s)] * len(src)
    for k in range(cfg.trunk_passes):
        feats, labels, masks = [], [], []
        for s, src in enumerate(sources):
            for start in range(0, len(src), 64):
                batch = []
                for i in range(start, min(start + 64, len(src))):
                    rng = np.random.default_rng([cfg.seed, k, s, i])
                    sample = crop(augment(src.get(i, rng), cfg.augment, rng), cfg.crop, rng)
                    batch.append(sample.image)
                    labels.append(sample.label)
                    if s:
                        masks.append(sample.mask)
                x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float() / 255.0
                feats.append(net.trunk(x).half())
            print(f"trunk pass {k}: source {s} done", flush=True)
        out["trunk"].append(torch.cat(feats))
        out["mask"].append(torch.from_numpy(np.stack(masks)))
        out["label"] = labels
    out["trunk"], out["mask"] = torch.stack(out["trunk"]), torch.stack(out["mask"])
    torch.save(out, cache)
    return out


def train_fold(cfg, passes: dict, rows: np.ndarray, blended: np.ndarray):
    """The rest of a fresh network trained, as the config says, on the cached passes of `rows` (indices of
    plain files) and `blended` (indices of self-blended ones)."""
    import math

    import torch

    from unmask.train.loop import _loss

    net = fresh_net(cfg)
    opt_cfg = dict(cfg.optimizer)
    lr0 = float(opt_cfg.pop("lr"))
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=lr0, **opt_cfg)
    index = np.r_[rows, blended]
    n_plain = len(passes["blended"]) - int(np.sum(passes["blended"]))
    labels = torch.tensor(passes["label"], dtype=torch.float32)
    side = cfg.crop
    for epoch in range(cfg.epochs):
        k = epoch % cfg.trunk_passes
        for group in opt.param_groups:
            group["lr"] = lr0 * 0.5 * (1 + math.cos(math.pi * epoch / cfg.epochs))
        order = np.random.default_rng([cfg.seed, epoch, 0xC]).permutation(index)
        net.train()
        for i in range(0, len(order) - len(order) % cfg.batch_size, cfg.batch_size):
            idx = torch.from_numpy(order[i:i + cfg.batch_size])
            is_blend = idx >= n_plain
            mask = torch.zeros(len(idx), 1, side, side)
            if is_blend.any():
                mask[is_blend, 0] = passes["mask"][k][idx[is_blend] - n_plain].float()
            label = labels[idx]
            batch = {"label": label, "mask": mask, "has_mask": ((label == 0) | is_blend).float()}
            loss = _loss(net.rest(passes["trunk"][k][idx].float(), (side, side)), batch, cfg.mask_weight,
                         cfg.pixel_pos_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval()


def all_items(data: Path) -> list[dict]:
    """Every file of dfdc_faces: path, label, test fold, whether the baseline never saw it, and for each fold
    whether it is one of that fold's self-blended reals (the config's label-blind subset of 1,500)."""
    from unmask.bench.protocol import select
    from unmask.datasets import convert
    from unmask.datasets.split import group_split

    cfg = load_recipe()
    limit = int(cfg.train[1]["faces"]["limit"])
    with open(data / "dfdc_faces" / "manifest.csv", newline="") as fh:
        first = {row["path"] for _, row in zip(range(OLD_ROWS), csv.DictReader(fh), strict=False)}
    manifest = convert("dfdc_faces", data / "dfdc_faces")
    rows = {it.path: {"path": manifest.resolve(it.path), "label": int(it.label == "fake"), "blend": set()}
            for it in manifest.items}
    for k in range(FOLDS):
        split = group_split(manifest.items, folds=FOLDS, fold=k, seed=0)
        for it in split:
            if it.split == "test":
                rows[it.path].update(fold=k, unseen=k == 0 or it.path not in first)
        for it in select([it for it in split if it.split == "train" and it.label == "real"], limit):
            rows[it.path]["blend"].add(k)
    return list(rows.values())


def squares(face, sides: tuple[int, ...]) -> dict[int, np.ndarray]:
    """A found face's network input at each side: the face detectors' framing (box_scale x its box, from the
    upright aligned crop; unmask.faces.align.box_square / cut_square)."""
    from unmask.faces.align import box_square, cut_square
    from unmask.learned.archs.face_xray import FaceXRay

    square = box_square(face.aligned, face.box, FaceXRay.box_scale)
    return {side: cut_square(face.crop, square, side) for side in sides}


def face_squares(items: list[dict], perturbation: str, sides: tuple[int, ...]
                 ) -> tuple[dict[int, np.ndarray], int]:
    """The network inputs of every item after the perturbation, cut at each side in `sides` from one face
    search (the detector's path), and the number of items where no face was found."""
    from unmask.detectors.face.face_xray import FaceXRayDetector
    from unmask.faces import analyze_faces
    from unmask.perturb import parse

    finder = FaceXRayDetector().finder()
    chain = None if perturbation == "none" else parse(perturbation)
    crops: dict[int, list[np.ndarray]] = {side: [] for side in sides}
    missed = 0
    for i, item in enumerate(items):
        data = item["path"].read_bytes()
        data = chain.apply(data, seed=i) if chain else data
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        found = analyze_faces(rgb, finder)
        missed += not found
        cut = squares(found[0], sides) if found else {
            side: np.asarray(Image.fromarray(rgb).resize((side, side), Image.BILINEAR)) for side in sides}
        for side in sides:
            crops[side].append(cut[side])
    return {side: np.stack(c) for side, c in crops.items()}, missed


def run_network(run: Path):
    """The network of a training run folder (model.safetensors and card.json)."""
    from unmask.learned.store import network

    return network(json.loads((run / "card.json").read_text()), run / "model.safetensors")


def score_crops(net, crops: np.ndarray) -> np.ndarray:
    """P(fake) of network `net` on its input squares (uint8, N x S x S x 3)."""
    import torch

    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0
    with torch.inference_mode():
        return np.concatenate([torch.sigmoid(net(x[i:i + 64])["logit"]).numpy() for i in range(0, len(x), 64)])


def summarise(y: np.ndarray, s: np.ndarray, fold_auc: list[float] | None = None) -> dict:
    from unmask.metrics import binary_summary, bootstrap_interval, wilson

    row = binary_summary(y, s, THRESHOLD)
    real_strong = int((s[y == 0] >= STRONG).sum())
    row.update(auc_ci=bootstrap_interval(y, s), n=int(y.size), real_at_or_above_0_7=real_strong / int((y == 0).sum()),
               real_at_or_above_0_7_ci=wilson(real_strong, int((y == 0).sum())))
    if fold_auc:
        row.update(fold_auc=fold_auc, fold_auc_mean=float(np.mean(fold_auc)), fold_auc_std=float(np.std(fold_auc)))
    return row


def test_inputs(items: list[dict], net, side: int, cache: Path, baseline: Path) -> dict:
    """Per perturbation: the trunk's output on every file's face square (the detector's path) and the
    baseline's P(fake) on its own 128-px square of the same face, with the count of files without a face;
    computed once and kept in `cache`."""
    import torch

    if cache.is_file():
        return torch.load(cache, weights_only=False)
    old = run_network(baseline)
    out = {}
    for p in PERTURBATIONS:
        t0 = time.perf_counter()
        crops, missed = face_squares(items, p, (side, old.input_size))
        x = torch.from_numpy(crops[side]).permute(0, 3, 1, 2).float() / 255.0
        trunk = torch.cat([net.trunk(x[i:i + 64]).half() for i in range(0, len(x), 64)])
        out[p] = {"trunk": trunk, "baseline": score_crops(old, crops[old.input_size]),
                  "missed": missed}
        print(f"{p}: {len(items)} face squares, {missed} without a face ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    torch.save(out, cache)
    return out


LABELS = {"none": "clean", "jpeg(50)": "JPEG quality 50", "resize(0.5)": "0.5x resize"}


def markdown(result: dict) -> str:
    """The tables of docs/benchmarks/faces.md from the JSON this script writes."""
    def auc(row: dict) -> str:
        return f"{row['auc']:.3f} [{row['auc_ci'][0]:.3f}, {row['auc_ci'][1]:.3f}]"

    def alarms(row: dict) -> str:
        lo, hi = row["real_at_or_above_0_7_ci"]
        return f"{100 * row['real_at_or_above_0_7']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"

    lines = ["| condition | pooled AUC [95% CI] | AP | accuracy @0.5 | per-fold AUC (mean ± std) | no face found | "
             "real faces >= 0.7 [95% CI] |", "|---|---|---|---|---|---|---|"]
    for p, r in result["results"].items():
        a = r["all"]
        lines.append(f"| {LABELS[p]} | **{auc(a)}** | {a['ap']:.3f} | {a['accuracy']:.3f} | {a['fold_auc_mean']:.3f} ± "
                     f"{a['fold_auc_std']:.3f} | {a['no_face']} / {a['n']} | {alarms(a)} |")
    lines += ["", "| condition | files | new model: AUC [95% CI] | previous model: AUC [95% CI] | new: real faces >= 0.7 "
              "| previous: real faces >= 0.7 |", "|---|---|---|---|---|---|"]
    for p, r in result["results"].items():
        new, old = r["unseen_by_baseline"]["new"], r["unseen_by_baseline"]["baseline"]
        lines.append(f"| {LABELS[p]} | {new['n']} | {auc(new)} | {auc(old)} | {alarms(new)} | {alarms(old)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs/face_cv")
    ap.add_argument("--baseline", type=Path, default=ROOT / "runs/face_xray_scratch",
                    help="the previous model's run folder (model.safetensors, card.json)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "docs/benchmarks/faces_cv.json")
    ap.add_argument("--table", action="store_true", help="print the markdown tables of --out and stop")
    ap.add_argument("--limit", type=int, help="a smoke run on every n-th file (into another --runs)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.table:
        print(markdown(json.loads(args.out.read_text())))
        return
    from unmask.metrics import roc_auc

    args.runs.mkdir(parents=True, exist_ok=True)
    cfg, items = load_recipe(), all_items(args.data)
    items = items[::args.limit] if args.limit else items
    net = fresh_net(cfg).eval()
    keep = {it["path"].name for it in items} if args.limit else None
    passes = trunk_passes(cfg, net, args.data, args.runs / "trunk.pt", keep)
    tests = test_inputs(items, net, cfg.crop, args.runs / "test.pt", args.baseline)
    by_name = {name: i for i, name in enumerate(passes["path"]) if not passes["blended"][i]}
    n_plain = len(by_name)
    blend_at = {name: n_plain + i for i, name in enumerate(p for p, b in zip(passes["path"], passes["blended"],
                                                                           strict=True) if b)}
    fold = np.array([it["fold"] for it in items])
    new = {p: np.zeros(len(items)) for p in PERTURBATIONS}
    fold_auc: dict[str, list[float]] = {p: [] for p in PERTURBATIONS}
    y = np.array([it["label"] for it in items])
    for k in range(FOLDS):
        t0 = time.perf_counter()
        train = np.array([by_name[it["path"].name] for it in items if it["fold"] != k])
        blended = np.array([blend_at[it["path"].name] for it in items if k in it["blend"]])
        model = train_fold(cfg, passes, train, blended)
        test = np.flatnonzero(fold == k)
        for p in PERTURBATIONS:
            with torch.inference_mode():
                logit = model.rest(tests[p]["trunk"][torch.from_numpy(test)].float(), (cfg.crop, cfg.crop))["logit"]
            new[p][test] = torch.sigmoid(logit).numpy()
            fold_auc[p].append(roc_auc(y[test], new[p][test]))
        print(f"fold {k}: trained on {len(train)} files + {len(blended)} self-blended; AUC "
              + ", ".join(f"{p} {fold_auc[p][-1]:.3f}" for p in PERTURBATIONS)
              + f" ({time.perf_counter() - t0:.0f} s)", flush=True)
    unseen = np.array([it["unseen"] for it in items])
    table = {}
    for p in PERTURBATIONS:
        old = np.asarray(tests[p]["baseline"])
        table[p] = {"all": {**summarise(y, new[p], fold_auc[p]), "no_face": tests[p]["missed"]},
                    "unseen_by_baseline": {"new": summarise(y[unseen], new[p][unseen]),
                                           "baseline": summarise(y[unseen], old[unseen])}}
        row = table[p]["all"]
        print(f"{p:12s} pooled AUC {row['auc']:.3f} [{row['auc_ci'][0]:.3f}, {row['auc_ci'][1]:.3f}] AP {row['ap']:.3f} "
              f"acc@0.5 {row['accuracy']:.3f}; on the baseline's unseen files: new "
              f"{table[p]['unseen_by_baseline']['new']['auc']:.3f}, baseline "
              f"{table[p]['unseen_by_baseline']['baseline']['auc']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"config": str(CONFIG.relative_to(ROOT)), "baseline": "face_xray_scratch (shipped until 2026-12-07)",
                                    "threshold": THRESHOLD, "results": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
