"""Metrics, tables and plots of a benchmark run, recomputed from the result cache alone (no detector runs).

Reads `DIR/run.json` (the resolved protocol), `DIR/manifest.jsonl` (labels, masks, attributes) and the cached
rows and maps; writes `DIR/report/`: report.md, binary.csv, localization.csv, slices.csv, spoofing.csv,
spoofing_generators.csv, temporal.csv (each for the metric families the protocol names) and PNG plots. Every
metric comes from `unmask.metrics`, whose conventions the table headers name.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import Item, Manifest
from ..metrics import LocalizationAccumulator, binary_summary
from . import speech
from .cache import ResultCache, row_scores
from .protocol import DEFAULT_METRICS

BINARY_HEADER = ("Image-level detection. AUC and AP: sklearn conventions (roc_auc_score, "
                 "average_precision_score), fake = positive, higher score = more fake. Accuracy and balanced "
                 "accuracy: fake iff score >= {thr} (threshold fixed in the protocol before the run). TPR@x%FPR: "
                 "largest ROC-point TPR with FPR <= x, no interpolation. A result without a score (error, not "
                 "applicable, or no opinion) counts as score 0 (not flagged); `no_score` counts them, `errors` "
                 "and `n/a` the failed and not-applicable ones among them. Items not yet in the cache are left "
                 "out (`missing`).")
LOC_HEADER = ("Pixel-level localization over fake images with a ground-truth mask (IMDL-BenCo conventions): "
              "heatmap resized bilinearly to the mask, predicted = heatmap > {thr} (strict) or the detector's "
              "own mask; F1, IoU, MCC and pixel AUC per image, then averaged over images (image-averaged, not "
              "pooled; `f1_pooled` pools all pixels). Pixel AUC averages the `n_auc` images whose mask has both "
              "classes. A fake image without a map (error, not applicable) counts as an empty map.")
SLICE_HEADER = ("Per slice of the manifest attribute `{attr}`: AUC (sklearn, fake = positive) and accuracy at "
                "{thr}. A slice holding one class only is scored against every item of the other class (e.g. "
                "one manipulation type against all real images); items without the attribute form no slice. "
                "`gap` = largest AUC minus smallest AUC over the slices of that detector and perturbation.")


@dataclass
class RunData:
    """A run as the cache holds it: protocol, items in order with their ids, and the latest row per result."""

    out: Path
    info: dict[str, Any]
    manifest: Manifest
    ids: list[str]
    rows: dict[tuple[str, str, str], dict[str, Any]]
    cache: ResultCache

    @property
    def threshold(self) -> float:
        return float(self.info["protocol"]["threshold"])

    @property
    def detectors(self) -> list[str]:
        return list(self.info["detector_versions"])

    @property
    def perturbations(self) -> list[str]:
        return list(self.info["perturbations"])


def load_run(out: str | Path) -> RunData:
    """Read a run folder written by `run_protocol`; ValueError when it is not one."""
    out = Path(out)
    if not (out / "run.json").is_file() or not (out / "manifest.jsonl").is_file():
        raise ValueError(f"{out}: not a benchmark run folder (no run.json / manifest.jsonl); run `bench run` first")
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    manifest = Manifest.read(out / "manifest.jsonl")
    cache = ResultCache(out)
    versions = info["detector_versions"]
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in cache.rows():  # oldest part first: a later row for the same result wins
        if versions.get(row["detector"]) == row["detector_version"]:
            rows[(row["item"], row["detector"], row["perturbation"])] = row
    return RunData(out, info, manifest, list(info["items"]), rows, cache)


def _results(run: RunData, det: str, pert: str) -> tuple[list[int], list[dict[str, Any]]]:
    """Indices of items that have a cached row for (det, pert), and those rows."""
    idx, rows = [], []
    for i, item_id in enumerate(run.ids):
        row = run.rows.get((item_id, det, pert))
        if row is not None:
            idx.append(i)
            rows.append(row)
    return idx, rows


def binary_row(run: RunData, det: str, pert: str) -> dict[str, Any]:
    """One line of the detection table for (perturbation, detector)."""
    idx, rows = _results(run, det, pert)
    out: dict[str, Any] = {"perturbation": pert, "detector": det}
    if rows:
        y = np.array([run.manifest.items[i].y for i in idx])
        out.update(binary_summary(y, row_scores(rows), run.threshold))
    else:
        out.update({"n": 0, "n_pos": 0})
    runtimes = [r["runtime_s"] for r in rows if r.get("runtime_s") is not None]
    out["errors"] = sum(r["status"] == "error" for r in rows)
    out["n/a"] = sum(r["status"] == "not_applicable" for r in rows)
    out["no_score"] = sum(r.get("score") is None for r in rows)
    out["missing"] = len(run.ids) - len(rows)
    out["median_s"] = float(np.median(runtimes)) if runtimes else None
    return out


def _gt(run: RunData, item: Item, memo: dict[str, np.ndarray]) -> np.ndarray | None:
    from PIL import Image

    if item.label != "fake" or not item.mask:
        return None
    if item.mask not in memo:
        path = run.manifest.resolve(item.mask)
        try:
            with Image.open(path) as im:
                memo[item.mask] = np.asarray(im.convert("L"))
        except (OSError, ValueError):
            return None
    return memo[item.mask]


def localization_row(run: RunData, det: str, pert: str, memo: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """Image-averaged localization for (perturbation, detector); None when the detector gave no map at all."""
    idx, rows = _results(run, det, pert)
    if not any(r.get("map") for r in rows):
        return None
    acc = LocalizationAccumulator(threshold=run.threshold)
    no_map = 0
    for i, row in zip(idx, rows, strict=True):
        gt = _gt(run, run.manifest.items[i], memo)
        if gt is None:
            continue
        heatmap, mask = run.cache.load_maps(row.get("map"))
        if heatmap is None and mask is None:
            no_map += 1
            heatmap = np.zeros(gt.shape, np.float32)
        acc.add(heatmap, gt, mask=mask)
    return {"perturbation": pert, "detector": det, **acc.summary(), "without_map": no_map}


def _slice_value(item: Item, attr: str) -> str | None:
    value = item.attrs.get(attr, getattr(item, attr, None) if attr in Item.__dataclass_fields__ else None)
    return None if value in (None, "") else str(value)


def slice_rows(run: RunData, det: str, pert: str, attr: str) -> list[dict[str, Any]]:
    """Detection metrics per value of `attr` (see SLICE_HEADER), each row with its counts and the gap."""
    idx, rows = _results(run, det, pert)
    items = [run.manifest.items[i] for i in idx]
    y = np.array([it.y for it in items])
    s = row_scores(rows)
    values = [_slice_value(it, attr) for it in items]
    out = []
    for v in sorted({v for v in values if v is not None}):
        member = np.array([x == v for x in values])
        classes = set(y[member].tolist())
        pick = member | (y != y[member][0]) if len(classes) == 1 else member
        summary = binary_summary(y[pick], s[pick], run.threshold)
        out.append({"attribute": attr, "slice": v, "perturbation": pert, "detector": det,
                    "n_slice": int(member.sum()), "n": summary["n"], "n_pos": summary["n_pos"],
                    "auc": summary["auc"], "accuracy": summary["accuracy"]})
    aucs = [r["auc"] for r in out if r["auc"] is not None]
    gap = max(aucs) - min(aucs) if len(aucs) > 1 else None
    for r in out:
        r["gap"] = gap
    return out


def speech_rows(run: RunData, det: str, pert: str, families: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The spoofing, per-generator and temporal rows of (perturbation, detector), as the families ask."""
    idx, rows = _results(run, det, pert)
    items = [run.manifest.items[i] for i in idx]
    key = {"perturbation": pert, "detector": det}
    out: dict[str, list[dict[str, Any]]] = {"spoofing": [], "spoofing_generators": [], "temporal": []}
    if "spoofing" in families:
        row = speech.spoofing_row(items, rows, run.threshold, run.info.get("tdcf_weights"))
        out["spoofing"].append({**key, **row, "missing": len(run.ids) - len(rows)})
        out["spoofing_generators"] = [{**key, **r} for r in speech.generator_rows(items, rows, run.threshold)]
    temporal = speech.temporal_row(items, rows) if "temporal" in families else None
    if temporal is not None:
        out["temporal"].append({**key, **temporal, "missing": len(run.ids) - len(rows)})
    return out


def compute(run: RunData) -> dict[str, list[dict[str, Any]]]:
    """All tables: binary, localization, slices, spoofing, spoofing_generators and temporal, one row per
    (perturbation, detector[, slice or generator]), for the metric families the protocol names."""
    families = run.info["protocol"].get("metrics") or list(DEFAULT_METRICS)
    tables: dict[str, list[dict[str, Any]]] = {"binary": [], "localization": [], "slices": [], "spoofing": [],
                                               "spoofing_generators": [], "temporal": []}
    memo: dict[str, np.ndarray] = {}
    for pert in run.perturbations:
        for det in run.detectors:
            if "binary" in families:
                tables["binary"].append(binary_row(run, det, pert))
            loc = localization_row(run, det, pert, memo) if "localization" in families else None
            if loc is not None:
                tables["localization"].append(loc)
            for name, rows in speech_rows(run, det, pert, families).items():
                tables[name].extend(rows)
            for attr in run.info["protocol"].get("slices") or []:
                tables["slices"].extend(slice_rows(run, det, pert, attr))
    return tables


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return [*lines, ""]


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def slug(text: str) -> str:
    """A file-name-safe form of a perturbation spec."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "none"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scores(run: RunData, det: str, pert: str) -> tuple[np.ndarray, np.ndarray]:
    idx, rows = _results(run, det, pert)
    return np.array([run.manifest.items[i].y for i in idx], dtype=int), row_scores(rows)


def plot_roc(run: RunData, pert: str, path: Path, plt: Any) -> bool:
    """ROC curves of every detector under one perturbation (sklearn's curve, fake = positive)."""
    from ..metrics import roc_auc, roc_curve

    fig, ax = plt.subplots(figsize=(5, 5))
    drawn = False
    for det in run.detectors:
        y, s = _scores(run, det, pert)
        if y.size and 0 < y.sum() < y.size:
            fpr, tpr, _ = roc_curve(y, s)
            ax.plot(fpr, tpr, label=f"{det} ({roc_auc(y, s):.3f})")
            drawn = True
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC, {pert} (fake = positive)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return drawn


def plot_reliability(run: RunData, pert: str, path: Path, plt: Any) -> bool:
    """Reliability diagram (15 equal-width bins of the score, as `ece`) of every detector under one perturbation."""
    from ..metrics import reliability_curve

    fig, ax = plt.subplots(figsize=(5, 5))
    drawn = False
    for det in run.detectors:
        y, s = _scores(run, det, pert)
        if y.size:
            curve = reliability_curve(y, np.clip(s, 0.0, 1.0))
            full = curve.count > 0
            ax.plot(curve.mean_confidence[full], curve.fake_rate[full], marker="o", ms=3,
                    label=f"{det} (ECE {curve.ece:.3f})")
            drawn = True
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="mean score in bin", ylabel="observed fake rate", xlim=(0, 1), ylim=(0, 1),
           title=f"Reliability (uncalibrated scores), {pert}")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return drawn


def plot_robustness(binary: list[dict[str, Any]], perts: list[str], path: Path, plt: Any) -> bool:
    """Image AUC of each detector against the perturbation, in protocol order."""
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(perts) + 2), 4))
    by_det: dict[str, dict[str, float | None]] = defaultdict(dict)
    for r in binary:
        by_det[r["detector"]][r["perturbation"]] = r.get("auc")
    for det, aucs in by_det.items():
        ys = [np.nan if aucs.get(p) is None else aucs[p] for p in perts]
        ax.plot(range(len(perts)), ys, marker="o", label=det)
    ax.axhline(0.5, ls=":", c="grey")
    ax.set_xticks(range(len(perts)), perts, rotation=20, fontsize=8)
    ax.set(ylabel="image AUC (sklearn, fake = positive)", ylim=(0, 1), title="Robustness: AUC vs perturbation")
    ax.legend(fontsize=7, loc="lower left", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return bool(by_det)


def plots(run: RunData, tables: dict[str, list[dict[str, Any]]], folder: Path) -> list[str]:
    """Write the PNGs (matplotlib Agg) and return their names; none when matplotlib is missing."""
    plt = _pyplot()
    if plt is None:
        return []
    names = []
    for pert in run.perturbations:
        for kind, fn in (("roc", plot_roc), ("reliability", plot_reliability)):
            name = f"{kind}_{slug(pert)}.png"
            if fn(run, pert, folder / name, plt):
                names.append(name)
    if tables["binary"] and plot_robustness(tables["binary"], run.perturbations, folder / "robustness.png", plt):
        names.append("robustness.png")
    return names


BINARY_COLUMNS = ["perturbation", "detector", "n", "n_pos", "auc", "ap", "accuracy", "balanced_accuracy",
                  "tpr@1%fpr", "tpr@5%fpr", "errors", "n/a", "no_score", "missing", "median_s"]
LOC_COLUMNS = ["perturbation", "detector", "n", "f1", "iou", "mcc", "auc", "n_auc", "f1_pooled", "without_map"]
SLICE_COLUMNS = ["perturbation", "detector", "slice", "n_slice", "n", "n_pos", "auc", "accuracy", "gap"]


def _errors(run: RunData, limit: int = 10) -> list[str]:
    bad = [r for r in run.rows.values() if r["status"] == "error"]
    lines = [f"- {r['item']} / {r['perturbation']} / {r['detector']}: {r['error']}" for r in bad[:limit]]
    return lines + ([f"- ... and {len(bad) - limit} more (see the cache)"] if len(bad) > limit else [])


def _no_opinion(run: RunData) -> list[str]:
    """Per detector, how many successful results carried no score, with one of its summaries as the reason."""
    counts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in run.rows.values():
        if r["status"] == "ok" and r.get("score") is None:
            counts[r["detector"]].append(r)
    total = len(run.ids) * len(run.perturbations)
    return [f"- {det}: {len(rows)} of {total} results gave no opinion, e.g. \"{rows[0].get('summary') or ''}\""
            for det, rows in sorted(counts.items())]


def _generator_table(rows: list[dict[str, Any]], detectors: list[str]) -> list[str]:
    """Generators down, one EER column per detector (the CSV has every column, one row per pair)."""
    wide: dict[str, dict[str, Any]] = {}
    for r in rows:
        line = wide.setdefault(r["generator"], {"generator": r["generator"], "n_fake": r["n_fake"]})
        line[f"eer {r['detector']}"] = r["eer"]
    return markdown_table(list(wide.values()), ["generator", "n_fake", *(f"eer {d}" for d in detectors)])


def _speech_sections(run: RunData, tables: dict[str, list[dict[str, Any]]]) -> list[str]:
    thr, lines = run.threshold, []
    families = run.info["protocol"].get("metrics") or []
    if tables["spoofing"]:
        lines += ["## Anti-spoofing", "", speech.SPOOF_HEADER.format(thr=thr), ""]
        tdcf = run.info.get("tdcf_weights")
        if tdcf:
            asv = tdcf.get("asv") or {}
            lines += [f"t-DCF weights: C0 = {tdcf['c0']:.6g}, C1 = {tdcf['c1']:.6g}, C2 = {tdcf['c2']:.6g} "
                      f"({tdcf['source']}"
                      + (f"; ASV trials: {asv['n_target']} target, {asv['n_nontarget']} non-target, "
                         f"{asv['n_spoof']} spoof, EER threshold {asv['threshold']:.4g}" if asv else "") + ").", ""]
        for pert in run.perturbations:
            rows = [r for r in tables["spoofing"] if r["perturbation"] == pert]
            lines += [f"### {pert}", "", *markdown_table(rows, speech.SPOOF_COLUMNS[1:])]
    if tables["spoofing_generators"]:
        lines += ["## Anti-spoofing per generator", "", speech.GENERATOR_HEADER.format(thr=thr), ""]
        for pert in run.perturbations:
            rows = [r for r in tables["spoofing_generators"] if r["perturbation"] == pert]
            lines += [f"### {pert}", "", *_generator_table(rows, run.detectors)]
    if tables["temporal"]:
        lines += ["## Temporal localization", "", speech.TEMPORAL_HEADER, ""]
        lines += markdown_table(tables["temporal"], speech.TEMPORAL_COLUMNS)
    elif "temporal" in families:
        lines += ["## Temporal localization", "", "No item of this run has ground-truth `segments`, so there is "
                  "nothing to localise against.", ""]
    return lines


def render(run: RunData, tables: dict[str, list[dict[str, Any]]], images: list[str]) -> str:
    """The Markdown report."""
    p, thr = run.info["protocol"], run.threshold
    counts = run.manifest.counts()
    lines = [f"# Benchmark: {p['name']}", "",
             f"Recomputed from the cache by `unmask bench report` on {time.strftime('%Y-%m-%d %H:%M')}. "
             f"Dataset: {p['dataset'].get('adapter') or 'manifest'}, {len(run.ids)} items "
             f"({counts['fake']} fake, {counts['real']} real)"
             + (f", split {p['split']}" if p.get("split") else "") + f"; threshold {thr} (fixed in the protocol); "
             f"perturbation seed {p.get('seed', 0)}.", ""]
    if tables["binary"]:
        lines += ["## Detection", "", BINARY_HEADER.format(thr=thr), ""]
        for pert in run.perturbations:
            rows = [r for r in tables["binary"] if r["perturbation"] == pert]
            lines += [f"### {pert}", "", *markdown_table(rows, BINARY_COLUMNS[1:])]
    if tables["localization"]:
        lines += ["## Localization", "", LOC_HEADER.format(thr=thr), ""]
        lines += markdown_table(tables["localization"], LOC_COLUMNS)
    lines += _speech_sections(run, tables)
    for attr in p.get("slices") or []:
        rows = [r for r in tables["slices"] if r["attribute"] == attr]
        lines += [f"## Slices by `{attr}`", "", SLICE_HEADER.format(attr=attr, thr=thr), ""]
        lines += markdown_table(rows, SLICE_COLUMNS)
    if images:
        lines += ["## Plots", ""] + [f"![{name}]({name})" for name in images] + [""]
    errors, silent = _errors(run), _no_opinion(run)
    if silent:
        lines += ["## Results without a score", "", *silent, ""]
    if errors:
        lines += ["## Errors", "", *errors, ""]
    return "\n".join(lines)


def write_report(out: str | Path) -> Path:
    """Compute every table from the cache of run folder `out` and write `out/report/`; returns report.md."""
    run = load_run(out)
    folder = run.out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    tables = compute(run)
    for name, rows in tables.items():
        if rows:
            write_csv(rows, folder / f"{name}.csv")
    images = plots(run, tables, folder)
    path = folder / "report.md"
    path.write_text(render(run, tables, images), encoding="utf-8")
    return path
