"""The terminal summary: one row per file with its verdict, probability and top reason."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .model import Report

STYLES = {"authentic": "green", "inconclusive": "yellow", "manipulated": "bold red", "ai-generated": "bold magenta"}


def summary_table(reports: Iterable[Report]) -> Table:
    table = Table(title="unmask scan", show_lines=False, expand=False)
    table.add_column("file", overflow="fold", max_width=40)
    table.add_column("kind")
    table.add_column("verdict")
    table.add_column("prob.", justify="right")
    table.add_column("top reason", overflow="fold", max_width=70)
    for r in reports:
        name = (r.media.path or "<bytes>").rsplit("/", 1)[-1]
        if r.verdict is None:
            table.add_row(name, r.media.kind, Text("error", style="bold red"), "-", r.top_reason())
            continue
        label = r.verdict.label + ("" if r.verdict.calibrated else "*")
        reason = r.top_reason()
        if r.provenance:
            reason += f"  [facts: {'; '.join(f.claim for f in r.provenance[:2])}]"
        table.add_row(name, r.media.kind, Text(label, style=STYLES[r.verdict.label]),
                      f"{r.verdict.probability:.2f}", reason)
    return table


def print_summary(reports: list[Report], console: Console) -> None:
    console.print(summary_table(reports))
    if any(r.verdict and not r.verdict.calibrated for r in reports):
        console.print("[dim]* uncalibrated: the probability is a detector score, not a calibrated probability[/dim]")
