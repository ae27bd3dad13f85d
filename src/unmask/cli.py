"""The `unmask` command line: scan files, list detectors. Exit codes: 0 all analysed, 1 some not, 2 usage."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .detectors import PROFILES, Registry
from .errors import UnmaskError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="unmask: is this media real? Detect, localise and explain manipulation.")
PROGRESS_AT = 4
HTML_MAX_REPORTS = 1000


def _version(value: bool) -> None:
    if value:
        typer.echo(f"unmask {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    pass


def _parse_detectors(value: str | None, registry: Registry) -> list[str] | None:
    if not value:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    try:
        return [registry.get(n).name for n in names]
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--detectors") from exc


@app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to analyse.")],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-directories.")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON Lines, one report per file.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write one self-contained HTML report.")] = None,
    artifacts: Annotated[Path | None, typer.Option("--artifacts", help="Write heatmaps and masks as PNG here.")] = None,
    profile: Annotated[str, typer.Option(help="fast | default | thorough")] = "default",
    detectors: Annotated[str | None, typer.Option(help="Comma-separated detector names (overrides profile).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=256, help="Parallel worker processes.")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Analyse media files and report whether each looks authentic, and why."""
    from .report.artifacts import write_artifacts
    from .report.terminal import print_summary
    from .scan import expand
    from .scan import scan as run_scan

    if profile not in PROFILES:
        raise typer.BadParameter(f"choose one of {', '.join(PROFILES)}", param_hint="--profile")
    chosen = _parse_detectors(detectors, Registry.default())
    items = list(expand(paths, recursive))
    if not items:
        raise typer.BadParameter("no files found (use --recursive for sub-directories)", param_hint="PATHS")
    out = Console(stderr=False)
    err = Console(stderr=True)
    reports, failed = [], 0
    jsonl = json_out.open("w", encoding="utf-8") if json_out else None
    progress = Progress(TextColumn("[bold]scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[name]}"), console=err,
                        disable=quiet or len(items) < PROGRESS_AT)
    try:
        with progress:
            task = progress.add_task("scan", total=len(items), name="")
            for report in run_scan(items, profile=profile, detectors=chosen, workers=workers):
                if artifacts and report.analysed:
                    write_artifacts(report, artifacts)
                if jsonl:
                    jsonl.write(report.to_json() + "\n")
                    jsonl.flush()
                failed += not report.analysed
                if len(reports) < HTML_MAX_REPORTS or not html_out:
                    reports.append(_light(report, keep_maps=html_out is not None))
                progress.update(task, advance=1, name=Path(report.media.path or "").name)
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted after {len(reports)} of {len(items)} files; partial output kept[/yellow]")
        raise typer.Exit(130) from None
    finally:
        if jsonl:
            jsonl.close()
    if html_out:
        from .report.html import render_html

        html_out.write_text(render_html(reports[:HTML_MAX_REPORTS], omitted=max(0, len(items) - HTML_MAX_REPORTS)),
                            encoding="utf-8")
    if not quiet:
        print_summary(reports, out)
        if failed:
            err.print(f"[red]{failed} of {len(items)} file(s) could not be analysed (see the error column)[/red]")
    raise typer.Exit(1 if failed else 0)


def _light(report, keep_maps: bool):
    """Drop the big arrays of reports we only keep for the summary table."""
    if not keep_maps:
        report._maps = {}
        report._preview = None
    return report


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
    table = Table(title=f"unmask detectors ({len(rows)})")
    for col in ("name", "modalities", "outputs", "extra", "installed", "profiles", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], ", ".join(r["modalities"]), ", ".join(r["outputs"]), str(r["extra"]),
                      "[green]yes[/green]" if r["installed"] else "[red]no[/red]", ", ".join(r["profiles"]),
                      str(r["description"]))
    Console().print(table)


@app.command()
def schema(out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None) -> None:
    """Print (or write) the JSON Schema of the report."""
    import json

    from .report.model import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


def main() -> None:
    """Entry point: usage errors exit 2; anything unexpected is one line on stderr, not a traceback."""
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # pragma: no cover - last-resort guard
        sys.stderr.write(f"unmask: internal error: {type(exc).__name__}: {exc}\n")
        sys.exit(3)
