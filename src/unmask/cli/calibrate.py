"""`unmask calibrate DETECTOR MANIFEST`: score a manifest with one detector, fit a calibration on its dev
split, choose an operating threshold at a target FPR on that split, measure ECE before/after on a separate
split, and write the calibration file. How items are split and scored: unmask.calibration.scoring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..calibration.fit import METHODS, require_fit_dependencies
from ..calibration.scoring import arrays, score_items, split_items, write_scores
from ..errors import MissingDependency


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
    from ..calibration.store import fit_calibration

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
        write_scores(scores, [(dev_split, *r) for r in dev_rows] + [(eval_split, *r) for r in held_rows])
    (s_dev, y_dev), (s_ev, y_ev) = arrays(dev_rows), arrays(held_rows)
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
