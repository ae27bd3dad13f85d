"""Batch scanning: expand paths, analyse in parallel, and yield reports in input order.

A batch never dies on one file: load errors, detector crashes and even a worker process dying become that
file's error entry. Results stream out in order so callers can write each one as soon as it is ready.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .analysis import Analyzer, failed_report
from .errors import MediaError, UnmaskError
from .report.model import Report


@dataclass(frozen=True)
class Item:
    """One input: a path to analyse, or a path that failed before analysis (e.g. a symlink loop)."""

    path: Path
    error: str | None = None


def expand(paths: Sequence[str | os.PathLike], recursive: bool = False) -> Iterator[Item]:
    """Files as given; directories expanded in sorted order (descending only with `recursive`).

    Symlinked directories are followed once; a link back into its own ancestry is reported, not looped.
    """
    for p in map(Path, paths):
        if p.is_dir():
            yield from _walk(p, recursive, ancestors=frozenset())
        else:
            yield Item(p)


def _walk(folder: Path, recursive: bool, ancestors: frozenset[str]) -> Iterator[Item]:
    try:
        real = os.path.realpath(folder, strict=True)
    except (OSError, RuntimeError) as exc:
        yield Item(folder, f"cannot resolve {folder}: {exc}")
        return
    if real in ancestors:
        yield Item(folder, f"symlink loop: {folder} points back to {real}")
        return
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield Item(folder, f"cannot list directory {folder}: {exc.strerror or exc}")
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError as exc:
            yield Item(path, f"cannot stat {path}: {exc}")
            continue
        if is_dir:
            if recursive:
                yield from _walk(path, recursive, ancestors | {real})
        elif entry.is_symlink() and not path.exists():
            yield Item(path, f"broken or looping symlink: {path}")
        else:
            yield Item(path)


_WORKER: dict[str, Analyzer] = {}


def _init_worker(profile: str, detectors: Sequence[str] | None) -> None:
    _WORKER["analyzer"] = Analyzer(profile=profile, detectors=detectors)


def _analyze_in_worker(path: str) -> Report:
    return _safe_analyze(_WORKER["analyzer"], path)


def _safe_analyze(analyzer: Analyzer, path: str) -> Report:
    try:
        return analyzer.analyze(path)
    except UnmaskError as exc:
        return failed_report(path, exc, analyzer.profile)
    except Exception as exc:  # never lose the batch to one file
        err = MediaError(f"analysis failed: {type(exc).__name__}: {exc}", code="internal_error")
        return failed_report(path, err, analyzer.profile)


def scan(items: Iterable[Item], profile: str = "default", detectors: Sequence[str] | None = None,
         workers: int = 1) -> Iterator[Report]:
    """Analyse items and yield one report per item, in input order."""
    if workers <= 1:
        analyzer = Analyzer(profile=profile, detectors=detectors)
        for item in items:
            yield _report_for(item, lambda p, a=analyzer: _safe_analyze(a, p), profile)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                             initargs=(profile, detectors)) as pool:
        pending: deque[tuple[Item, Future[Report] | None]] = deque()
        for item in items:
            fut = None if item.error else pool.submit(_analyze_in_worker, str(item.path))
            pending.append((item, fut))
            while len(pending) > 4 * workers:
                yield _collect(*pending.popleft(), profile)
        while pending:
            yield _collect(*pending.popleft(), profile)


def _report_for(item: Item, run, profile: str) -> Report:
    if item.error:
        return failed_report(str(item.path), MediaError(item.error, code="unreadable"), profile)
    return run(str(item.path))


def _collect(item: Item, fut: Future[Report] | None, profile: str) -> Report:
    if fut is None:
        return _report_for(item, None, profile)
    try:
        return fut.result()
    except Exception as exc:  # e.g. the worker process was killed by the OOM killer
        err = MediaError(f"worker failed while analysing this file: {type(exc).__name__}: {exc}",
                         code="worker_failed")
        return failed_report(str(item.path), err, profile)
