"""`unmask fuse`: fit a stacking fusion model on the cached scores of benchmark runs, and show what it trusts.

`fuse fit RUN_DIR... --out FILE` pools the items of one or more `unmask bench run` folders (the rows of one
perturbation, "none" by default), fits `unmask.stacking.fit_stacker` with group K-fold cross-validation and
writes the model; `fuse show FILE` prints its trust table. Register with `app.add_typer(fuse_app, name="fuse")`.
Exit codes: 0 done; 1 the data cannot be fitted (one class only, no scores); 2 usage error (no such run
folder, unknown detector or perturbation, bad option).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

fuse_app = typer.Typer(no_args_is_help=True,
                       help="Stacking fusion: fit one model over every detector's score on dev runs, show it.")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"unmask fuse: {message}", err=True)
    return typer.Exit(code)


class NoScores(Exception):
    """The runs hold no usable score for the chosen detectors and perturbation."""


@dataclass
class DevScores:
    """Pooled dev items of several runs: raw scores (n, detectors) with NaN = no score, labels, groups."""

    scores: np.ndarray
    y: np.ndarray
    groups: list[str]
    detectors: dict[str, str]  # name -> version the scores come from
    notes: list[str] = field(default_factory=list)


def _chosen(runs: Sequence[Any], modality: str, names: Sequence[str] | None, notes: list[str]) -> list[str]:
    """The detectors to combine: the given names (each in some run and of `modality`), else every detector
    of the runs whose modalities include `modality`."""
    from .detectors import Registry
    from .errors import UnmaskError

    registry = Registry.default()
    in_runs = list(dict.fromkeys(d for run in runs for d in run.detectors))
    out = []
    for name in names if names is not None else in_runs:
        if name not in in_runs:
            raise ValueError(f"detector {name!r} is in none of the runs (they have {', '.join(in_runs)})")
        try:
            cls = registry.get(name)
        except UnmaskError:
            if names is not None:
                raise
            notes.append(f"left out {name}: not a registered detector")
            continue
        if modality in cls.modalities:
            out.append(name)
        elif names is not None:
            raise ValueError(f"detector {name!r} analyses {', '.join(cls.modalities)}, not {modality}")
    if not out:
        raise ValueError(f"the runs have no {modality} detector")
    return out


def _versions(runs: Sequence[Any], names: Sequence[str], notes: list[str]) -> dict[str, str]:
    """The version each detector's scores come from; ValueError when runs disagree."""
    from .detectors import Registry

    out = {}
    for name in names:
        seen = {str(run.info["detector_versions"][name]) for run in runs if name in run.detectors}
        if len(seen) > 1:
            raise ValueError(f"the runs hold {name} scores of versions {', '.join(sorted(seen))}; "
                             "give runs of one version")
        out[name] = seen.pop()
        installed = str(Registry.default().get(name).version)
        if installed != out[name]:
            notes.append(f"{name}: scores are from version {out[name]}, installed is {installed}; the model "
                         "will be ignored at analysis time until refitted on new scores")
    return out


def _score(row: dict[str, Any] | None) -> float:
    if row is None or row.get("status") != "ok" or row.get("score") is None:
        return np.nan
    s = float(row["score"])
    return s if np.isfinite(s) else np.nan


def collect(runs: Sequence[Any], modality: str = "image", names: Sequence[str] | None = None,
            perturbation: str = "none") -> DevScores:
    """Pool the items of loaded runs (`bench.report.RunData`) under one perturbation. An item without a
    group gets its input's SHA-256 as group, so a file in two runs never lands in two folds."""
    notes: list[str] = []
    for run in runs:
        if perturbation not in run.perturbations:
            raise ValueError(f"{run.out} has no perturbation {perturbation!r} (it has "
                             f"{', '.join(run.perturbations)})")
    dets = _chosen(runs, modality, names, notes)
    versions = _versions(runs, dets, notes)
    rows, ys, groups, empty = [], [], [], 0
    for run in runs:
        for item, item_id in zip(run.manifest.items, run.ids, strict=True):
            found = [run.rows.get((item_id, d, perturbation)) for d in dets]
            scores = [_score(r) for r in found]
            if all(np.isnan(scores)):
                empty += 1
                continue
            sha = next((r["input_sha256"] for r in found if r is not None), item_id)
            rows.append(scores)
            ys.append(item.y)
            groups.append(f"group:{item.group}" if item.group else f"file:{sha}")
    if empty:
        notes.append(f"left out {empty} item(s) without any score (not run yet, errors, or no opinion)")
    if not rows:
        raise NoScores(f"no item has a score from {', '.join(dets)} under perturbation {perturbation!r}")
    return DevScores(np.array(rows, dtype=np.float64), np.array(ys, dtype=np.int64), groups, versions, notes)


def _load_runs(run_dirs: Sequence[Path]) -> list[Any]:
    from .bench.report import load_run
    from .errors import UnmaskError

    runs = []
    for path in run_dirs:
        if not path.is_dir():
            raise _fail(f"{path}: no such run folder")
        try:
            runs.append(load_run(path))
        except (ValueError, OSError, UnmaskError) as exc:  # not a run folder, unreadable, pyarrow missing
            raise _fail(str(exc)) from None
    return runs


def _fmt(v: Any, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def print_model(model: Any, path: Path | str | None = None) -> None:
    """The model's provenance, held-out quality, threshold and trust table."""
    from rich.console import Console
    from rich.table import Table

    fo, ev, thr = model.fitted_on, model.evaluation, model.threshold
    console = Console()
    lines = [f"{model.modality} stacking model ({model.transform} features, l2 {model.l2:g})"
             + (f": {path}" if path else ""),
             f"fitted on {fo.get('n')} items ({fo.get('n_fake')} fake, {fo.get('n_groups')} groups), "
             f"perturbation {fo.get('perturbation', '?')}, {fo.get('date', '?')}; runs: "
             + ", ".join(map(str, fo.get("runs", []))) or "?"]
    if ev:
        lines.append(f"held-out, {ev['how']}: AUC {_fmt(ev['auc'])}, ECE {_fmt(ev['ece'])}, "
                     f"Brier {_fmt(ev['brier'])}")
        fb = ev.get("fallback")
        if fb:
            lines.append(f"fallback rule (highest raw score) on the same items: AUC {_fmt(fb['auc'])}, "
                         f"ECE {_fmt(fb['ece'])}, Brier {_fmt(fb['brier'])}")
    if thr:
        lines.append(f"threshold P(fake) >= {_fmt(thr['probability'], 4)} at target FPR {thr['target_fpr']:g} "
                     f"on {thr.get('on', 'dev')}: dev FPR {_fmt(thr['dev_fpr'])}, TPR {_fmt(thr['dev_tpr'])}")
    for name, why in (fo.get("left_out") or {}).items():
        lines.append(f"left out {name}: {why}")
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    table = Table(title="trust: how much the model relies on each detector (most first)")
    table.add_column("detector", no_wrap=True)
    for col in ("weight", "std weight", "share", "missing weight", "no score", "AUC alone"):
        table.add_column(col, justify="right")
    for r in model.trust:
        table.add_row(f"{r['detector']} v{r['version']}", _fmt(r["weight"]), _fmt(r["std_weight"]),
                      f"{100 * r['share']:.0f}%", _fmt(r["missing_weight"]), f"{100 * r['missing_share']:.0f}%",
                      _fmt(r["auc_alone"]))
    console.print(table)


@fuse_app.command("fit")
def fit(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN_DIR", help="Folders written by `bench run`.",
                                                   show_default=False)],
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Model file to write (JSON).")],
    modality: Annotated[str, typer.Option(help="Modality whose detectors are combined.")] = "image",
    detectors: Annotated[str | None, typer.Option(help="Comma-separated detectors (default: every one of the "
                                                       "modality in the runs).")] = None,
    perturbation: Annotated[str, typer.Option(help="Which rows of the runs to fit on.")] = "none",
    folds: Annotated[int, typer.Option(min=2, help="Group K-fold folds for the held-out metrics.")] = 5,
    l2: Annotated[float, typer.Option(help="L2 penalty on standardised weights (1 / C), > 0.")] = 1.0,
    target_fpr: Annotated[float, typer.Option(min=0.0, max=1.0, help="FPR the threshold aims at on dev.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Seed of the fold assignment.")] = 0,
) -> None:
    """Fit a stacking model on the cached scores of benchmark runs (pooled) and write it."""
    from .errors import UnmaskError
    from .stacking import fit_stacker

    if not l2 > 0:
        raise typer.BadParameter("must be > 0", param_hint="--l2")
    runs = _load_runs(run_dirs)
    names = [n.strip() for n in detectors.split(",") if n.strip()] if detectors is not None else None
    try:
        dev = collect(runs, modality, names, perturbation)
    except NoScores as exc:
        raise _fail(str(exc), 1) from None
    except (ValueError, UnmaskError) as exc:  # the user named something the runs or the registry lack
        raise _fail(str(exc)) from None
    for note in dev.notes:
        typer.echo(f"note: {note}", err=True)
    fitted_on = {"runs": [str(r.out) for r in runs], "perturbation": perturbation}
    try:
        model = fit_stacker(dev.scores, dev.y, dev.groups, dev.detectors, modality, folds, l2, target_fpr,
                            seed=seed, fitted_on=fitted_on)
    except ValueError as exc:
        raise _fail(f"cannot fit: {exc}", 1) from None
    path = model.save(out)
    print_model(model)
    typer.echo(f"wrote {path}")


@fuse_app.command("show")
def show(path: Annotated[Path, typer.Argument(metavar="FILE", help="A model written by `fuse fit`.")]) -> None:
    """Print a stacking model's provenance, held-out quality and trust table."""
    from .stacking import Stacker

    try:
        model = Stacker.load(path)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    print_model(model, path)
