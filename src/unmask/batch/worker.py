"""The Ray Data actor that analyses files: detectors load once per actor, and a crash costs one file.

Each actor keeps one child process (a single-worker process pool) that holds the `Analyzer`, built on its first
file by `unmask.scan`'s per-process cache and kept for every file after. A file that kills the child (a
crash in a native decoder, the kernel's OOM killer) becomes that file's `worker_failed` row and the next file
gets a fresh child; the actor itself, and so the Ray job, never dies of one file.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import stat
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..analysis import failed_report
from ..errors import MediaError
from ..report.model import Report
from ..scan import Item, Settings, analyze_item
from .inputs import local_copy
from .rows import Config, report_row, to_table

_PRELOAD = ["unmask.batch.worker", "unmask.scan", "unmask.analysis", "unmask.detectors"]


def analyze_file(item: Item, settings: Settings, artifacts: str | None) -> Report:
    """Run in the child: the report of one file, its maps written under `artifacts` (if given) and dropped."""
    report = analyze_item(item, settings)
    if artifacts and report.analysed:
        from ..report.artifacts import write_artifacts
        from ..report.model import ErrorEntry

        try:
            write_artifacts(report, artifacts)
        except OSError as exc:
            report.errors.append(ErrorEntry(code="artifact_failed", fatal=False,
                                            message=f"maps could not be written: {exc.strerror or exc}"))
    report.drop_arrays()
    return report


def file_sha256(path: Path, max_bytes: int) -> str | None:
    """SHA-256 of a regular file within the byte limit (None otherwise: the analysis refuses it anyway)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def _item(path: Path) -> Item:
    """An Item for a file; a FIFO, socket or device is an error item, never opened (reading one blocks)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return Item(path)  # the loader gives the precise reason
    if stat.S_ISREG(mode):
        return Item(path)
    return Item(path, f"{path} is not a regular file (FIFO, socket or device); not read", "not_regular_file")


class FileScanner:
    """`map_batches` callable: a batch of (path, done) rows in, a batch of result rows out.

    `done` lists the sha256s already written for the path under this configuration; a file whose content is
    one of them comes back as a row with `skipped` true (and is not written again).
    """

    def __init__(self, settings: Settings, config: Config, artifacts: str | None = None) -> None:
        check_config(settings, config)
        self.settings, self.config, self.artifacts = settings, config, artifacts
        self.pool: ProcessPoolExecutor | None = None
        self.task = analyze_file  # what the child runs per file (a test swaps in one that crashes)

    def __call__(self, batch: pa.Table) -> pa.Table:
        sources = batch.column("path").to_pylist()
        done = batch.column("done").to_pylist()
        rows = [self.one(src, set(seen or ())) for src, seen in zip(sources, done, strict=True)]
        table = to_table([r for r in rows if r is not None])
        skipped = [src for src, r in zip(sources, rows, strict=True) if r is None]
        return _with_skipped(table, skipped)

    def one(self, source: str, done: set[str]) -> dict[str, Any] | None:
        """The row of one source, or None when it is already done."""
        limits = self.settings.limits
        try:
            with local_copy(source, limits.max_bytes) as local:
                sha = file_sha256(local, limits.max_bytes)
                if (sha or "") in done:
                    return None
                report = self._analyze(_item(local))
        except OSError as exc:
            sha = None
            if "" in done:
                return None
            report = failed_report(source, MediaError(f"cannot read {source}: {exc}", code="unreadable"),
                                   self.settings.profile, limits)
        report.media.path = source
        return report_row(report, source, sha, self.config)

    def _analyze(self, item: Item) -> Report:
        if item.error:
            return analyze_item(item, self.settings)
        self.pool = self.pool or ProcessPoolExecutor(1, mp_context=_context())
        try:
            return self.pool.submit(self.task, item, self.settings, self.artifacts).result()
        except BrokenProcessPool:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
            err = MediaError("analysis of this file failed: the worker process died (killed, out of memory, "
                             "or a crash in a decoder)", code="worker_failed")
        except Exception as exc:  # e.g. a report that could not be sent back: this file's error, not the batch's
            err = MediaError(f"analysis failed: {type(exc).__name__}: {exc}", code="internal_error")
        return failed_report(str(item.path), err, self.settings.profile, self.settings.limits)


def check_config(settings: Settings, config: Config) -> None:
    """Refuse to start on a node whose install runs other detectors or versions than the driver expects, so
    rows of one configuration never mix results of two (e.g. a node with an extra missing)."""
    mine = Config.of(settings)
    if mine != config:
        raise RuntimeError(f"this node runs detectors {dict(mine.versions)} but the batch expects "
                           f"{dict(config.versions)}: install the same unmask version and extras on every node")


def _context() -> Any:
    """forkserver where the platform has it (a Ray worker is threaded: no plain fork), else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _with_skipped(table: pa.Table, skipped: list[str]) -> pa.Table:
    """Append the skipped sources as rows with only `path` set and `skipped` true, the others false."""
    flag = pa.array([False] * table.num_rows + [True] * len(skipped))
    if skipped:
        table = pa.concat_tables([table, pa.Table.from_pylist([{"path": s} for s in skipped], schema=table.schema)])
    return table.append_column("skipped", flag)
