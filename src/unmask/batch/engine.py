"""Run a batch on Ray Data: sources in, one Parquet row per file out, resumable and streaming.

The driver lists the sources, reads which (path, sha256) pairs the output folder already holds for this
configuration, and hands both to Ray Data as small blocks. A pool of `FileScanner` actors (one CPU each,
detectors loaded once per actor) turns each block into result rows; the driver takes the results as they
stream out (`iter_batches`: Ray's executor holds back new work while results wait, so memory stays bounded),
writes them as Parquet parts and reports progress. Nothing is kept in the driver beyond one part of rows.

Ray is the local one this process starts (the default: no cluster needed, no dashboard, a small object store)
or, unchanged, an existing cluster named by `RAY_ADDRESS` (which `ray job submit` sets for its entrypoint).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UnmaskError
from ..scan import Settings
from .output import JsonLines, PartWriter, done_index, remove_temporaries
from .rows import Config
from .worker import FileScanner

OBJECT_STORE_BYTES = 256 * 1024**2  # the local Ray's shared memory: results are small rows, not media
INPUT_SCHEMA = pa.schema([("path", pa.string()), ("done", pa.list_(pa.string()))])


class BatchError(UnmaskError):
    """The batch as a whole could not go on (Ray failed to start, a node refused the configuration)."""

    code = "batch_failed"


@dataclass(frozen=True)
class BatchJob:
    """What to analyse and where to write it. `workers` 0 means one per CPU of the Ray cluster."""

    sources: list[str]
    out: Path
    settings: Settings
    workers: int = 0
    batch_size: int = 8
    part_rows: int = 1000
    flush_s: float = 30.0
    artifacts: str | None = None
    json_out: Path | None = None


@dataclass
class BatchSummary:
    """Counts so far: `analysed` + `failed` rows were written now, `skipped` were already in the folder."""

    total: int
    analysed: int = 0
    failed: int = 0
    skipped: int = 0
    parts: int = 0
    workers: int = 0
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return self.analysed + self.failed + self.skipped


ProgressHook = Callable[[BatchSummary], None]


def run_batch(job: BatchJob, on_progress: ProgressHook | None = None) -> BatchSummary:
    """Analyse every source not yet in `job.out` and return the counts. Interrupting (Ctrl-C) or a Ray failure
    still writes the rows received so far; the next run of the same command goes on from there."""
    started = time.perf_counter()
    config = Config.of(job.settings)
    job.out.mkdir(parents=True, exist_ok=True)
    remove_temporaries(job.out)
    blocks = input_blocks(job.sources, done_index(job.out, config.key), job.batch_size)
    summary = BatchSummary(total=len(job.sources))
    if not blocks:
        return summary
    writer = PartWriter(job.out, job.part_rows, job.flush_s)
    jsonl = JsonLines(job.json_out, job.out) if job.json_out else None
    try:
        with ray_session(job.workers) as workers:
            summary.workers = workers = max(1, min(workers, len(blocks)))  # an actor with no block is idle
            for table in _results(blocks, job, config, workers):
                _count(summary, table)
                _commit(writer.add(_written(table)), jsonl, summary)
                if on_progress is not None:
                    on_progress(summary)
    finally:
        _commit(writer.flush(), jsonl, summary)
        if jsonl is not None:
            jsonl.close()
        summary.seconds = time.perf_counter() - started
    return summary


def input_blocks(sources: list[str], done: dict[str, set[str]], size: int) -> list[pa.Table]:
    """The sources in blocks of `size` rows, each with the sha256s already written for it (its `done`)."""
    return [pa.table({"path": chunk, "done": [sorted(done.get(s, ())) for s in chunk]}, schema=INPUT_SCHEMA)
            for chunk in (sources[i:i + size] for i in range(0, len(sources), size))]


def _results(blocks: list[pa.Table], job: BatchJob, config: Config, workers: int) -> Iterator[pa.Table]:
    """Result tables as the actors finish them, in no particular order."""
    import ray
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False  # the command shows its own
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # not "progress bars disabled"
    dataset = ray.data.from_arrow(blocks).map_batches(
        FileScanner, fn_constructor_args=(job.settings, config, job.artifacts), batch_size=None,
        batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)
    try:
        yield from dataset.iter_batches(batch_size=None, batch_format="pyarrow")
    except ray.exceptions.RayError as exc:
        raise BatchError(f"the Ray job failed: {_last_line(exc)}") from exc


@contextlib.contextmanager
def ray_session(workers: int) -> Iterator[int]:
    """Connect to Ray for the batch and yield the number of worker actors to run.

    With `RAY_ADDRESS` set, this joins that cluster; else it starts a local Ray with enough CPUs for the
    workers, no dashboard and a small object store. A Ray this process had already joined is used as it is.
    Only what was started or joined here is shut down (for a cluster: this driver disconnects).
    """
    import ray

    joined = not ray.is_initialized()
    if joined:
        try:
            if os.environ.get("RAY_ADDRESS"):
                ray.init(logging_level=logging.WARNING, log_to_driver=False)
            else:
                ray.init(num_cpus=max(workers, os.cpu_count() or 1), object_store_memory=OBJECT_STORE_BYTES,
                         include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise BatchError(f"cannot start or join Ray: {_last_line(exc)}"
                             + (" (RAY_ADDRESS=" + os.environ["RAY_ADDRESS"] + ")"
                                if os.environ.get("RAY_ADDRESS") else "")) from exc
    try:
        yield workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        if joined:
            ray.shutdown()


def _count(summary: BatchSummary, table: pa.Table) -> None:
    skipped = pc.sum(table.column("skipped")).as_py() or 0
    failed = table.num_rows - skipped - pc.count(table.column("label")).as_py()
    summary.skipped += skipped
    summary.failed += failed
    summary.analysed += table.num_rows - skipped - failed


def _written(table: pa.Table) -> pa.Table:
    """The rows to write: those not skipped, without the `skipped` flag."""
    return table.filter(pc.invert(table.column("skipped"))).drop_columns(["skipped"])


def _commit(part: Path | None, jsonl: JsonLines | None, summary: BatchSummary) -> None:
    if part is not None:
        summary.parts += 1
        if jsonl is not None:
            jsonl.add_part(part)


def _last_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
