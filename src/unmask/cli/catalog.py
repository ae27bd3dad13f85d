"""`unmask detectors`, `unmask models` and `unmask schema`: what this installation has, and the report's schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..detectors import PROFILES, Registry
from ..errors import UnmaskError
from .common import output_file

WIDE_TABLE = 110  # terminal columns from which `unmask detectors` also shows descriptions


def list_detectors(
    name: Annotated[str | None, typer.Argument(help="Show one detector in detail.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List registered detectors: modalities, outputs, the extra that installs them, installed or not."""
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
    text = "all" if set(row["profiles"]) == set(PROFILES) else ", ".join(row["profiles"])
    narrower = "; ".join(f"{kind}: {', '.join(p)}" for kind, p in row.get("profiles_by_kind", {}).items())
    return f"{text} ({narrower})" if narrower else text


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
                text = _profiles(row) if key == "profiles" else ", ".join(value) if isinstance(value, list) else (
                    "yes" if value is True else "no" if value is False else str(value))
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


def schema(out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None) -> None:
    """Print (or write) the JSON Schema of one report (one line of `scan --json`)."""
    from ..report.model import json_schema

    text = schema_text(json_schema())
    if out:
        output_file(out, "--out")
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


def schema_text(schema_obj: dict) -> str:
    """The schema as committed in docs/report.schema.json: indented, keys in model order, newline-terminated."""
    return json.dumps(schema_obj, indent=2, ensure_ascii=False) + "\n"


def models(as_json: Annotated[bool, typer.Option("--json", help="Print the model cards as JSON.")] = False,
           ) -> None:
    """List the shipped models with their model cards (docs/models/ has the long form)."""
    from ..learned.store import list_models, weights_dir

    cards = list_models()
    if as_json:
        typer.echo(json.dumps(cards, indent=2))
        return
    if not cards:
        typer.echo(f"no models are shipped in {weights_dir()}")
        return
    for card in cards:
        held = card.get("heldout", {})
        keys = ("image_auc", "image_ap", "image_accuracy", "pixel_f1", "pixel_auc")
        shown = ", ".join(f"{k} {held[k]:.3f}" for k in keys if isinstance(held.get(k), float))
        typer.echo(f"{card['name']}: {card['arch']} ({card['task']}), {card['params']:,} parameters, "
                   f"{card['size_mb']} MB; trained {card['trained']['date']} by `{card['trained']['command']}`"
                   + (f"\n    held-out split of its config: {shown}" if shown else ""))
        for bench in card.get("benchmarks", []):
            typer.echo(f"    {bench['data']}: {bench['result']} ({bench['source']})")
