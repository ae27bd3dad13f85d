"""Analysis worker processes: each runs jobs one at a time in its own scratch folder and never touches the
job store or the published files, so a worker that dies (or outlives a killed server) cannot corrupt them.

The parent talks to a worker over a pipe: it sends a job spec and receives a small result dict; the report
and its map PNGs are written, fsynced, into the spec's scratch folder. Imports stay light (no web stack).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import multiprocessing
import os
import re
import signal
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..errors import MediaError, UnmaskError
from ..limits import Limits

_UNSAFE = re.compile(r"[^A-Za-z0-9._\[\]-]+")
INPUT_NAME = "upload"
SPECTROGRAM = "spectrogram.png"  # the sound of an audio or video upload, beside its map PNGs
_PR_SET_PDEATHSIG = 1


class WorkerDied(Exception):
    """The worker process exited (killed, out of memory, a crash in native code) before answering."""


class WorkerTimeout(Exception):
    """The job ran past its time limit; the worker was killed."""


class WorkerStopped(Exception):
    """The server is shutting down; the worker was stopped mid-job."""


def artifact_file(name: str) -> str:
    """The file name under which an artifact (a heatmap or mask name from the report) is stored and served."""
    return f"{_UNSAFE.sub('_', name)}.png"


# ------------------------------------------------------------------------------------------ child side


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent goes away, so a killed server leaves no busy orphans."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        os._exit(0)


def _analyzer(cache: dict[str, Any], profile: str, limits: Limits) -> Any:
    from ..analysis import Analyzer

    if profile not in cache:
        cache[profile] = Analyzer(profile=profile, limits=limits, skip_uninstalled=True)
    return cache[profile]


def _share_cores(threads: int) -> None:
    """Give this worker's torch its share of the cores, so N workers do not each start one thread per core."""
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(max(1, threads))


def worker_main(conn: Connection, profile: str, limits: Limits, threads: int = 1) -> None:
    """The worker's loop: build the default analyzer, then answer one job spec at a time until EOF."""
    _die_with_parent()
    _share_cores(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops us in order
    analyzers: dict[str, Any] = {}
    _analyzer(analyzers, profile, limits)
    while True:
        try:
            spec = conn.recv()
        except (EOFError, OSError):
            return
        if spec is None:
            return
        result = run_job(spec, analyzers, limits)
        try:
            conn.send(result)
        except OSError:
            return


def _link_inputs(spec: dict[str, Any], folder: Path) -> Path:
    """Link the upload (and a post's attachments) into an otherwise empty folder, so a post can only
    reference its own attachments, never other stored media."""
    folder.mkdir(parents=True)
    target = folder / INPUT_NAME
    os.link(spec["media"], target)
    for name, path in spec.get("attachments", []):
        os.link(path, folder / name)
    return target


def run_job(spec: dict[str, Any], analyzers: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """Analyse one upload into `spec['scratch']/out` (report.json + map PNGs, all fsynced)."""
    from ..analysis import failed_report

    t0 = time.perf_counter()
    scratch = Path(spec["scratch"])
    out = scratch / "out"
    try:
        source = _link_inputs(spec, scratch / "in")
        report = _analyzer(analyzers, spec["profile"], limits).analyze(source)
    except UnmaskError as exc:
        report = failed_report(None, exc, spec["profile"], limits)
    except Exception as exc:  # a bug must become this job's error, not the worker's death
        report = failed_report(None, MediaError(f"analysis failed: {type(exc).__name__}: {exc}",
                                                code="internal_error"), spec["profile"], limits)
    out.mkdir(parents=True)
    _write_maps(report, out)
    _write_spectrogram(report, out)
    report.media.path = None  # the server's file name means nothing to a client; the job sets its own
    report.drop_arrays()
    _write_synced(out / "report.json", report.to_json().encode("utf-8"))
    return {"out": str(out), "runtime_s": time.perf_counter() - t0, **outcome(report.to_dict())}


def _write_maps(report: Any, out: Path) -> None:
    from ..report.artifacts import write_artifacts

    if not report.analysed or not report.maps:
        return
    for path in write_artifacts(report, out / "maps"):
        final = out / path.name
        os.replace(path, final)
        with open(final, "rb") as f:
            os.fsync(f.fileno())
    for entry in report.evidence:
        for ref in (entry.heatmap, entry.mask):
            if ref is not None:
                ref.path = None
    with contextlib.suppress(OSError):
        for folder in (out / "maps").iterdir():
            folder.rmdir()
        (out / "maps").rmdir()


def _write_spectrogram(report: Any, out: Path) -> None:
    """The analysis's picture of the sound (unmask.report.spectrogram), when it drew one, as a PNG."""
    import io

    from PIL import Image

    from ..report.spectrogram import PREVIEW_KEY

    picture = report.previews.get(PREVIEW_KEY)
    if picture is not None:
        buf = io.BytesIO()
        Image.fromarray(picture).save(buf, "PNG", compress_level=1)
        _write_synced(out / SPECTROGRAM, buf.getvalue())


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def outcome(report: dict[str, Any]) -> dict[str, Any]:
    """What the job row keeps of a report: verdict, media kind, and the fatal error when not analysed."""
    fatal = [e["message"] for e in report.get("errors", []) if e.get("fatal")]
    verdict = report.get("verdict")
    return {"verdict_label": verdict["label"] if verdict and not fatal else None,
            "verdict_probability": verdict["probability"] if verdict and not fatal else None,
            "media_type": (report.get("media") or {}).get("kind"),
            "error": fatal[0] if fatal else None}


def load_report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------- parent side


def _context() -> Any:
    """forkserver where available: workers fork from a clean, preloaded process (never a threaded server)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["unmask.analysis", "unmask.detectors", "unmask.serve.worker"])
    return ctx


class WorkerProcess:
    """One analysis process owned by one slot thread; restarted after it dies or is killed."""

    def __init__(self, profile: str, limits: Limits, threads: int = 1) -> None:
        self.profile, self.limits, self.threads = profile, limits, threads
        self._proc: Any = None
        self._conn: Connection | None = None

    def start(self) -> None:
        """Start the process (it builds its analyzer before taking the first job)."""
        ctx = _context()
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker_main, args=(child, self.profile, self.limits, self.threads), daemon=True,
                           name="unmask-worker")
        try:
            proc.start()
        finally:
            child.close()
        self._proc, self._conn = proc, parent

    def run(self, spec: dict[str, Any], timeout: float, stopping: Any) -> dict[str, Any]:
        """Send one job and wait for its result. Raises WorkerDied, WorkerTimeout or WorkerStopped."""
        if self._proc is None or not self._proc.is_alive():
            self.kill()
            try:
                self.start()
            except Exception as exc:
                self.kill()
                raise WorkerDied(f"the worker process could not be started: {exc}") from exc
        assert self._conn is not None
        try:
            self._conn.send(spec)
        except OSError as exc:
            self.kill()
            raise WorkerDied("the worker process was gone before the job could be sent") from exc
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._conn.poll(0.2):
                    return self._conn.recv()
            except (EOFError, OSError) as exc:
                code = self._exitcode()
                self.kill()
                raise WorkerDied(f"the worker process died (exit code {code})") from exc
            if stopping.is_set():
                self.kill()
                raise WorkerStopped("the server is shutting down")
            if time.monotonic() > deadline:
                self.kill()
                raise WorkerTimeout(f"the analysis took longer than {timeout:.0f} s and was stopped")

    def _exitcode(self) -> int | None:
        if self._proc is None:
            return None
        self._proc.join(1.0)
        return self._proc.exitcode

    @property
    def pid(self) -> int | None:
        """The process id while it runs (for health checks and tests)."""
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    def kill(self) -> None:
        """Stop the process now (SIGKILL) and forget it."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None and self._proc.pid is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5.0)
        self._proc = None

    def stop(self) -> None:
        """Ask an idle worker to exit, then make sure it did."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
        if self._proc is not None and self._proc.pid is not None:
            self._proc.join(2.0)
        self.kill()
