"""CASIA v1.0 (dev half) image-forensics benchmark: every unmask signal detector and, side by side on the
same images with the same metric code, pyIFD's 15 classic algorithms (a benchmark-only peer).

    python benchmarks/casia1_image_forensics.py [--data DIR] [--per-class N] [--peer-python PY]
                                               [--out docs/benchmarks/image_forensics.md]

Metrics (docs/METRICS conventions, implemented once in `unmask.metrics`): image AUC and AP with fake = 1;
accuracy at the fixed threshold 0.5 for unmask scores (set before any run; pyIFD has no score scale, so none);
per-image pixel F1 at 0.5 and per-image pixel AUC, averaged over tampered images that have a mask.
Image score of a map-only method (every pyIFD algorithm) = the maximum of its map (PhotoHolmes' rule);
pyIFD maps are min-max scaled per image to [0,1] for F1@0.5, and resized bilinearly to the mask size.
Nothing is tuned on this data: detector parameters and thresholds were fixed before this benchmark ran.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

import unmask
from unmask.analysis import Analyzer
from unmask.detectors import Registry
from unmask.metrics import LocalizationAccumulator, accuracy_at, average_precision, roc_auc

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "casia1"
THRESHOLD = 0.5
# Which pyIFD algorithms implement the same family of method as each unmask detector (for the speed ratio).
FAMILY = {
    "ela": ["ELA"], "jpeg_ghost": ["GHOST"], "jpeg_grid_alignment": ["BLK", "CAGI"],
    "jpeg_double_quant": ["ADQ1", "ADQ2", "ADQ3", "NADQ", "DCT"], "cfa": ["CFA1", "CFA2"],
    "noise_wavelet": ["NOI1", "NOI2", "NOI4", "NOI5"], "splicebuster": ["NOI1", "NOI2", "NOI4", "NOI5"],
}
NOT_SIGNAL = {"metadata"}
SHORTCUT = "shortcut check: JPEG quality alone (in-sample)"  # heatmap from an EXIF thumbnail comparison, not a signal method


@dataclass
class Sample:
    path: Path
    fake: bool
    mask: Path | None
    manipulation: str


@dataclass
class MethodResult:
    """Scores, localization and runtimes of one method over a set of images."""

    labels: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    loc: LocalizationAccumulator = field(default_factory=LocalizationAccumulator)
    failures: int = 0


def read_manifest(data: Path) -> list[Sample]:
    with (data / "manifest.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [Sample(data / r["path"], r["label"] == "fake", data / r["mask"] if r["mask"] else None,
                   r["manipulation"]) for r in rows]


def subset(samples: list[Sample], per_class: int) -> list[Sample]:
    """A fixed balanced subset: per class, the first N by SHA-1 of the relative path (fakes need a mask)."""
    def key(s: Sample) -> str:
        return hashlib.sha1(s.path.name.encode()).hexdigest()

    fakes = sorted((s for s in samples if s.fake and s.mask), key=key)[:per_class]
    reals = sorted((s for s in samples if not s.fake), key=key)[:per_class]
    return sorted(fakes + reals, key=key)


def load_mask(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def signal_detectors(registry: Registry) -> list[str]:
    return [c.name for c in registry if "image" in c.modalities and "heatmap" in c.outputs
            and c.name not in NOT_SIGNAL and c.installed()]


def run_unmask(samples: list[Sample], names: list[str]) -> dict[str, MethodResult]:
    """Each detector timed on a freshly loaded image (cold shared cache), plus the fused default profile."""
    registry = Registry.default()
    detectors = {n: registry.get(n)() for n in names}
    profile = Analyzer(profile="default", skip_uninstalled=True)
    results: dict[str, MethodResult] = defaultdict(MethodResult)
    for i, s in enumerate(samples):
        gt = load_mask(s.mask) if s.mask else None
        for name, det in detectors.items():
            media = unmask.load(s.path)
            start = time.perf_counter()
            ev = det.analyze(media)
            _record(results[name], s, time.perf_counter() - start, ev.score, ev.heatmap, ev.mask, gt)
        start = time.perf_counter()
        report = profile.analyze(s.path)
        _record(results["verdict (default profile)"], s, time.perf_counter() - start,
                report.verdict.probability if report.verdict else None, None, None, None)
        if (i + 1) % 50 == 0:
            print(f"unmask: {i + 1}/{len(samples)}", file=sys.stderr, flush=True)
    return dict(results)


def _record(r: MethodResult, s: Sample, seconds: float, score: float | None, heatmap: np.ndarray | None,
            mask: np.ndarray | None, gt: np.ndarray | None) -> None:
    r.seconds.append(seconds)
    r.labels.append(int(s.fake))
    r.scores.append(0.0 if score is None else float(score))  # no opinion ranks as "not flagged"
    if gt is not None and heatmap is not None:
        r.loc.add(heatmap, gt, mask=mask)


def run_peer(samples: list[Sample], python: Path, work: Path) -> dict[str, MethodResult]:
    """pyIFD in its own interpreter; resumable through its per-image output files."""
    work.mkdir(parents=True, exist_ok=True)
    listing = work / "images.json"
    listing.write_text(json.dumps([str(s.path) for s in samples]))
    runner = ROOT / "benchmarks" / "peers" / "pyifd_runner.py"
    subprocess.run([str(python), str(runner), str(listing), str(work / "maps")], check=True)
    results: dict[str, MethodResult] = defaultdict(MethodResult)
    for s in samples:
        with np.load(work / "maps" / f"{s.path.stem}.npz") as z:
            gt = load_mask(s.mask) if s.mask else None
            for key in z.files:
                if key.startswith("error_"):
                    results[key[6:]].failures += 1
                    _record(results[key[6:]], s, float("nan"), None, None, None, None)
                elif key.startswith("map_"):
                    name = key[4:]
                    raw = np.nan_to_num(z[key].astype(np.float64))
                    _record(results[name], s, float(z[f"time_{name}"]), float(raw.max()), _minmax(raw), None, gt)
    return dict(results)


def _luma_table(path: Path) -> np.ndarray:
    """The luma quantization table from the JPEG header (Pillow reads it without decoding pixels)."""
    with Image.open(path) as im:
        return np.asarray(im.quantization[0]).reshape(8, 8)


def header_baseline(samples: list[Sample]) -> MethodResult:
    """Shortcut check: score each image by the fake rate of its JPEG quality (read from the header, no pixels)
    in this very set. In-sample, so an upper bound on how much the header alone gives the label away."""
    from unmask.provenance.jpeg_tables import estimated_quality

    quality = [estimated_quality(_luma_table(s.path)) for s in samples]
    fake_rate = {q: np.mean([s.fake for s, v in zip(samples, quality, strict=True) if v == q]) for q in set(quality)}
    result = MethodResult()
    for s, q in zip(samples, quality, strict=True):
        _record(result, s, 0.0, float(fake_rate[q]), None, None, None)
    return result


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return np.zeros_like(x, np.float32) if hi <= lo else ((x - lo) / (hi - lo)).astype(np.float32)


def summarise(r: MethodResult, with_accuracy: bool) -> dict[str, float | None]:
    y, s = np.asarray(r.labels), np.asarray(r.scores)
    loc = r.loc.summary()
    return {
        "auc": roc_auc(y, s), "ap": average_precision(y, s),
        "acc": accuracy_at(y, s, THRESHOLD) if with_accuracy else None,
        "f1": loc.get("f1"), "pixel_auc": loc.get("auc"), "n_loc": loc.get("n", 0),
        "sec": float(np.nanmedian(r.seconds)), "failures": r.failures,
    }


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{digits}f}"


def table(rows: dict[str, dict], title: str) -> list[str]:
    lines = [f"### {title}", "", "| method | image AUC | image AP | acc@0.5 | pixel F1@0.5 | pixel AUC | "
             "s/image (median) |", "|---|---|---|---|---|---|---|"]
    for name, m in rows.items():
        fail = f" ({m['failures']} failed)" if m["failures"] else ""
        lines.append(f"| {name}{fail} | {_fmt(m['auc'])} | {_fmt(m['ap'])} | {_fmt(m['acc'])} | {_fmt(m['f1'])} | "
                     f"{_fmt(m['pixel_auc'])} | {_fmt(m['sec'], 4)} |")
    return [*lines, ""]


def speed_lines(ours: dict[str, dict], peer: dict[str, dict]) -> list[str]:
    lines = ["### Speed against the pyIFD algorithm of the same family", "",
             "| unmask detector | s/image | pyIFD algorithm | s/image | speed-up |", "|---|---|---|---|---|"]
    for name, algs in FAMILY.items():
        for alg in algs:
            if name in ours and alg in peer:
                a, b = ours[name]["sec"], peer[alg]["sec"]
                lines.append(f"| {name} | {a:.4f} | {alg} | {b:.4f} | {b / a:.1f}x |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("UNMASK_CASIA1", DEFAULT_DATA)))
    ap.add_argument("--per-class", type=int, default=50, help="images per class in the side-by-side subset")
    ap.add_argument("--peer-python", type=Path, default=ROOT / ".venv-pyifd" / "bin" / "python",
                    help="pyIFD's interpreter; a path that does not exist skips the peer")
    ap.add_argument("--work", type=Path, default=ROOT / "bench-out" / "casia1")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "image_forensics.md")
    ap.add_argument("--full", action="store_true", help="also run unmask on all images of the split")
    ap.add_argument("--title", default="Image forensics on CASIA v1.0 (development half)")
    args = ap.parse_args(argv)
    args.command = " ".join(sys.argv[1:] if argv is None else argv)
    if not (args.data / "manifest.csv").exists():
        print(f"CASIA v1 data not found at {args.data}; pass --data", file=sys.stderr)
        return 2
    samples = read_manifest(args.data)
    chosen = subset(samples, args.per_class)
    names = signal_detectors(Registry.default())
    ours = {k: summarise(v, True) for k, v in run_unmask(chosen, names).items()}
    ours[SHORTCUT] = summarise(header_baseline(chosen), False)
    peer: dict[str, dict] = {}
    if args.peer_python.exists():
        peer = {f"pyIFD {k}": summarise(v, False) for k, v in sorted(run_peer(chosen, args.peer_python,
                                                                               args.work).items())}
    else:
        print(f"pyIFD environment not found at {args.peer_python}; peer columns skipped", file=sys.stderr)
    full = {k: summarise(v, True) for k, v in run_unmask(samples, names).items()} if args.full else {}
    if full:
        full[SHORTCUT] = summarise(header_baseline(samples), False)
    report = render(args, chosen, samples, ours, peer, full)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    (args.work / "results.json").parent.mkdir(parents=True, exist_ok=True)
    (args.work / "results.json").write_text(json.dumps({"unmask": ours, "pyifd": peer, "full": full}, indent=1))
    print(report)
    return 0


def render(args: argparse.Namespace, chosen: list[Sample], samples: list[Sample], ours: dict, peer: dict,
           full: dict) -> str:
    n_fake = sum(s.fake for s in chosen)
    lines = [f"# {args.title}", "",
             "Generated by `python benchmarks/casia1_image_forensics.py " + args.command + "` on "
             f"{time.strftime('%Y-%m-%d')} (machine: {os.cpu_count()} CPU cores, one process, no GPU). "
             "Do not edit by hand; commentary is in docs/detectors.md.", "",
             "Conventions: fake = positive class. Image AUC/AP over all listed images; accuracy at the fixed "
             "threshold 0.5 (unmask scores only: pyIFD maps have no probability scale). Pixel F1 at 0.5 "
             "(heatmap > 0.5, or the method's own mask) and pixel AUC are per image, averaged over tampered "
             "images with a mask (image-averaged, not pooled; not inversion-tolerant). Heatmaps are resized "
             "bilinearly to the mask. pyIFD: image score = max of the native map (PhotoHolmes' rule for "
             "map-only methods); maps min-max scaled per image before F1@0.5. Times: median wall seconds "
             "per image for the method alone on a freshly decoded image (unmask: cold shared cache); "
             "'verdict (default profile)' is the whole default profile including decoding and fusion.", ""]
    lines += [f"Subset: {len(chosen)} images ({n_fake} tampered with masks, {len(chosen) - n_fake} authentic), "
             f"the first {args.per_class} per class by SHA-1 of the file name.", ""]
    lines += table({**ours, **peer}, "Side by side on the subset (same images, same metric code)")
    if peer:
        lines += speed_lines(ours, {k.removeprefix("pyIFD "): v for k, v in peer.items()})
    if full:
        lines += table(full, f"unmask on the whole dev split ({len(samples)} images)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
