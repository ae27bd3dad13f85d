"""The `unmask` command line: `app` (Typer) and `main` (the console script, `unmask = "unmask.cli:main"`).

One module per command group, each only parsing arguments and printing; the work is done by the library
packages they call, imported inside each command so that `unmask --help` stays light:

- `scan`: `unmask scan` (unmask.scan, unmask.analysis, unmask.report)
- `batch`: `unmask batch` on Ray Data (unmask.batch)
- `catalog`: `unmask detectors`, `unmask models`, `unmask schema`
- `serve`: `unmask serve` (unmask.serve)
- `bench`: `unmask bench run/report` (unmask.bench)
- `calibrate`: `unmask calibrate` (unmask.calibration)
- `verdict`: `unmask verdict fit/show` (unmask.verdict)
- `train`: `unmask train` (unmask.train)
- `data`: `unmask data check/convert` (unmask.datasets)
- `index`: `unmask index add/info/remove` (unmask.posts.index), the pictures `image_reuse` searches

Exit codes: 0 done (every file analysed); 1 done, but some files or results failed (each listed with its
reason); 2 usage error (bad option, unknown detector, no files, an output that cannot be written); 3 the run
itself failed (an output write failed mid-run, or an internal error); 130 interrupted. Never a traceback.
"""

from __future__ import annotations

import atexit
import gc
import sys
from typing import Annotated

import typer

from .._version import __version__
from . import batch, bench, calibrate, catalog, data, index, scan, serve, train, verdict
from .metavars import use_plain_metavars

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="unmask: is this media real? Detect, localise and explain manipulation.")
use_plain_metavars()  # --help shows PATH..., TEXT, INTEGER and no value after a flag, not <list[Path]>, <bool>


def _version(value: bool) -> None:
    if value:
        typer.echo(f"unmask {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    pass


app.command()(scan.scan)
app.command()(batch.batch)
app.command("detectors")(catalog.list_detectors)
app.command()(catalog.schema)
app.command()(serve.serve)
app.add_typer(bench.bench_app, name="bench", help="Run benchmark protocols and report metrics from the cache.")
app.command("calibrate")(calibrate.calibrate)
app.add_typer(verdict.verdict_app, name="verdict", help="Verdict models: fit one per profile on dev runs, show it.")
app.command("train")(train.train)
app.command("models")(catalog.models)
app.add_typer(data.data_app, name="data")
app.add_typer(index.index_app, name="index")


def main() -> None:
    """Entry point: usage errors exit 2; anything unexpected is one line on stderr, not a traceback."""
    # At exit, skip the interpreter's last full garbage collection over everything torch, numpy and the models
    # allocated (about 0.45 s of a one-file scan, docs/benchmarks/startup.md); outputs are closed explicitly.
    atexit.register(gc.freeze)
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
