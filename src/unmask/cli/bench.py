"""`unmask bench`: run a benchmark protocol into a resumable cache, and rebuild its report from the cache.

Exit codes follow the main CLI: 0 done, 1 done but some results are errors, 2 usage error (bad protocol,
unknown detector, data absent), 130 interrupted (results so far are kept; run again to resume).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks: run a protocol (cached, resumable), report it.")


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]unmask bench:[/] {message}", highlight=False)
    return typer.Exit(code)


@bench_app.command("run")
def run(
    protocol: Annotated[Path, typer.Argument(help="A protocol YAML file.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Run folder (cache, maps, report).")],
    limit: Annotated[int | None, typer.Option("--limit", min=1, metavar="N",
                                              help="A fixed subset of N items (by hash of the path).")] = None,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="Run again results that failed.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the report afterwards.")] = False,
) -> None:
    """Run every (item, perturbation, detector) not yet in the cache, then write the report."""
    from ..bench.protocol import load_protocol
    from ..bench.report import write_report
    from ..bench.runner import run_protocol
    from ..errors import UnmaskError

    try:
        proto = load_protocol(protocol)
        summary = run_protocol(proto, out, limit=limit, retry_errors=retry_errors)
    except KeyboardInterrupt:
        raise _fail(f"interrupted; results so far are kept in {out}, run the same command to resume", 130) from None
    except UnmaskError as exc:
        raise _fail(str(exc)) from None
    console = Console(stderr=True)
    console.print(f"{summary.items} items: {summary.computed} results computed ({summary.errors} errors), "
                  f"{summary.cached} from the cache, {summary.seconds:.1f} s", highlight=False)
    if not no_report:
        console.print(f"report: {write_report(out)}", highlight=False)
    raise typer.Exit(1 if summary.errors else 0)


@bench_app.command("report")
def report(run_dir: Annotated[Path, typer.Argument(metavar="DIR", help="A folder written by `bench run`.")]) -> None:
    """Recompute the tables and plots from the cache alone (no detector runs)."""
    from ..bench.report import write_report

    try:
        path = write_report(run_dir)
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    Console(stderr=True).print(f"report: {path}", highlight=False)
