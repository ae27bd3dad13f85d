"""The terminal summary: one row per file with its verdict, probability, top reason and provenance facts.

Every cell is a `rich.text.Text`, never markup, so file names and metadata such as "[/red]" print as-is, and
their control characters print as `\\xNN` (an ESC sequence in a file name must not drive the terminal).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .model import Report
from .names import display_names
from .spectrogram import clock, speech_entries
from .words import describe_operating_point, probability_note

STYLES = {"authentic": "green", "inconclusive": "yellow", "manipulated": "bold red", "ai-generated": "bold magenta",
          "no-opinion": "dim"}
MAX_FACTS = 3
MAX_POINTS = 3  # distinct operating points listed under the table
MAX_SEGMENTS = 4  # flagged speech stretches listed per detector
# C0 controls but tab and newline, DEL and C1 (0x9b is a one-byte CSI); rich drops only BEL, BS, VT, FF, CR
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """`text` with control characters written as `\\xNN`: names and messages come from files (a name or an
    EXIF field quoted in a reason), and `ESC [2J` or `ESC ]0;...` would clear the screen or retitle the
    window."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _facts(report: Report) -> str:
    """Distinct provenance claims, leaving out one the top reason already states."""
    top = report.top_reason().lower()
    claims = [c for c in dict.fromkeys(f.claim for f in report.provenance) if c.lower() not in top]
    more = f" (+{len(claims) - MAX_FACTS} more)" if len(claims) > MAX_FACTS else ""
    return visible("; ".join(claims[:MAX_FACTS]) + more)


def _speech(report: Report) -> list[tuple[str, str]]:
    """(detector, its flagged stretches as 'm:ss.s-m:ss.s (score)') per speech detector that flagged any."""
    out = []
    for entry in speech_entries(report):
        spans = [f"{clock(g.start_s)}–{clock(g.end_s)} ({g.score:.0%})" for g in entry.segments]
        more = f" (+{len(spans) - MAX_SEGMENTS} more)" if len(spans) > MAX_SEGMENTS else ""
        if spans:
            out.append((visible(entry.detector), ", ".join(spans[:MAX_SEGMENTS]) + more))
    return out


def _reason_cell(report: Report) -> Text:
    cell = Text(visible(report.top_reason()))
    if _facts(report):
        cell.append("\nfacts: ", style="bold cyan")
        cell.append(_facts(report), style="cyan")
    for detector, spans in _speech(report):
        cell.append(f"\nspeech flagged by {detector}: ", style="bold magenta")
        cell.append(spans, style="magenta")
    return cell


def summary_table(reports: Iterable[Report], title: str = "unmask scan") -> Table:
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("file", overflow="fold", max_width=32)
    table.add_column("kind", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("prob.", justify="right", no_wrap=True)
    table.add_column("top reason / facts from the file", overflow="fold", ratio=1)
    reports = list(reports)
    for r, name in zip(reports, display_names([r.media.path for r in reports]), strict=True):
        if r.verdict is None:
            verdict, prob = Text("not analysed", style="bold red"), Text("-")
        elif r.verdict.probability is None:
            verdict, prob = Text(r.verdict.label, style=STYLES[r.verdict.label]), Text("-")
        else:
            label = r.verdict.label + ("" if r.verdict.calibrated else "*")
            verdict, prob = Text(label, style=STYLES[r.verdict.label]), Text(f"{r.verdict.probability:.2f}")
        table.add_row(Text(visible(name)), Text(visible(r.media.kind)), verdict, prob, _reason_cell(r))
    return table


def totals(counts: Counter[str]) -> Text:
    """'12 files: 9 authentic, 2 manipulated, 1 not analysed', in a fixed order."""
    order = [*STYLES, "not analysed"]
    n = sum(counts.values())
    text = Text(f"{n} file{'s' if n != 1 else ''}: ")
    parts = [(label, counts[label]) for label in order if counts.get(label)]
    for i, (label, count) in enumerate(parts):
        text.append(f"{count} {label}", style=STYLES.get(label, "bold red"))
        if i < len(parts) - 1:
            text.append(", ")
    return text


def verdict_key(report: Report) -> str:
    return report.verdict.label if report.verdict else "not analysed"


def print_summary(reports: Sequence[Report], console: Console, counts: Counter[str] | None = None,
                  omitted: int = 0) -> None:
    """The table, a note for rows left out, the totals, the operating points used and the meaning of '*'."""
    console.print(summary_table(reports))
    if omitted:
        console.print(Text(f"... {omitted} more file(s) not shown; see the JSON output", style="dim"))
    console.print(totals(counts if counts is not None else Counter(map(verdict_key, reports))))
    points = dict.fromkeys(describe_operating_point(r.verdict.model_dump()) for r in reports if r.verdict)
    for point in [p for p in points if p][:MAX_POINTS]:
        console.print(Text(point, style="dim"))
    if any(r.verdict and r.verdict.probability is not None and not r.verdict.calibrated for r in reports):
        console.print(Text(f"* {probability_note(False)}", style="dim"))


def print_failures(failures: Sequence[tuple[str, str]], total: int, console: Console) -> None:
    """Every file that could not be analysed, with its reason (for exit code 1)."""
    if not failures:
        return
    console.print(Text(f"{len(failures)} of {total} file(s) could not be analysed:", style="bold red"))
    for path, reason in failures:
        line = Text("  ")
        line.append(visible(path), style="bold")
        line.append(f": {visible(reason)}")
        console.print(line, soft_wrap=True)
