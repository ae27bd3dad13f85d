"""`unmask scan PATH...`: analyse files and write JSON lines, an HTML page, map PNGs and a summary table.

Each report goes to every output as soon as it is ready (unmask.scan yields them in input order). Exit codes:
0 every file was analysed; 1 some could not be (each listed with its reason); 2 usage error; 3 an output
write failed mid-run; 130 interrupted (the output so far is kept).
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..detectors import PROFILES, Registry
from ..errors import UnmaskError
from .common import output_dir, output_file

if TYPE_CHECKING:
    from ..report.model import Report
    from ..scan import Item

PROGRESS_AT = 4
TABLE_MAX_ROWS = 200


def _selection(profile: str, detectors: str | None) -> tuple[Registry, list[str] | None]:
    """The registry and the validated `--detectors` names, after checking `--profile` (scan and batch)."""
    if profile not in PROFILES:
        raise typer.BadParameter(f"{profile!r} is not a profile; choose one of {', '.join(PROFILES)}",
                                 param_hint="--profile")
    registry = Registry.default()
    return registry, _parse_detectors(detectors, registry)


def _parse_detectors(value: str | None, registry: Registry) -> list[str] | None:
    """Validated, de-duplicated names; unknown ones are a usage error with 'did you mean'."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise typer.BadParameter("give at least one detector name (see `unmask detectors`)",
                                 param_hint="--detectors")
    try:
        classes = [registry.get(n) for n in names]
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--detectors") from exc
    for cls in classes:
        if not cls.installed():
            raise typer.BadParameter(
                f"detector {cls.name!r} needs {', '.join(cls.missing())}: pip install \"unmask[{cls.extra}]\"",
                param_hint="--detectors")
    return list(dict.fromkeys(c.name for c in classes))


def _without_outputs(items: list[Item], json_out: Path | None, html_out: Path | None, artifacts: Path | None,
                     skipped: list[str]) -> list[Item]:
    """Leave out this run's own output files (e.g. a JSON file from the last run inside a scanned folder)."""
    files = {p.resolve() for p in (json_out, html_out) if p is not None}
    folder = artifacts.resolve() if artifacts is not None else None
    kept = []
    for item in items:
        real = item.path.resolve()
        if real in files or (folder is not None and real.is_relative_to(folder)):
            skipped.append(f"skipped {item.path}: it is an output of this run")
        else:
            kept.append(item)
    return kept


def _open(stack: ExitStack, path: Path | None) -> TextIO | None:
    return stack.enter_context(path.open("w", encoding="utf-8")) if path else None


def _progress(err: Console, enabled: bool) -> Progress:
    return Progress(TextColumn("[bold]scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[name]}", markup=False), console=err, disable=not enabled,
                    transient=False)


class _Sink:
    """Where each report goes as soon as it is ready: artifacts, a JSON line, an HTML section, the table."""

    def __init__(self, stack: ExitStack, json_out: Path | None, html_out: Path | None,
                 artifacts: Path | None, total: int) -> None:
        from ..report.html import HtmlWriter

        self.artifacts = artifacts
        self.jsonl = _open(stack, json_out)
        html_stream = _open(stack, html_out)
        self.html = HtmlWriter(html_stream, total=total) if html_stream else None
        self.rows: list[Report] = []
        self.counts: Counter[str] = Counter()
        self.failures: list[tuple[str, str]] = []

    def add(self, report: Report) -> None:
        from ..report.artifacts import write_artifacts
        from ..report.model import ErrorEntry
        from ..report.terminal import verdict_key

        if self.artifacts and report.analysed:
            try:
                write_artifacts(report, self.artifacts)
            except OSError as exc:
                report.errors.append(ErrorEntry(code="artifact_failed", fatal=False,
                                                message=f"maps could not be written: {exc.strerror or exc}"))
        if self.jsonl:
            self.jsonl.write(report.to_json() + "\n")
            self.jsonl.flush()
        if self.html:
            self.html.add(report)
        report.drop_arrays()
        self.counts[verdict_key(report)] += 1
        if not report.analysed:
            self.failures.append((report.media.path or "<bytes>", report.top_reason()))
        if len(self.rows) < TABLE_MAX_ROWS:
            self.rows.append(report)

    def close(self) -> None:
        if self.html:
            self.html.close()


def _announce(err: Console, skipped: list[str], analyzer_skipped: list[str]) -> None:
    for note in skipped:
        err.print(Text(f"note: {note}", style="dim"), soft_wrap=True)
    if analyzer_skipped:
        err.print(Text(f"note: detectors not installed, skipped: {', '.join(analyzer_skipped)} "
                       "(see `unmask detectors`)", style="dim"), soft_wrap=True)


def scan(
    path: Annotated[list[Path], typer.Argument(help="Files or directories to analyse.", show_default=False)],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-directories.")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", metavar="OUT.jsonl",
                                                  help="Write JSON Lines, one report per file.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", metavar="OUT.html",
                                                  help="Write one self-contained HTML report.")] = None,
    artifacts: Annotated[Path | None, typer.Option("--artifacts", metavar="DIR",
                                                   help="Write heatmaps and masks as PNG here.")] = None,
    profile: Annotated[str, typer.Option(help="fast | default | thorough")] = "default",
    detectors: Annotated[str | None, typer.Option(help="Comma-separated detector names (overrides profile).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=256, help="Parallel worker processes.")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    trust_anchors: Annotated[Path | None, typer.Option(
        "--c2pa-trust-anchors", metavar="PEM", envvar="UNMASK_C2PA_TRUST_ANCHORS",
        help="PEM bundle of C2PA signers to trust (Content Credentials from others are 'untrusted').")] = None,
    index: Annotated[Path | None, typer.Option(
        "--index", metavar="PATH", envvar="UNMASK_INDEX",
        help="Image index (from `unmask index add`) that image_reuse searches for a post's pictures "
             "(default: image-index.sqlite in $UNMASK_CACHE or ~/.cache/unmask).")] = None,
    calibration: Annotated[list[Path] | None, typer.Option(
        "--calibration", metavar="FILE", help="A calibration file from `unmask calibrate` (repeatable).")] = None,
    verdict_model: Annotated[str | None, typer.Option(
        "--verdict-model", metavar="FILE|none", help="A verdict model from `unmask verdict fit`, or none for "
        "the fallback rule (default: the profile's packaged model, if any).")] = None,
) -> None:
    """Analyse media files and report whether each looks authentic, and why."""
    from ..analysis import Analyzer
    from ..report.terminal import print_failures, print_summary
    from ..scan import expand

    registry, chosen = _selection(profile, detectors)
    err = Console(stderr=True)
    skipped: list[str] = []
    items = _without_outputs(list(expand(path, recursive, skipped)), json_out, html_out, artifacts, skipped)
    if not items:
        _announce(err, skipped, [])
        raise typer.BadParameter("no files to analyse" + (" (use --recursive for sub-directories)"
                                                           if not recursive else ""), param_hint="PATH")
    outputs = (output_file(json_out, "--json"), output_file(html_out, "--html"), output_dir(artifacts, "--artifacts"))
    options = {**_trust_options(trust_anchors, registry), **_index_options(index)}
    calibrations = _calibration_files(calibration or [])
    _check_verdict_model(verdict_model)
    analyzer = Analyzer(profile=profile, detectors=chosen, registry=registry, skip_uninstalled=True,
                        calibrations=calibrations, verdict_model=verdict_model)
    _announce(err, skipped, analyzer.skipped)
    settings = {"profile": profile, "detectors": chosen, "workers": workers, "skip_uninstalled": True,
                "keep_arrays": bool(html_out or artifacts), "options": options, "calibrations": calibrations,
                "verdict_model": verdict_model}
    try:
        sink = _scan_into(items, settings, outputs, err, show_progress=not quiet and len(items) >= PROGRESS_AT)
    except OSError as exc:  # disk full, output removed under us, ...
        err.print(f"unmask: writing the output failed: {exc}", style="bold red", markup=False)
        raise typer.Exit(3) from None
    if not quiet:
        print_summary(sink.rows, Console(), sink.counts, omitted=len(items) - len(sink.rows))
    print_failures(sink.failures, len(items), err)
    raise typer.Exit(1 if sink.failures else 0)


def _trust_options(pem: Path | None, registry: Registry) -> dict[str, dict[str, str]]:
    """Detector options for the C2PA trust anchors, checked once here so a bad bundle is a usage error."""
    if pem is None:
        return {}
    cls = registry.get("c2pa")
    try:
        cls.ensure_installed()
        cls(trust_anchors=str(pem))
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--c2pa-trust-anchors") from exc
    return {"c2pa": {"trust_anchors": str(pem)}}


def _index_options(path: Path | None) -> dict[str, dict[str, str]]:
    """Detector options for the image index, opened once here so a missing or broken index is a usage error."""
    if path is None:
        return {}
    from ..posts.index import ImageIndex

    try:
        ImageIndex(path).close()
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--index") from exc
    return {"image_reuse": {"index": str(path)}}


def _calibration_files(paths: list[Path]) -> dict[str, str]:
    """Detector name -> calibration file, read once here so a bad file is a usage error."""
    from ..calibration import Calibration

    out: dict[str, str] = {}
    for path in paths:
        try:
            out[Calibration.load(path).detector] = str(path)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--calibration") from exc
    return out


def _check_verdict_model(value: str | None) -> None:
    """A verdict model file must be readable (a usage error otherwise); "none" turns the model off."""
    from ..verdict.model import VerdictModel

    if value is not None and value.strip().lower() != "none":
        try:
            VerdictModel.load(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--verdict-model") from exc


def _scan_into(items: list[Item], settings: dict, outputs: tuple, err: Console, show_progress: bool) -> _Sink:
    """Analyse every item and hand each report to the outputs as soon as it is ready."""
    from ..report.terminal import visible  # a file name's control characters as \\xNN
    from ..scan import scan as run_scan

    with ExitStack() as stack:
        try:
            sink = _Sink(stack, *outputs, total=len(items))
        except OSError as exc:
            raise typer.BadParameter(f"cannot create the output: {exc}", param_hint="--json/--html") from exc
        progress = _progress(err, show_progress)
        try:
            with progress:
                task = progress.add_task("scan", total=len(items), name="")
                for report in run_scan(items, **settings):
                    sink.add(report)
                    progress.update(task, advance=1, name=visible(Path(report.media.path or "").name))
        except KeyboardInterrupt:
            sink.close()
            err.print(f"interrupted after {sum(sink.counts.values())} of {len(items)} files; output so far kept",
                      style="yellow", markup=False)
            raise typer.Exit(130) from None
        sink.close()
    return sink
