"""AI-generated image detectors (`npr`, `spectral`) on aigi_photos (dev), with the size shortcut removed.

    python benchmarks/aigi_eval.py [--data DIR] [--out docs/benchmarks/ai_images.md] [--threads 1] [--no-cv]
                                   [--no-finetune] [--models npr,spectral] [--scores FILE.json]

Size-shortcut defence: every AI image of aigi_photos is 559x559 and every real photo 723-4024 px, so each
image, whatever its class, is first brought to the same size and format by one of two protocols, fixed before
any model was scored: `resize` (shortest side to 512 with Lanczos, centre crop 512x512) and `crop` (centre
crop 512x512 at the native resolution, offset rounded down to the 8x8 JPEG grid); both re-encode the result
as JPEG quality 95 (Pillow, 4:2:0). Shortcut baselines (pixel count, bytes per pixel, mean |Laplacian|) show
what is left for a trivial feature to read. Perturbations (unmask.perturb, on the normalised file): jpeg(75)
and resize(0.5).

Rows: (1) the shipped models, trained without any aigi image, on all 100 images; (2) 5-fold cross-validation
on aigi, each fold holding out one generator's 10 fakes with one real category's 10 photos (so the test
generator and the test content are never seen in training), fitting on the other 80 images either a
logistic-regression head on frozen features or the whole network, starting from the synthetic-pretrained
weights or from scratch (same steps, learning rate and seed; all fixed before any run). The threshold is 0.5,
fixed in advance; metrics come from unmask.metrics.binary_summary.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SIDE = 512
PROTOCOLS = ("resize", "crop")
PERTURBATIONS = ("none", "jpeg(75)", "resize(0.5)")
MODELS = ("npr", "spectral")
# Fitting on the aigi folds, fixed before any run (not tuned on this data).
HEAD_L2 = 1.0
BOOT = 2000  # bootstrap resamples for the 95% intervals
FIT = {"steps": 150, "batch": 16, "lr": 1e-3, "crop": {"npr": 128, "spectral": 160}}


@dataclass
class Image512:
    key: str
    label: int
    generator: str
    category: str
    raw_pixels: int
    data: bytes  # the normalised JPEG


def normalise(path: Path, protocol: str) -> tuple[bytes, int]:
    """(JPEG bytes of the 512x512 normalised image, the original's pixel count)."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        raw = im.width * im.height
        if protocol == "resize":
            s = SIDE / min(im.size)
            im = im.resize((max(SIDE, round(im.width * s)), max(SIDE, round(im.height * s))), Image.LANCZOS)
            x, y = (im.width - SIDE) // 2, (im.height - SIDE) // 2
        else:
            x, y = (im.width - SIDE) // 2 // 8 * 8, (im.height - SIDE) // 2 // 8 * 8
        im = im.crop((x, y, x + SIDE, y + SIDE))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=95)
    return buf.getvalue(), raw


def load_set(root: Path, protocol: str) -> list[Image512]:
    from unmask.datasets import convert

    manifest = convert("aigi_photos", root)
    out = []
    for it in manifest.items:
        data, raw = normalise(manifest.resolve(it.path), protocol)
        gen = str(it.attrs.get("generator") or "")
        category = Path(it.path).stem.rsplit("_", 1)[0]
        out.append(Image512(it.path, it.y, gen, category, raw, data))
    return out


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def perturbed(images: list[Image512], spec: str) -> list[np.ndarray]:
    from unmask.perturb import parse

    if spec == "none":
        return [decode(im.data) for im in images]
    chain = parse(spec)
    return [decode(chain.apply(im.data, seed=0)) for im in images]


def summary(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    from unmask.metrics import binary_summary

    return binary_summary(y, s, 0.5)


def folds(images: list[Image512]) -> list[np.ndarray]:
    """Fold k: the fakes of the k-th generator and the reals of the k-th category (both sorted by name)."""
    gens = sorted({im.generator for im in images if im.label == 1})
    cats = sorted({im.category for im in images if im.label == 0})
    if len(gens) != len(cats):
        raise SystemExit(f"expected as many generators as real categories, got {gens} and {cats}")
    return [np.array([(im.label == 1 and im.generator == g) or (im.label == 0 and im.category == c)
                      for im in images]) for g, c in zip(gens, cats, strict=True)]


def shortcut_rows(images: list[Image512]) -> list[tuple[str, float | None]]:
    """AUC (fake = higher) of trivial features; a feature can be read either way, so max(AUC, 1 - AUC)."""
    from unmask.metrics import roc_auc

    y = np.array([im.label for im in images])
    rgbs = [decode(im.data).astype(np.float32) for im in images]
    feats = {
        "original pixel count (before normalising)": [im.raw_pixels for im in images],
        "pixel count after normalising": [r.shape[0] * r.shape[1] for r in rgbs],
        "bytes per pixel of the normalised JPEG": [len(im.data) / (r.shape[0] * r.shape[1]) for im, r in
                                                   zip(images, rgbs, strict=True)],
        "mean absolute Laplacian of the luma": [_laplacian(r) for r in rgbs],
    }
    rows = []
    for name, values in feats.items():
        v = np.asarray(values, dtype=float)
        auc = roc_auc(y, v)
        rows.append((name, max(auc, 1 - auc)))
    return rows


def _laplacian(rgb: np.ndarray) -> float:
    g = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(np.abs(lap).mean())


def to_x(rgb: np.ndarray):
    from unmask.learned.infer import to_tensor

    return to_tensor(rgb)


def features(net, name: str, rgb: np.ndarray, raw: bool = False) -> np.ndarray:
    """Frozen features of one image: NPR = the pooled last stage; spectral = the MLP's last hidden layer, or
    with `raw` its hand-made input features (no learning at all)."""
    import torch

    from unmask.learned.layers import npr_residual

    x = to_x(rgb)
    with torch.inference_mode():
        if name == "npr":
            pad = [(-s) % 8 for s in x.shape[-2:]]
            x = torch.nn.functional.pad(x, (0, pad[1], 0, pad[0]), mode="reflect")
            return net.features(npr_residual(x) * net.gain).mean(dim=(2, 3))[0].numpy()
        f = net.features(x)
        return (f if raw else net.mlp[:-1](net.norm(f)))[0].numpy()


def fit_head(x: np.ndarray, y: np.ndarray, l2: float = HEAD_L2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge-penalised logistic regression by Newton steps on standardised features: (mean, std, w)."""
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    pen = np.r_[np.full(z.shape[1] - 1, l2), 0.0]
    for _ in range(50):
        p = 1 / (1 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + pen * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(pen + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mu, sd, w


def head_predict(model: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    mu, sd, w = model
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    return 1 / (1 + np.exp(-np.clip(z @ w, -50, 50)))


def fine_tune(net, name: str, rgbs: list[np.ndarray], y: np.ndarray, seed: int):
    """Train the whole network on random crops of the training fold (FIT settings), then eval mode."""
    import torch
    from torch.nn import functional as F

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    crop = FIT["crop"][name]
    opt = torch.optim.AdamW(net.parameters(), lr=FIT["lr"], weight_decay=1e-4)
    net.train()
    for _ in range(FIT["steps"]):
        idx = rng.integers(0, len(rgbs), FIT["batch"])
        batch = []
        for i in idx:
            im = rgbs[i]
            top, left = rng.integers(0, im.shape[0] - crop + 1), rng.integers(0, im.shape[1] - crop + 1)
            patch = im[top:top + crop, left:left + crop]
            batch.append(patch[:, ::-1] if rng.random() < 0.5 else patch)
        x = torch.from_numpy(np.ascontiguousarray(np.stack(batch))).permute(0, 3, 1, 2).float() / 255.0
        loss = F.binary_cross_entropy_with_logits(net(x)["logit"], torch.from_numpy(y[idx]).float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval()


def fresh(name: str, seed: int = 0):
    import torch

    from unmask.learned.net import build
    from unmask.learned.store import read_card

    torch.manual_seed(seed)
    card = read_card(name)
    return build(card["arch"], card.get("arch_kwargs")).eval()


def pretrained(name: str):
    from unmask.learned.store import load_model

    return load_model(name)[0]


def scores(net, sets: dict[str, list[np.ndarray]], mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    from unmask.learned.infer import predict_image

    out = {}
    for spec, rgbs in sets.items():
        chosen = [r for r, m in zip(rgbs, mask, strict=True) if m] if mask is not None else rgbs
        out[spec] = np.array([predict_image(net, r)[0] for r in chosen])
    return out


@dataclass
class Row:
    what: str
    model: str
    results: dict[str, dict[str, float]]  # perturbation -> binary_summary (+ fold_auc)
    scores: dict[str, np.ndarray]  # perturbation -> the 100 (out-of-fold) scores
    key: str = ""


def zero_shot(name: str, y: np.ndarray, sets: dict[str, list[np.ndarray]]) -> Row:
    s = scores(pretrained(name), sets)
    return Row("trained without aigi (synthetic up-sampling fakes only), all 100 images", name,
               {spec: summary(y, v) for spec, v in s.items()}, s, "zero-shot")


def pooled(y: np.ndarray, oof: dict[str, np.ndarray], fold_list: list[np.ndarray]) -> dict[str, dict]:
    from unmask.metrics import roc_auc

    out = {}
    for spec, s in oof.items():
        res = dict(summary(y, s))
        res["fold_auc"] = float(np.mean([roc_auc(y[f], s[f]) for f in fold_list]))
        res["fold_auc_sd"] = float(np.std([roc_auc(y[f], s[f]) for f in fold_list]))
        out[spec] = res
    return out


def cv_heads(name: str, y: np.ndarray, sets: dict[str, list[np.ndarray]], fold_list: list[np.ndarray]
             ) -> list[Row]:
    """Logistic heads on frozen features: synthetic-pretrained vs untrained features."""
    variants = {"pretrained": (pretrained(name), False, "head-pretrained")}
    if name == "npr":
        variants["untrained (random init, frozen)"] = (fresh(name), False, "head-untrained")
    else:
        variants["untrained (the hand-made spectral features, no MLP)"] = (fresh(name), True, "head-untrained")
    rows = []
    for label, (net, raw, key) in variants.items():
        feats = {spec: np.stack([features(net, name, r, raw) for r in rgbs]) for spec, rgbs in sets.items()}
        oof = {spec: np.zeros(len(y)) for spec in sets}
        for f in fold_list:
            head = fit_head(feats["none"][~f], y[~f])
            for spec in sets:
                oof[spec][f] = head_predict(head, feats[spec][f])
        rows.append(Row(f"5-fold CV on aigi, logistic head on {label} features", name,
                        pooled(y, oof, fold_list), oof, key))
    return rows


def cv_finetune(name: str, y: np.ndarray, sets: dict[str, list[np.ndarray]], fold_list: list[np.ndarray]
                ) -> list[Row]:
    """The whole network fitted on the training folds, from the synthetic-pretrained weights or from scratch."""
    rows = []
    makers = (("synthetic-pretrained", "finetune-pretrained", lambda: pretrained(name)),
              ("scratch", "finetune-scratch", lambda: fresh(name)))
    for label, key, make in makers:
        oof = {spec: np.zeros(len(y)) for spec in sets}
        for k, f in enumerate(fold_list):
            train = [r for r, m in zip(sets["none"], ~f, strict=True) if m]
            net = fine_tune(make(), name, train, y[~f], seed=k)
            for spec, v in scores(net, sets, f).items():
                oof[spec][f] = v
        rows.append(Row(f"5-fold CV on aigi, whole network fitted from {label} weights", name,
                        pooled(y, oof, fold_list), oof, key))
    return rows


def cost(name: str) -> dict[str, float]:
    """Weights file size (MB) and CPU seconds per megapixel (1024x1024 image, one thread, median of 3)."""
    from unmask.learned.infer import predict_image
    from unmask.learned.store import weights_dir

    net = pretrained(name)
    rgb = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    predict_image(net, rgb)
    runs = []
    for _ in range(3):
        t = time.process_time()
        predict_image(net, rgb)
        runs.append(time.process_time() - t)
    mb = (weights_dir() / f"{name}.safetensors").stat().st_size / 2**20
    return {"mb": mb, "cpu_s_per_mp": float(np.median(runs)) / (1024 * 1024 / 1e6)}


def comparisons(y: np.ndarray, rows: list[Row]) -> list[str]:
    """Does the synthetic pretraining help? Pretrained minus untrained / scratch, clean images."""
    from unmask.metrics import paired_difference

    by = {(r.model, r.key): r for r in rows}
    lines = []
    for model in MODELS:
        for kind in ("head", "finetune"):
            base = "untrained" if kind == "head" else "scratch"
            a, b = by.get((model, f"{kind}-pretrained")), by.get((model, f"{kind}-{base}"))
            if a is None or b is None:
                continue
            d, lo, hi = paired_difference(y, a.scores["none"], b.scores["none"], n=BOOT)
            what = "logistic head" if kind == "head" else "whole network fitted"
            lines.append(f"| {model} | {what} | {d:+.3f} | [{lo:+.3f}, {hi:+.3f}] |")
    return lines


def per_generator(y: np.ndarray, gens: list[str], rows: list[Row]) -> list[str]:
    """AUC of each generator's fakes against all reals, for the rows trained without aigi (clean images)."""
    from unmask.metrics import roc_auc

    names = sorted({g for g, t in zip(gens, y, strict=True) if t == 1})
    lines = ["| model | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for r in (r for r in rows if r.key == "zero-shot"):
        s = r.scores["none"]
        cells = []
        for g in names:
            keep = (y == 0) | np.array([x == g for x in gens])
            cells.append(f"{roc_auc(y[keep], s[keep]):.2f}")
        lines.append(f"| {r.model} | " + " | ".join(cells) + " |")
    return lines


def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def table(rows: list[Row], y: np.ndarray) -> list[str]:
    from unmask.metrics import bootstrap_interval

    head = "| model | rows | " + " | ".join(f"AUC / AP / acc@0.5 ({p})" for p in PERTURBATIONS) + " |"
    lines = [head, "|" + "---|" * (2 + len(PERTURBATIONS))]
    for r in rows:
        cells = []
        for p in PERTURBATIONS:
            m = r.results[p]
            cell = f"{_fmt(m['auc'])} / {_fmt(m['ap'])} / {_fmt(m['accuracy'], 2)}"
            if p == "none":
                lo, hi = bootstrap_interval(y, r.scores[p], n=BOOT)
                cell = f"{_fmt(m['auc'])} [{lo:.2f}, {hi:.2f}] / {_fmt(m['ap'])} / {_fmt(m['accuracy'], 2)}"
            if "fold_auc" in m:
                cell += f" (folds {m['fold_auc']:.2f}±{m['fold_auc_sd']:.2f})"
            cells.append(cell)
        lines.append(f"| {r.model} | {r.what} | " + " | ".join(cells) + " |")
    return lines


INTRO = """# AI-generated image detectors on aigi_photos

Generated by `python benchmarks/aigi_eval.py --threads 1` ({date}, torch {torch}); nothing here was tuned on
aigi_photos: the models, the fitting settings of the cross-validation (logistic head with L2 = {l2}; fine-tuning
{steps} AdamW steps, batch {batch}, lr {lr}, random crops of {crops} px, flips) and the threshold 0.5 were
fixed before the first run. Data: `../shared/data/aigi_photos` (dev), 50 real photos (animals, city, food,
nature, people; 10 each) and 50 AI images (generators diffusion1-4 and gan; 10 each).

## The size shortcut and how it is removed

Every AI image is 559x559 and every real photo 723-4024 px on its short side (the dataset README warns), so
image size alone separates the classes perfectly. Before any scoring, both classes go through the same
normalisation, chosen before any model was run:

- `resize` (headline): shortest side resized to 512 (Pillow Lanczos), centre crop 512x512, re-encoded as JPEG
  quality 95 (Pillow, 4:2:0).
- `crop`: centre crop 512x512 at the native resolution (offset rounded down to a multiple of 8, so the
  original 8x8 JPEG grid stays aligned for both classes), re-encoded as JPEG quality 95.

Both protocols leave other differences: `resize` downscales real photos 1.4-8x but AI images only 0.92x (the
history of resampling differs); `crop` keeps native pixels but shows real photos at a much finer content scale.
The trivial features below show what is left to read (separability = max(AUC, 1 - AUC), i.e. the feature's
best orientation chosen on this data, so it is an optimistic ceiling for that feature):
"""

METHOD = """
## Rows

- *trained without aigi*: the shipped model (configs/train/{{npr,spectral}}.yaml: real photos of CASIA v1
  and MediaEval VMU, simulated up-sampling fakes, no AI image) scored on all 100 images.
- *5-fold CV on aigi*: fold k holds out the fakes of one generator and the reals of one category (sorted
  generator k with sorted category k: diffusion1/animals, diffusion2/city, diffusion3/food, diffusion4/nature,
  gan/people), so each test fold has a generator and a content category the fit never saw. The 80 other
  images fit either a logistic head on frozen features (standardised, L2 = {l2}) or the whole network. The
  comparison *synthetic-pretrained* vs *untrained*/*scratch* is the test of whether the simulated fakes carry
  signal. AUC / AP / accuracy are pooled over the 100 out-of-fold scores; "folds" is the mean ± sd of the five
  per-fold AUCs. Heads and networks are fitted on clean images and tested on the perturbed ones.
- Perturbations are applied to the normalised file with unmask.perturb: `jpeg(75)` (re-encode at quality 75)
  and `resize(0.5)` (half size, re-encoded with the file's own tables).
- With 50 images per class every AUC has a 95% interval of roughly +-0.1 (shown for the clean column), and a
  difference between two rows is evidence only where its paired interval excludes 0.
"""


def write_report(out: Path, shortcuts: dict[str, list], results: dict[str, list[Row]],
                 labels: tuple[np.ndarray, list[str]], costs: dict[str, dict[str, float]], total_mb: float) -> None:
    import datetime as dt

    import torch

    lines = [INTRO.format(date=dt.date.today().isoformat(), torch=torch.__version__, l2=HEAD_L2, **FIT,
                          crops=", ".join(f"{k} {v}" for k, v in FIT["crop"].items())).rstrip(), ""]
    lines += ["| feature | " + " | ".join(f"separability ({p})" for p in shortcuts) + " |",
              "|---|" + "---|" * len(shortcuts)]
    names = [n for n, _ in next(iter(shortcuts.values()))]
    for i, n in enumerate(names):
        lines.append(f"| {n} | " + " | ".join(_fmt(shortcuts[p][i][1]) for p in shortcuts) + " |")
    lines.append(METHOD.format(l2=HEAD_L2).rstrip())
    y, gens = labels
    for protocol, rows in results.items():
        lines += ["", f"## Results, protocol `{protocol}`", "", "The clean AUC carries its 95% stratified-bootstrap "
                  f"interval ({BOOT} resamples).", "", *table(rows, y)]
        lines += ["", f"Trained without aigi, AUC of each generator's 10 fakes against the 50 reals (`{protocol}`, "
                  "clean):", "", *per_generator(y, gens, rows)]
        pairs = comparisons(y, rows)
        if pairs:
            lines += ["", f"Does the synthetic pretraining help (`{protocol}`, clean, pooled out-of-fold AUC)?", "",
                      "| model | fit on aigi folds | AUC pretrained minus untrained/scratch | 95% paired bootstrap |",
                      "|---|---|---|---|", *pairs]
    lines += ["", "## Target", "", *verdict(results)]
    lines += ["", "## Cost", "", "| model | weights (MB) | CPU s per megapixel (1 thread) |", "|---|---|---|"]
    lines += [f"| {n} | {c['mb']:.3f} | {c['cpu_s_per_mp']:.3f} |" for n, c in costs.items()]
    lines += ["", f"All shipped weights together (unmask/learned/weights): {total_mb:.2f} MB (limit 50 MB).", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = ""  # the section benchmarks/aigi_univfd.py writes (between its markers) survives a rerun
    old = out.read_text(encoding="utf-8") if out.is_file() else ""
    if "<!-- univfd:begin -->" in old and "<!-- univfd:end -->" in old:
        kept = "\n<!-- univfd:begin -->" + old.split("<!-- univfd:begin -->", 1)[1].split("<!-- univfd:end -->", 1)[0]
        kept += "<!-- univfd:end -->\n"
    out.write_text("\n".join(lines) + "\n" + kept, encoding="utf-8")


def verdict(results: dict[str, list[Row]]) -> list[str]:
    lines = []
    for protocol, rows in results.items():
        for r in rows:
            auc = r.results["none"]["auc"]
            if auc is None:
                continue
            met = "meets" if auc >= 0.85 else "misses"
            lines.append(f"- `{protocol}`, {r.model}, {r.what}: AUC {auc:.3f} {met} the 0.85 target.")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "aigi_photos")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "ai_images.md")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--scores", type=Path, default=ROOT / "bench-out" / "aigi_eval" / "scores.json",
                    help="Where every score is saved (JSON).")
    ap.add_argument("--no-cv", action="store_true", help="Only the rows trained without aigi.")
    ap.add_argument("--no-finetune", action="store_true", help="CV with logistic heads only.")
    ap.add_argument("--models", default=",".join(MODELS), help="Comma-separated shipped models to score.")
    args = ap.parse_args(argv)
    if not (args.data / "manifest.csv").is_file():
        print(f"aigi_photos not found at {args.data} (pass --data); nothing measured", file=sys.stderr)
        return 2
    import torch

    from unmask.learned.store import list_models

    torch.set_num_threads(args.threads)
    models = [m for m in args.models.split(",") if m]
    shortcuts, results, dump = {}, {}, {}
    for protocol in PROTOCOLS:
        images = load_set(args.data, protocol)
        y = np.array([im.label for im in images])
        gens = [im.generator for im in images]
        sets = {spec: perturbed(images, spec) for spec in PERTURBATIONS}
        shortcuts[protocol] = shortcut_rows(images)
        rows = [zero_shot(name, y, sets) for name in models]
        if not args.no_cv:
            fold_list = folds(images)
            for name in models:
                rows += cv_heads(name, y, sets, fold_list)
                rows += [] if args.no_finetune else cv_finetune(name, y, sets, fold_list)
        results[protocol] = rows
        dump[protocol] = {"images": [im.key for im in images], "labels": y.tolist(),
                          "rows": [{"model": r.model, "what": r.what, "key": r.key,
                                    "scores": {k: v.tolist() for k, v in r.scores.items()}} for r in rows]}
        print(f"{protocol}: done", file=sys.stderr)
    costs = {name: cost(name) for name in models}
    total = sum(c["size_mb"] for c in list_models())
    write_report(args.out, shortcuts, results, (y, gens), costs, total)
    args.scores.parent.mkdir(parents=True, exist_ok=True)
    args.scores.write_text(json.dumps(dump), encoding="utf-8")
    print(f"wrote {args.out} and {args.scores}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
