"""`unmask batch INPUT... --out DIR`: many files on Ray Data into a resumable Parquet dataset (docs/scale.md).

Runs on a local Ray it starts itself, or on the cluster `RAY_ADDRESS` names (as `ray job submit` sets it).
Exit codes: 0 every file of this run was analysed; 1 some could not be (each has a row with its error); 2 usage
error; 3 the batch itself failed (Ray, or writing the output); 130 interrupted (finished rows are kept: run
the same command to go on).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .common import output_dir, output_file
from .scan import _calibration_files, _check_verdict_model, _selection, _trust_options

if TYPE_CHECKING:
    from ..batch import BatchSummary


def batch(
    inputs: Annotated[list[str], typer.Argument(
        metavar="INPUT...", show_default=False,
        help="Folders (walked recursively), manifests (.csv/.jsonl/.parquet with a path column), files or URIs.")],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder of the Parquet dataset (resumed).")],
    json_out: Annotated[Path | None, typer.Option("--json", metavar="OUT.jsonl",
                                                  help="Also write every report as JSON Lines.")] = None,
    artifacts: Annotated[str | None, typer.Option(
        "--artifacts", metavar="DIR", help="Write heatmaps and masks as PNG here (on a cluster: shared storage).")
    ] = None,
    profile: Annotated[str, typer.Option(help="fast | default | thorough")] = "default",
    detectors: Annotated[str | None, typer.Option(help="Comma-separated detector names (overrides profile).")] = None,
    workers: Annotated[int, typer.Option(min=0, max=100_000, help="Worker actors (0: one per CPU of the cluster).")
                       ] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000, help="Files per Ray task.")] = 8,
    part_rows: Annotated[int, typer.Option("--part-rows", min=1, help="Rows per Parquet part.")] = 1000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    trust_anchors: Annotated[Path | None, typer.Option(
        "--c2pa-trust-anchors", metavar="PEM", envvar="UNMASK_C2PA_TRUST_ANCHORS",
        help="PEM bundle of C2PA signers to trust (the same path on every node).")] = None,
    calibration: Annotated[list[Path] | None, typer.Option(
        "--calibration", metavar="FILE", help="A calibration file from `unmask calibrate` (repeatable).")] = None,
    verdict_model: Annotated[str | None, typer.Option(
        "--verdict-model", metavar="FILE|none", help="A verdict model from `unmask verdict fit`, or none.")] = None,
) -> None:
    """Analyse many files on Ray into a Parquet dataset, one row per file; a re-run skips what is done."""
    from ..batch import BatchError, BatchJob, run_batch
    from ..batch.inputs import InputError, collect, without
    from ..scan import Settings

    registry, chosen = _selection(profile, detectors)
    err = Console(stderr=True)
    notes: list[str] = []
    try:
        sources = without(collect(inputs, notes), [out, json_out, Path(artifacts) if artifacts else None])
    except InputError as exc:
        raise typer.BadParameter(str(exc), param_hint="INPUT") from exc
    for note in notes:
        err.print(f"note: {note}", style="dim", markup=False, highlight=False)
    if not sources:
        raise typer.BadParameter("no files to analyse", param_hint="INPUT")
    output_dir(out, "--out")
    output_file(json_out, "--json")
    _check_verdict_model(verdict_model)
    settings = Settings(profile, tuple(chosen) if chosen else None, keep_arrays=bool(artifacts),
                        skip_uninstalled=True, options=Settings.freeze(_trust_options(trust_anchors, registry)),
                        calibrations=tuple(sorted(_calibration_files(calibration or []).items())),
                        verdict_model=verdict_model)
    job = BatchJob(sources, out, settings, workers=workers, batch_size=batch_size, part_rows=part_rows,
                   artifacts=artifacts, json_out=json_out)
    bar = Progress(TextColumn("[bold]batch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[note]}", markup=False), console=err, disable=quiet)
    try:
        with bar:
            task = bar.add_task("batch", total=len(sources), note="starting Ray")
            summary = run_batch(job, lambda s: bar.update(task, completed=s.done, note=_note(s)))
    except KeyboardInterrupt:
        err.print(f"interrupted; finished rows are kept in {out}: run the same command to go on",
                  style="yellow", markup=False)
        raise typer.Exit(130) from None
    except (BatchError, OSError) as exc:
        err.print(f"unmask batch: {exc}; finished rows are kept in {out}", style="bold red", markup=False)
        raise typer.Exit(3) from None
    rate = (summary.analysed + summary.failed) / summary.seconds if summary.seconds else 0.0
    err.print(f"{summary.total} files: {summary.analysed} analysed, {summary.failed} failed, {summary.skipped} "
              f"already done; {_n(summary.parts, 'new part')} in {out}; {_n(summary.workers, 'worker')}, "
              f"{summary.seconds:.1f} s ({rate:.1f} files/s)", markup=False, highlight=False)
    if summary.failed:
        err.print(f"{_n(summary.failed, 'file')} could not be analysed: the reason is in the row (column 'error')",
                  style="yellow", markup=False)
    raise typer.Exit(1 if summary.failed else 0)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _note(summary: BatchSummary) -> str:
    return (f"{summary.analysed} analysed, {summary.failed} failed, {summary.skipped} already done, "
            f"{summary.workers} workers")
