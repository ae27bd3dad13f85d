"""`unmask calibrate DETECTOR MANIFEST`: score a manifest with one detector, fit a calibration on its dev
split, choose an operating threshold at a target FPR on that split, measure ECE before/after on a separate
split, and write the calibration file.

Splits come from the manifest's `split` column; when no item has one, the items are split at random (seeded)
by `group` (the source id; an item without one is its own group), so no group straddles dev and held-out.
Register with `app.command("calibrate")(calibrate)`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from ..errors import MissingDependency
from .fit import METHODS, require_fit_dependencies

GroupedSplit = tuple[list[Any], list[Any], str]


def split_items(items: Sequence[Any], dev_split: str, eval_split: str, seed: int = 0,
                dev_fraction: float = 0.5) -> GroupedSplit:
    """(dev items, held-out items, how they were split): by the `split` column when any item has one, else
    a seeded random split of whole groups with about `dev_fraction` of the items in dev."""
    if any(it.split for it in items):
        dev = [it for it in items if it.split == dev_split]
        held = [it for it in items if it.split == eval_split]
        found = sorted({it.split for it in items if it.split})
        for name, chosen in ((dev_split, dev), (eval_split, held)):
            if not chosen:
                raise ValueError(f"no item has split {name!r}; the manifest's splits are {', '.join(found)}")
        return dev, held, f"manifest splits {dev_split!r} / {eval_split!r}"
    if not 0.0 < dev_fraction < 1.0:
        raise ValueError(f"dev fraction must be in (0, 1), got {dev_fraction}")
    groups: dict[str, list[Any]] = {}
    for it in items:
        groups.setdefault(it.group or f"\0{it.key()}", []).append(it)
    order = np.random.default_rng(seed).permutation(len(groups))
    keys = list(groups)
    dev, held, target = [], [], dev_fraction * len(items)
    for k in order:
        (dev if len(dev) < target else held).extend(groups[keys[k]])
    if not dev or not held:
        raise ValueError(f"{len(groups)} group(s) cannot be split into dev and held-out parts")
    return dev, held, f"random group split (seed {seed}, {len(groups)} groups, dev fraction {dev_fraction})"


def score_items(detector: Any, items: Sequence[Any], manifest: Any,
                on_item: Callable[[], Any] | None = None) -> tuple[list[tuple[str, float, int]], list[str]]:
    """([(item key, raw score, label)], problems) of `detector` on the items; items it cannot score are
    left out and named in the problems."""
    from ..errors import UnmaskError
    from ..media import load

    rows, problems = [], []
    for it in items:
        try:
            evidence = detector.analyze(load(manifest.resolve(it.path)))
        except UnmaskError as exc:
            problems.append(f"{it.key()}: {exc}")
            evidence = None
        except Exception as exc:  # a detector bug on one file must not lose the whole run
            problems.append(f"{it.key()}: {type(exc).__name__}: {exc}")
            evidence = None
        if evidence is not None and evidence.score is None:
            problems.append(f"{it.key()}: no score ({evidence.summary})")
        elif evidence is not None:
            rows.append((it.key(), float(evidence.score), it.y))
        if on_item:
            on_item()
    return rows, problems


def _write_scores(path: Path, rows: list[tuple[str, str, float, int]]) -> None:
    """CSV of split, path, score, y: enough to refit another method without running the detector again."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["split", "path", "score", "y"])
        writer.writerows(rows)


def _load(detector: str, manifest: Path) -> tuple[Any, Any]:
    from ..datasets import Manifest
    from ..detectors import Registry
    from ..errors import UnmaskError

    try:
        cls = Registry.default().get(detector)
        cls.ensure_installed()
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="DETECTOR") from exc
    try:
        return cls, Manifest.read(manifest)
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="MANIFEST") from exc


def _score_split(det: Any, items: list[Any], manifest: Any, name: str) -> list[tuple[str, float, int]]:
    from rich.console import Console
    from rich.progress import Progress

    err = Console(stderr=True)
    with Progress(console=err, disable=not err.is_terminal, transient=True) as bar:
        task = bar.add_task(f"scoring {name}", total=len(items))
        rows, problems = score_items(det, items, manifest, on_item=lambda: bar.advance(task))
    for line in problems[:5]:
        err.print(f"skipped {line}", markup=False, highlight=False)
    if len(problems) > 5:
        err.print(f"... {len(problems) - 5} more items skipped", markup=False)
    return rows


def _arrays(rows: list[tuple[str, float, int]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([r[1] for r in rows], dtype=np.float64), np.array([r[2] for r in rows], dtype=np.int64)


def calibrate(
    detector: Annotated[str, typer.Argument(help="Detector to calibrate (see `unmask detectors`).")],
    manifest: Annotated[Path, typer.Argument(help="Manifest (.csv/.jsonl/.parquet) of labelled items.")],
    dev_split: Annotated[str, typer.Option(help="Split the calibration and threshold are fitted on.")] = "dev",
    eval_split: Annotated[str, typer.Option(help="Separate split the ECE before/after is measured on.")] = "test",
    method: Annotated[str, typer.Option(help="platt, isotonic or temperature.")] = "platt",
    target_fpr: Annotated[float, typer.Option(help="False-positive rate the threshold aims at on dev.")] = 0.05,
    out: Annotated[Path | None, typer.Option(help="Calibration file to write [DETECTOR.calibration.json].")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the group split when the manifest has no splits.")] = 0,
    dev_fraction: Annotated[float, typer.Option(help="Share of items in dev for the group split.")] = 0.5,
    scores: Annotated[Path | None, typer.Option(help="Also write the raw scores (CSV) here.")] = None,
) -> None:
    """Fit a score calibration for one detector on a manifest's dev split and write it as JSON."""
    from .store import fit_calibration

    if method not in METHODS:
        raise typer.BadParameter(f"use one of {', '.join(METHODS)}", param_hint="--method")
    if not 0.0 <= target_fpr <= 1.0:
        raise typer.BadParameter("must be in [0, 1]", param_hint="--target-fpr")
    try:  # before the detector scores the whole manifest
        require_fit_dependencies()
    except MissingDependency as exc:
        typer.echo(f"error: cannot calibrate: {exc}", err=True)
        raise typer.Exit(1) from exc
    cls, data = _load(detector, manifest)
    try:
        dev_items, held_items, how = split_items(data.items, dev_split, eval_split, seed, dev_fraction)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--dev-split") from exc
    det = cls()
    dev_rows, held_rows = _score_split(det, dev_items, data, "dev"), _score_split(det, held_items, data, "held-out")
    if scores:
        _write_scores(scores, [(dev_split, *r) for r in dev_rows] + [(eval_split, *r) for r in held_rows])
    (s_dev, y_dev), (s_ev, y_ev) = _arrays(dev_rows), _arrays(held_rows)
    fitted_on = {"manifest": str(manifest), "manifest_name": manifest.name, "split": dev_split, "how": how}
    try:
        cal = fit_calibration(cls.name, cls.version, method, (s_dev, y_dev), (s_ev, y_ev), target_fpr,
                              fitted_on, eval_split)
    except ValueError as exc:
        typer.echo(f"error: cannot calibrate {cls.name}: {exc}", err=True)
        raise typer.Exit(1) from exc
    path = cal.save(out or Path(f"{cls.name}.calibration.json"))
    _print_summary(cal, path)


def _print_summary(cal: Any, path: Path) -> None:
    ev, thr = cal.evaluation, cal.threshold
    typer.echo(f"{cal.detector} v{cal.detector_version}: {cal.method} fitted on {cal.fitted_on['n']} dev items "
               f"({cal.fitted_on['n_fake']} fake); {cal.fitted_on['how']}")
    typer.echo(f"threshold {thr['score']:.4f} (raw {thr['raw_score']:.4f}) at target FPR {thr['target_fpr']:g}: "
               f"dev FPR {thr['dev_fpr']:.3f}, TPR {thr['dev_tpr']:.3f}")
    if ev:
        fpr = "n/a" if ev["fpr"] is None else f"{ev['fpr']:.3f}"
        tpr = "n/a" if ev["tpr"] is None else f"{ev['tpr']:.3f}"
        typer.echo(f"held-out ({ev['n']} items): ECE {ev['ece_before']:.4f} -> {ev['ece_after']:.4f}, "
                   f"Brier {ev['brier_before']:.4f} -> {ev['brier_after']:.4f}; at the threshold FPR {fpr}, "
                   f"TPR {tpr}")
    typer.echo(f"wrote {path}")
