"""`unmask data check` and `unmask data convert`: dataset manifests (unmask.datasets; see docs/datasets.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..errors import UnmaskError
from .common import output_file

data_app = typer.Typer(no_args_is_help=True,
                       help="Dataset manifests: convert standard layouts, check for leaks and shortcuts.")


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
    from ..datasets import Manifest, check_manifest
    from ..datasets.check import render

    try:
        loaded = Manifest.read(manifest)
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="MANIFEST") from exc
    output_file(json_out, "--json")
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
    from ..datasets import available

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
    from ..datasets import convert

    if list_layouts:
        Console().print(_layouts_table())
        return
    if layout is None or root is None or out is None:
        raise typer.BadParameter("give LAYOUT, ROOT and --out MANIFEST (or --list)")
    pairs = [o.split("=", 1) for o in opt or []]
    if any(len(p) != 2 for p in pairs):
        raise typer.BadParameter("options are KEY=VALUE", param_hint="--opt")
    output_file(out, "--out")
    try:
        manifest = convert(layout, root, **dict(pairs))
        manifest.write(out)
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="LAYOUT/ROOT") from exc
    counts = manifest.counts()
    typer.echo(f"wrote {len(manifest)} items (real {counts['real']}, fake {counts['fake']}) to {out}")
    for note in manifest.notes:
        typer.echo(f"note: {note}", err=True)
