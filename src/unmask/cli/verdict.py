"""`unmask verdict`: fit a verdict model on the cached scores of benchmark runs, and show what it trusts.

`verdict fit RUN_DIR... --profile P --out FILE` pools the items of `unmask bench run` folders (the rows of one
perturbation, "none" by default), fits `unmask.verdict.fit.fit_verdict` over the profile's detectors with
group K-fold cross-validation for the operating point, and writes the model; `verdict show FILE` prints it.
Exit codes: 0 done; 1 the data cannot be fitted (one class only, no scores); 2 usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

verdict_app = typer.Typer(no_args_is_help=True,
                          help="Verdict models: fit one per profile over its detectors' scores on dev runs, show it.")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"unmask verdict: {message}", err=True)
    return typer.Exit(code)


def _fmt(v: Any, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def print_model(model: Any, path: Path | str | None = None) -> None:
    """The model's provenance, held-out quality, operating point and trust table."""
    from rich.console import Console
    from rich.table import Table

    fo, ev, thr = model.fitted_on, model.evaluation, model.thresholds
    console = Console()
    lines = [f"verdict model {model.name} ({model.modality}, l2 {model.l2:g})" + (f": {path}" if path else ""),
             f"fitted on {fo.get('n')} items ({fo.get('n_fake')} fake, {fo.get('n_groups')} groups), "
             f"perturbation {fo.get('perturbation', '?')}, {fo.get('date', '?')}; runs: "
             + (", ".join(map(str, fo.get("runs", []))) or "?")]
    if ev:
        lines.append(f"held-out, {ev['how']}: AUC {_fmt(ev['auc'])}, AP {_fmt(ev.get('ap'))}, "
                     f"ECE {_fmt(ev['ece'])}, Brier {_fmt(ev['brier'])}")
    lines.append(f"operating point: manipulated at P >= {_fmt(thr['manipulated'], 4)}, authentic at P <= "
                 f"{_fmt(thr['authentic'], 4)}; {thr.get('chosen', '')}")
    for what, rate in (thr.get("dev") or {}).items():
        lines.append(f"  dev {what.replace('_', ' ')}: {rate:.1%}")
    for name, why in (fo.get("left_out") or {}).items():
        lines.append(f"left out {name}: {why}")
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    table = Table(title="trust: how much the model relies on each detector (most first)")
    table.add_column("detector", no_wrap=True)
    for col in ("weight", "std weight", "share", "no score", "AUC alone"):
        table.add_column(col, justify="right")
    for r in model.trust:
        table.add_row(f"{r['detector']} v{r['version']}", _fmt(r["weight"]), _fmt(r["std_weight"]),
                      f"{100 * r['share']:.0f}%", f"{100 * r['missing_share']:.0f}%",
                      _fmt(r["auc_alone"]))
    console.print(table)


@verdict_app.command("fit")
def fit(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN_DIR...", help="Folders written by `bench run`.",
                                                   show_default=False)],
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Model file to write (JSON).")],
    profile: Annotated[str, typer.Option(help="Profile whose detectors are combined (its name is stored).")]
    = "default",
    modality: Annotated[str, typer.Option(help="Modality whose detectors are combined.")] = "image",
    detectors: Annotated[str | None, typer.Option(help="Comma-separated detectors (default: the profile's that "
                                                       "are in the runs).")] = None,
    perturbation: Annotated[str, typer.Option(help="Which rows of the runs to fit on.")] = "none",
    skip: Annotated[list[str] | None, typer.Option(metavar="ATTR=VALUE", help="Leave out the items whose manifest "
                                                   "attribute has this value (repeatable).")] = None,
    folds: Annotated[int, typer.Option(min=2, help="Group K-fold folds for the operating point.")] = 5,
    l2: Annotated[float, typer.Option(help="L2 penalty on standardised weights (1 / C), > 0.")] = 1.0,
    target_fpr: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of authentic dev files that may "
                                              "be called manipulated.")] = 0.02,
    authentic_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of authentic dev files "
                                                   "called authentic.")] = 0.65,
    seed: Annotated[int, typer.Option(help="Seed of the fold assignment.")] = 0,
) -> None:
    """Fit a verdict model for a profile on the cached scores of benchmark runs (pooled) and write it."""
    from ..errors import UnmaskError
    from ..verdict.dev import NoScores, collect, load_runs, profile_detectors, skip_rule
    from ..verdict.fit import fit_verdict

    if not l2 > 0:
        raise typer.BadParameter("must be > 0", param_hint="--l2")
    try:
        runs = load_runs(run_dirs)
        names = ([n.strip() for n in detectors.split(",") if n.strip()] if detectors is not None else
                 [n for n in profile_detectors(profile, modality) if any(n in r.detectors for r in runs)])
        if not names:
            raise ValueError(f"the runs hold no detector of profile {profile!r}; give --detectors")
        dev = collect(runs, modality, names, perturbation, skip_rule(skip or []) if skip else None)
    except NoScores as exc:
        raise _fail(str(exc), 1) from None
    except (ValueError, UnmaskError) as exc:
        raise _fail(str(exc)) from None
    for note in dev.notes:
        typer.echo(f"note: {note}", err=True)
    fitted_on = {"runs": [str(r.out) for r in runs], "perturbation": perturbation, "profile": profile,
                 "skipped": list(skip or [])}
    try:
        model = fit_verdict(dev.scores, dev.y, dev.groups, dev.detectors, f"{modality}-{profile}", modality,
                            folds, l2, target_fpr, authentic_share, seed=seed, fitted_on=fitted_on)
    except ImportError as exc:
        raise _fail(str(exc)) from None
    except ValueError as exc:
        raise _fail(f"cannot fit: {exc}", 1) from None
    path = model.save(out)
    print_model(model)
    typer.echo(f"wrote {path}")


@verdict_app.command("show")
def show(path: Annotated[Path, typer.Argument(metavar="FILE", help="A model written by `verdict fit`.")]) -> None:
    """Print a verdict model's provenance, held-out quality, operating point and trust table."""
    from ..verdict.model import VerdictModel

    try:
        model = VerdictModel.load(path)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    print_model(model, path)
