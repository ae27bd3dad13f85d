"""Batch scanning: expand paths, analyse in parallel, and yield reports in input order.

A batch never dies on one file: load errors, detector crashes and even a worker process dying become that
file's error entry. Results stream out in order so callers can write each one as soon as it is ready.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .analysis import Analyzer, failed_report
from .errors import MediaError, UnmaskError
from .limits import DEFAULT_LIMITS, Limits
from .report.model import Report

A = TypeVar("A")
R = TypeVar("R")


@dataclass(frozen=True)
class Item:
    """One input: a path to analyse, or a path that failed before analysis (e.g. a broken symlink)."""

    path: Path
    error: str | None = None
    code: str = "unreadable"  # the error's code in the report


# ---------------------------------------------------------------------------------------------- expansion


def expand(paths: Sequence[str | os.PathLike], recursive: bool = False,
           skipped: list[str] | None = None) -> Iterator[Item]:
    """Files as given; directories expanded in sorted order (descending only with `recursive`).

    Inside directories, hidden entries (names starting with '.') and special files (FIFOs, sockets,
    devices) are skipped, as are sub-directories without `recursive`. Symlinked directories are followed
    once; a link back into its own ancestry (a loop) or to a directory already scanned is skipped. Every
    skip is described in `skipped` when a list is given. A named path that cannot be read is an error item.
    """
    notes = skipped if skipped is not None else []
    visited: set[str] = set()
    for p in map(Path, paths):
        if p.is_dir():
            yield from _walk(p, recursive, frozenset(), visited, notes)
        else:
            yield _explicit(p)


def _explicit(path: Path) -> Item:
    """A path named by the user. Special files are refused here, because reading a FIFO would block."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return Item(path)  # the loader gives the precise reason (not found, loop, permission)
    if not stat.S_ISREG(mode):
        return Item(path, f"{path} is not a regular file (FIFO, socket or device); not read", "not_regular_file")
    return Item(path)


def _walk(folder: Path, recursive: bool, ancestors: frozenset[str], visited: set[str],
          notes: list[str]) -> Iterator[Item]:
    try:
        real = os.path.realpath(folder, strict=True)
    except (OSError, RuntimeError) as exc:
        yield Item(folder, f"cannot resolve directory {folder}: {exc}")
        return
    if real in ancestors:
        notes.append(f"skipped {folder}: symlink loop (it points back to {real})")
        return
    if real in visited:
        notes.append(f"skipped {folder}: directory {real} was already scanned")
        return
    visited.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield Item(folder, f"cannot list directory {folder}: {exc.strerror or exc}")
        return
    subdirs = hidden = 0
    for entry in entries:
        if entry.name.startswith("."):
            hidden += 1
            continue
        kind = _entry_kind(entry)
        path = Path(entry.path)
        if kind == "dir" and recursive:
            yield from _walk(path, recursive, ancestors | {real}, visited, notes)
        elif kind == "dir":
            subdirs += 1
        elif kind == "special":
            notes.append(f"skipped {path}: not a regular file (FIFO, socket or device)")
        elif kind == "broken":
            yield Item(path, f"broken or looping symlink: {path}")
        else:
            yield Item(path)
    if subdirs:
        notes.append(f"skipped {subdirs} sub-director{'y' if subdirs == 1 else 'ies'} of {folder} "
                     "(use --recursive to scan them)")
    if hidden:
        notes.append(f"skipped {hidden} hidden entr{'y' if hidden == 1 else 'ies'} in {folder}")


def _entry_kind(entry: os.DirEntry) -> str:
    """'dir', 'file', 'special' or 'broken' (a symlink whose target is missing or loops)."""
    try:
        st = entry.stat(follow_symlinks=True)
    except OSError:
        return "broken"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    return "file" if stat.S_ISREG(st.st_mode) else "special"


# ------------------------------------------------------------------------------ ordered, crash-safe pool


_END = object()


@dataclass
class _Slot:
    arg: Any
    future: Future | None = None
    done: bool = False
    value: Any = None


_PRELOAD = ("unmask.scan", "unmask.analysis", "unmask.detectors")


def _context() -> Any:
    """forkserver where the platform has it (no fork of a threaded parent, e.g. one showing a progress bar),
    else spawn. The fork server imports unmask once, so a fresh worker starts in milliseconds."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(_PRELOAD))
    return ctx


def _new_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=_context())


def _submit(pool: ProcessPoolExecutor, fn: Callable[[A], R], arg: A) -> Future:
    try:
        return pool.submit(fn, arg)
    except BrokenProcessPool as exc:  # the pool broke while we were still filling it
        failed: Future = Future()
        failed.set_exception(exc)
        return failed


def run_ordered(args: Iterable[A], fn: Callable[[A], R], workers: int,
                on_crash: Callable[[A, BaseException], R], window: int | None = None) -> Iterator[R]:
    """Yield `fn(arg)` for every arg, in input order, computed by `workers` processes.

    At most `window` args are in flight. When a worker process dies (killed, out of memory, a crash in a
    native decoder) the pool breaks and every unfinished arg fails with it; those args are then re-run one
    at a time in a fresh single-worker pool, so only the one that kills its worker again gets
    `on_crash(arg, exc)`, and the batch continues in a new pool. `fn` raising gives `on_crash` as well.
    """
    window = window or 2 * workers
    source = iter(args)
    pending: deque[_Slot] = deque()
    pool = _new_pool(workers)
    try:
        while True:
            while len(pending) < window and (arg := next(source, _END)) is not _END:
                pending.append(_Slot(arg, _submit(pool, fn, arg)))
            if not pending:
                return
            head = pending[0]
            if not head.done:
                try:
                    head.value, head.done = head.future.result(), True
                except (BrokenProcessPool, CancelledError):
                    pool.shutdown(wait=True, cancel_futures=True)
                    _recover(list(pending), fn, on_crash)
                    pool = _new_pool(workers)
                    continue
                except Exception as exc:
                    head.value, head.done = on_crash(head.arg, exc), True
            yield pending.popleft().value
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _recover(slots: list[_Slot], fn: Callable[[A], R], on_crash: Callable[[A, BaseException], R]) -> None:
    """Keep results that finished before the crash; re-run the rest in isolation to find the culprit."""
    suspects = []
    for slot in slots:
        if slot.done:
            continue
        fut = slot.future
        if fut is not None and fut.done() and not fut.cancelled():
            exc = fut.exception()
            if exc is None:
                slot.value, slot.done = fut.result(), True
                continue
            if not isinstance(exc, BrokenProcessPool):
                slot.value, slot.done = on_crash(slot.arg, exc), True
                continue
        suspects.append(slot)
    _isolate(suspects, fn, on_crash)


def _isolate(slots: list[_Slot], fn: Callable[[A], R], on_crash: Callable[[A, BaseException], R]) -> None:
    pool: ProcessPoolExecutor | None = None
    try:
        for slot in slots:
            pool = pool or _new_pool(1)
            try:
                slot.value = _submit(pool, fn, slot.arg).result()
            except BrokenProcessPool as exc:
                slot.value = on_crash(slot.arg, exc)
                pool.shutdown(wait=True)
                pool = None
            except Exception as exc:
                slot.value = on_crash(slot.arg, exc)
            slot.done = True
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


# ------------------------------------------------------------------------------------------------- scan


@dataclass(frozen=True)
class Settings:
    """What every worker needs to build the same analyzer (picklable)."""

    profile: str = "default"
    detectors: tuple[str, ...] | None = None
    keep_arrays: bool = True
    skip_uninstalled: bool = False
    limits: Limits = field(default=DEFAULT_LIMITS)
    options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    calibrations: tuple[tuple[str, str], ...] = ()
    verdict_model: str | None = None  # a verdict model file, "none", or None for the profile's packaged one

    @staticmethod
    def freeze(options: Mapping[str, Mapping[str, Any]] | None) -> tuple:
        """Per-detector constructor options as nested tuples, so settings stay hashable for the cache."""
        return tuple(sorted((name, tuple(sorted(kw.items()))) for name, kw in (options or {}).items()))


@functools.lru_cache(maxsize=4)
def _worker_analyzer(settings: Settings) -> Analyzer:
    """One analyzer per worker process and settings, so detectors are built once, not once per file."""
    return _build(settings)


def _build(settings: Settings) -> Analyzer:
    return Analyzer(profile=settings.profile, detectors=settings.detectors, limits=settings.limits,
                    skip_uninstalled=settings.skip_uninstalled,
                    options={name: dict(kw) for name, kw in settings.options},
                    calibrations=dict(settings.calibrations) or None, verdict_model=settings.verdict_model,
                    spectrograms=settings.keep_arrays)


def analyze_item(item: Item, settings: Settings, analyzer: Analyzer | None = None) -> Report:
    """The report for one item; never raises (every failure becomes the report's fatal error)."""
    if item.error:
        return failed_report(str(item.path), MediaError(item.error, code=item.code), settings.profile,
                             settings.limits)
    analyzer = analyzer or _worker_analyzer(settings)
    try:
        report = analyzer.analyze(item.path)
    except UnmaskError as exc:
        report = failed_report(str(item.path), exc, settings.profile, settings.limits)
    except Exception as exc:  # never lose the batch to one file
        err = MediaError(f"analysis failed: {type(exc).__name__}: {exc}", code="internal_error")
        report = failed_report(str(item.path), err, settings.profile, settings.limits)
    if not settings.keep_arrays:
        report.drop_arrays()
    return report


def _crashed(settings: Settings, item: Item, exc: BaseException) -> Report:
    why = "the worker process died" if isinstance(exc, BrokenProcessPool) else f"{type(exc).__name__}: {exc}"
    err = MediaError(f"analysis of this file failed: {why} (killed, out of memory, or a crash in a decoder)",
                     code="worker_failed")
    return failed_report(str(item.path), err, settings.profile, settings.limits)


def scan(items: Iterable[Item], profile: str = "default", detectors: Sequence[str] | None = None,
         workers: int = 1, keep_arrays: bool = True, skip_uninstalled: bool = False,
         limits: Limits = DEFAULT_LIMITS, options: Mapping[str, Mapping[str, Any]] | None = None,
         calibrations: Mapping[str, str] | None = None, verdict_model: str | None = None) -> Iterator[Report]:
    """Analyse items and yield one report per item, in input order.

    `workers > 1` uses that many processes; `keep_arrays=False` drops maps and previews in the worker
    (cheaper when only JSON is wanted); `options` are per-detector constructor arguments; `calibrations`
    maps detector names to calibration files; `verdict_model` is a verdict model file or "none" (None: the
    profile's packaged one).
    """
    settings = Settings(profile, tuple(detectors) if detectors is not None else None, keep_arrays,
                        skip_uninstalled, limits, Settings.freeze(options),
                        tuple(sorted((calibrations or {}).items())),
                        None if verdict_model is None else str(verdict_model))
    if workers <= 1:
        analyzer = _build(settings)
        for item in items:
            yield analyze_item(item, settings, analyzer)
        return
    yield from run_ordered(items, functools.partial(analyze_item, settings=settings), workers,
                           functools.partial(_crashed, settings))
