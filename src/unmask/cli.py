"""The `unmask` command line: scan files, list detectors, export the report schema.

Exit codes: 0 every file was analysed; 1 some could not be (each is listed with its reason); 2 usage error
(bad option, unknown detector, no files, an output that cannot be written); 3 the run itself failed (an
output write failed mid-run, or an internal error); 130 interrupted. Never a Python traceback.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from . import __version__
from .cli_help import use_plain_metavars
from .detectors import PROFILES, Registry
from .errors import UnmaskError

if TYPE_CHECKING:
    from .report.model import Report
    from .scan import Item

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="unmask: is this media real? Detect, localise and explain manipulation.")
use_plain_metavars()  # --help shows PATH..., TEXT, INTEGER and no value after a flag, not <list[Path]>, <bool>
PROGRESS_AT = 4
TABLE_MAX_ROWS = 200
WIDE_TABLE = 110  # terminal columns from which `unmask detectors` also shows descriptions


def _version(value: bool) -> None:
    if value:
        typer.echo(f"unmask {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    pass


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


def _output_file(path: Path | None, option: str) -> Path | None:
    """Check an output file can be created before any work is done (parents are created)."""
    if path is None:
        return None
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory; give a file name", param_hint=option)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(f"cannot create {path.parent}: {exc.strerror or exc}", param_hint=option) from exc
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise typer.BadParameter(f"cannot write {path}: permission denied", param_hint=option)
    return path


def _output_dir(path: Path | None, option: str) -> Path | None:
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(f"cannot create directory {path}: {exc.strerror or exc}", param_hint=option) from exc
    if not os.access(path, os.W_OK):
        raise typer.BadParameter(f"cannot write into {path}: permission denied", param_hint=option)
    return path


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
        from .report.html import HtmlWriter

        self.artifacts = artifacts
        self.jsonl = _open(stack, json_out)
        html_stream = _open(stack, html_out)
        self.html = HtmlWriter(html_stream, total=total) if html_stream else None
        self.rows: list[Report] = []
        self.counts: Counter[str] = Counter()
        self.failures: list[tuple[str, str]] = []

    def add(self, report: Report) -> None:
        from .report.artifacts import write_artifacts
        from .report.model import ErrorEntry
        from .report.terminal import verdict_key

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


@app.command()
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
    calibration: Annotated[list[Path] | None, typer.Option(
        "--calibration", metavar="FILE", help="A calibration file from `unmask calibrate` (repeatable).")] = None,
    verdict_model: Annotated[str | None, typer.Option(
        "--verdict-model", metavar="FILE|none", help="A verdict model from `unmask verdict fit`, or none for "
        "the fallback rule (default: the profile's packaged model, if any).")] = None,
) -> None:
    """Analyse media files and report whether each looks authentic, and why."""
    from .analysis import Analyzer
    from .report.terminal import print_failures, print_summary
    from .scan import expand

    if profile not in PROFILES:
        raise typer.BadParameter(f"{profile!r} is not a profile; choose one of {', '.join(PROFILES)}",
                                 param_hint="--profile")
    registry = Registry.default()
    chosen = _parse_detectors(detectors, registry)
    err = Console(stderr=True)
    skipped: list[str] = []
    items = _without_outputs(list(expand(path, recursive, skipped)), json_out, html_out, artifacts, skipped)
    if not items:
        _announce(err, skipped, [])
        raise typer.BadParameter("no files to analyse" + (" (use --recursive for sub-directories)"
                                                           if not recursive else ""), param_hint="PATH")
    outputs = (_output_file(json_out, "--json"), _output_file(html_out, "--html"), _output_dir(artifacts, "--artifacts"))
    options = _trust_options(trust_anchors, registry)
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


def _calibration_files(paths: list[Path]) -> dict[str, str]:
    """Detector name -> calibration file, read once here so a bad file is a usage error."""
    from .calibration import Calibration

    out: dict[str, str] = {}
    for path in paths:
        try:
            out[Calibration.load(path).detector] = str(path)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--calibration") from exc
    return out


def _check_verdict_model(value: str | None) -> None:
    """A verdict model file must be readable (a usage error otherwise); "none" turns the model off."""
    from .verdict.model import VerdictModel

    if value is not None and value.strip().lower() != "none":
        try:
            VerdictModel.load(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--verdict-model") from exc


def _scan_into(items: list[Item], settings: dict, outputs: tuple, err: Console, show_progress: bool) -> _Sink:
    """Analyse every item and hand each report to the outputs as soon as it is ready."""
    from .scan import scan as run_scan

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
                    progress.update(task, advance=1, name=Path(report.media.path or "").name)
        except KeyboardInterrupt:
            sink.close()
            err.print(f"interrupted after {sum(sink.counts.values())} of {len(items)} files; output so far kept",
                      style="yellow", markup=False)
            raise typer.Exit(130) from None
        sink.close()
    return sink


@app.command("detectors")
def list_detectors(
    name: Annotated[str | None, typer.Argument(help="Show one detector in detail.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List registered detectors: modalities, outputs, the extra that installs them, installed or not."""
    import json

    registry = Registry.default()
    rows = registry.describe()
    if name:
        try:
            wanted = registry.get(name).name
        except UnmaskError as exc:
            raise typer.BadParameter(str(exc), param_hint="NAME") from exc
        rows = [r for r in rows if r["name"] == wanted]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console = Console()
    console.print(_detector_table(rows, detailed=bool(name), width=console.width))
    for problem in registry.load_errors:
        Console(stderr=True).print(f"[yellow]warning:[/yellow] {problem}", markup=True, highlight=False)


def _profiles(row: dict) -> str:
    return "all" if set(row["profiles"]) == set(PROFILES) else ", ".join(row["profiles"])


def _detector_table(rows: list[dict], detailed: bool, width: int = WIDE_TABLE) -> Table:
    """One row per detector; for one detector, one row per field. Names are never broken: at a narrow
    `width` the lesser columns are left out (descriptions below WIDE_TABLE) and the caption says which."""
    if detailed:
        table = Table(show_header=False, title=f"detector {rows[0]['name']}" if rows else None)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        for row in rows:
            for key in ("name", "version", "modalities", "outputs", "extra", "installed", "profiles",
                        "description", "paper"):
                value = row[key]
                text = ", ".join(value) if isinstance(value, list) else ("yes" if value is True else
                                                                         "no" if value is False else str(value))
                table.add_row(key, Text(text))
        return table
    cells = {"name": [str(r["name"]) for r in rows], "modalities": [", ".join(r["modalities"]) for r in rows],
             "outputs": [", ".join(r["outputs"]) for r in rows], "extra": [str(r["extra"]) for r in rows],
             "installed": ["yes" if r["installed"] else "no" for r in rows],
             "profiles": [_profiles(r) for r in rows], "description": [str(r["description"]) for r in rows]}
    shown = [c for c in cells if c != "description" or width >= WIDE_TABLE]
    dropped = []
    for col in _DROP_ORDER:  # leave out lesser columns until every kept one fits without breaking a word
        if _column_widths(shown, cells, width) is None and col in shown:
            shown.remove(col)
            dropped.append(col)
    widths = _column_widths(shown, cells, width) or {}
    caption = None if "description" in shown else "`unmask detectors NAME` shows a detector's description and paper"
    if dropped:
        caption = f"{', '.join(dropped)} left out at this width: `unmask detectors NAME` shows every field"
    table = Table(title=f"unmask detectors ({len(rows)})", caption=caption)
    for col in shown:
        table.add_column(col, no_wrap=col == "name", overflow="fold", width=widths.get(col))
    for i, r in enumerate(rows):
        styled = {"installed": Text(cells["installed"][i], style="green" if r["installed"] else "red")}
        table.add_row(*(styled.get(c) or Text(cells[c][i]) for c in shown))
    return table


def _column_widths(columns: list[str], cells: dict[str, list[str]], width: int) -> dict[str, int] | None:
    """Content widths that fit `width` with no word (and no name) broken, or None when none do. Each column
    starts at its longest word; the spare width goes to the columns that need the least to fit on one line."""
    least = {c: max(len(w) for v in [*cells[c], c] for w in v.split()) for c in columns}
    most = {c: max(len(v) for v in [*cells[c], c]) for c in columns}
    least["name"] = most.get("name", 0)
    if "description" in least:
        least["description"] = max(least["description"], 28)
    spare = width - (3 * len(columns) + 1) - sum(least.values())
    if spare < 0:
        return None
    widths = dict(least)
    for col in sorted(columns, key=lambda c: most[c] - least[c]):
        grow = min(spare, most[col] - least[col])
        widths[col] += grow
        spare -= grow
    return widths


# Columns of `unmask detectors` left out first when the terminal is too narrow for them.
_DROP_ORDER = ("outputs", "description", "modalities", "profiles", "extra")


@app.command()
def schema(out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None) -> None:
    """Print (or write) the JSON Schema of one report (one line of `scan --json`)."""
    from .report.model import json_schema

    text = schema_text(json_schema())
    if out:
        _output_file(out, "--out")
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Analysis worker processes.")] = 1,
    data_dir: Annotated[Path, typer.Option(help="Uploads, reports and the SQLite job store.")] = Path("unmask-data"),
    profile: Annotated[str, typer.Option(help="Default profile: fast | default | thorough")] = "default",
    queue_size: Annotated[int, typer.Option(min=1, help="Queued jobs before uploads get 429.")] = 100,
    api_key: Annotated[list[str] | None, typer.Option(envvar="UNMASK_API_KEYS", help="Require this X-API-Key "
                                                      "(repeatable; env: space-separated).")] = None,
    rate_limit: Annotated[int, typer.Option(min=0, help="Analyses per minute per key or client (0: off).")] = 120,
    cors_origin: Annotated[list[str] | None, typer.Option(help="Allow this browser origin (repeatable).")] = None,
    allow_url_fetch: Annotated[bool, typer.Option(help="Let clients submit public http(s) image URLs.")] = False,
    database_url: Annotated[str | None, typer.Option(envvar="UNMASK_DATABASE_URL",
                                                     help="postgresql://... (default: SQLite in --data-dir).")] = None,
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest upload in MiB.")] = 100,
) -> None:
    """Start the web service: REST API under /v1 (OpenAPI at /openapi.json) and a web page at /."""
    if profile not in PROFILES:
        raise typer.BadParameter(f"choose one of {', '.join(PROFILES)}", param_hint="--profile")
    try:
        from .serve.server import run
        from .serve.settings import ServeSettings
    except ImportError as exc:
        raise typer.BadParameter(f"{exc.name} is missing: pip install \"unmask[serve]\"") from exc
    run(ServeSettings(data_dir=data_dir, host=host, port=port, workers=workers, profile=profile,
                      queue_size=queue_size, api_keys=tuple(api_key or ()), rate_limit=rate_limit,
                      cors_origins=tuple(cors_origin or ()), allow_url_fetch=allow_url_fetch,
                      database_url=database_url, max_upload_bytes=max_upload_mb * 2**20))


def schema_text(schema_obj: dict) -> str:
    """The schema as committed in docs/report.schema.json: indented, keys in model order, newline-terminated."""
    import json

    return json.dumps(schema_obj, indent=2, ensure_ascii=False) + "\n"


def _register_research_commands() -> None:
    """`unmask bench` and `unmask calibrate` live in their own packages; their heavy imports stay inside."""
    from .bench.cli import bench_app
    from .calibration.cli import calibrate

    app.add_typer(bench_app, name="bench", help="Run benchmark protocols and report metrics from the cache.")
    app.command("calibrate")(calibrate)
    from .verdict.cli import verdict_app

    app.add_typer(verdict_app, name="verdict", help="Verdict models: fit one per profile on dev runs, show it.")
    from .train.cli import models, train

    app.command("train")(train)
    app.command("models")(models)


_register_research_commands()


def main() -> None:
    """Entry point: usage errors exit 2; anything unexpected is one line on stderr, not a traceback."""
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("unmask: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # last-resort guard: never a traceback for the user
        sys.stderr.write(f"unmask: internal error: {type(exc).__name__}: {exc}\n")
        sys.exit(3)


# --- `unmask data`: dataset manifests (unmask.datasets; see docs/datasets.md) -----------------------------
data_app = typer.Typer(no_args_is_help=True,
                       help="Dataset manifests: convert standard layouts, check for leaks and shortcuts.")
app.add_typer(data_app, name="data")


@data_app.command("check")
def data_check(
    manifest: Annotated[Path, typer.Argument(help="A .csv, .jsonl or .parquet manifest.", show_default=False)],
    json_out: Annotated[Path | None, typer.Option("--json", metavar="OUT",
                                                  help="Also write the report as JSON.")] = None,
    no_hash: Annotated[bool, typer.Option("--no-hash", help="Skip content hashing (no duplicates).")] = False,
    threshold: Annotated[float, typer.Option(min=0.5, max=1.0, help="Shortcut warning AUC.")] = 0.7,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any problem is found.")] = False,
) -> None:
    """Count labels and attributes; find missing, unreadable, duplicate files, group leaks and shortcuts."""
    import json

    from .datasets import Manifest, check_manifest
    from .datasets.check import render

    try:
        loaded = Manifest.read(manifest)
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="MANIFEST") from exc
    _output_file(json_out, "--json")
    progress = Progress(TextColumn("[bold]checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), disable=len(loaded) < 200, transient=True)
    with progress:
        task = progress.add_task("check", total=len(loaded))
        report = check_manifest(loaded, hash_files=not no_hash, threshold=threshold, source=str(manifest),
                                on_item=lambda: progress.advance(task))
    render(report, Console())
    if json_out:
        text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
        json_out.write_text(text + "\n", encoding="utf-8")
    raise typer.Exit(1 if strict and report.warnings() else 0)


def _layouts_table() -> Table:
    from .datasets import available

    table = Table(title="dataset layouts: unmask data convert LAYOUT ROOT --out MANIFEST.jsonl")
    for col in ("layout", "modality", "options", "layout and source"):
        table.add_column(col, overflow="fold")
    for a in available():
        options = Text(", ".join(a.options()))
        table.add_row(a.name, a.modality, options, Text(f"{a.summary}. From: {a.source}"))
    return table


@data_app.command("convert")
def data_convert(
    layout: Annotated[str | None, typer.Argument(help="A layout (see --list).", show_default=False)] = None,
    root: Annotated[Path | None, typer.Argument(help="The dataset's folder (or metadata file).",
                                                show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="MANIFEST",
                                             help="Write .jsonl, .csv or .parquet.")] = None,
    opt: Annotated[list[str] | None, typer.Option("--opt", metavar="KEY=VALUE", help="An option.")] = None,
    list_layouts: Annotated[bool, typer.Option("--list", help="List the layouts and exit.")] = False,
) -> None:
    """Turn a dataset's standard layout into a manifest."""
    from .datasets import convert

    if list_layouts:
        Console().print(_layouts_table())
        return
    if layout is None or root is None or out is None:
        raise typer.BadParameter("give LAYOUT, ROOT and --out MANIFEST (or --list)")
    pairs = [o.split("=", 1) for o in opt or []]
    if any(len(p) != 2 for p in pairs):
        raise typer.BadParameter("options are KEY=VALUE", param_hint="--opt")
    _output_file(out, "--out")
    try:
        manifest = convert(layout, root, **dict(pairs))
        manifest.write(out)
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="LAYOUT/ROOT") from exc
    counts = manifest.counts()
    typer.echo(f"wrote {len(manifest)} items (real {counts['real']}, fake {counts['fake']}) to {out}")
    for note in manifest.notes:
        typer.echo(f"note: {note}", err=True)
