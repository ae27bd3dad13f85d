"""The service's files: content-addressed media, atomically written reports and artifacts, scratch space.

Layout under the data directory: `media/<sha[:2]>/<sha>` (uploads, named by content, never by the client's
file name), `results/<key>/` (the analysis cache: report.json and map PNGs), `reports/<job id>.json` and
`artifacts/<job id>/` (each job's own copy), `tmp/<server>/` (uploads in progress, temporary files) and
`work/<server>/` (worker scratch). Everything that a reader may see is written to a temporary name, fsynced
and renamed into place.

Several servers may share one data directory (one machine, or a shared file system): each server process
keeps its scratch in folders of its own, marked live by a lock on `tmp/<server>.lock` that it holds while it
runs, so a starting server removes only the scratch of servers that are gone (their lock is free).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")
_OWNER = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
LOCK_SUFFIX = ".lock"


class UploadTooLarge(Exception):
    """The upload passed the byte limit; the partial file has been removed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"upload is larger than the {limit:,}-byte limit")
        self.limit = limit


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, scratch: Path | None = None) -> None:
    """Write `data` to `path` so readers see the old file or the complete new one, never a part.

    The temporary file goes to `scratch` (a folder on the same file system; default: beside `path`), so a
    server that dies mid-write leaves it in its own scratch, which is removed with it."""
    tmp = (scratch or path.parent) / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


class DataDir:
    """Paths inside one data directory; nothing here is ever derived from client-supplied names.

    `attach(owner)` gives this server process its own scratch folders (`tmp/<owner>/`, `work/<owner>/`),
    held live by a lock; uploads, temporary files and worker scratch go there.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.media = self.root / "media"
        self.results = self.root / "results"
        self.reports = self.root / "reports"
        self.artifacts = self.root / "artifacts"
        self.tmp = self.root / "tmp"
        self.work = self.root / "work"
        self.locks = self.root / "locks"
        self.owner: str | None = None
        self._lock_fd: int | None = None

    def create(self) -> None:
        for folder in (self.media, self.results, self.reports, self.artifacts, self.tmp, self.work, self.locks):
            folder.mkdir(parents=True, exist_ok=True)

    def attach(self, owner: str) -> None:
        """Take the lock `tmp/<owner>.lock` (held until `detach` or the process ends), then create this
        server's scratch folders. The lock comes first, so another server never sees them unlocked."""
        if not _OWNER.match(owner):
            raise ValueError(f"server id {owner!r}: use letters, digits, '.', '_' and '-' only (at most 128)")
        if self.owner == owner:  # the same server started again in this process (an app's lifespan run twice)
            return
        fd = os.open(self.tmp / f"{owner}{LOCK_SUFFIX}", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise RuntimeError(f"another running server already uses the id {owner!r} in {self.root}") from exc
        self.owner, self._lock_fd = owner, fd
        for folder in (self.own_tmp, self.own_work):
            folder.mkdir(parents=True, exist_ok=True)

    def detach(self) -> None:
        """Remove this server's scratch and release its lock (a graceful stop)."""
        if self.owner is None or self._lock_fd is None:
            return
        for folder in (self.own_tmp, self.own_work):
            shutil.rmtree(folder, ignore_errors=True)
        (self.tmp / f"{self.owner}{LOCK_SUFFIX}").unlink(missing_ok=True)
        os.close(self._lock_fd)
        self.owner, self._lock_fd = None, None

    @property
    def own_tmp(self) -> Path:
        """This server's folder for uploads in progress and temporary files."""
        if self.owner is None:
            raise RuntimeError("the data directory is not attached to a server (call attach first)")
        return self.tmp / self.owner

    @property
    def own_work(self) -> Path:
        """This server's folder for worker scratch."""
        if self.owner is None:
            raise RuntimeError("the data directory is not attached to a server (call attach first)")
        return self.work / self.owner

    def clean_scratch(self, stale_after_s: float = 3600.0) -> None:
        """Remove the scratch of servers that are gone (half-finished uploads, worker folders, temporary
        files): every entry of `tmp/` and `work/` except this server's and those of servers whose lock is
        still held. Nothing there is referenced by a job, so removing it loses nothing. Temporary files that
        earlier versions wrote beside reports are removed once older than `stale_after_s`."""
        for folder in (self.tmp, self.work):
            for entry in folder.iterdir():
                name = entry.name.removesuffix(LOCK_SUFFIX)
                if name == self.owner or _held_by_another(self.tmp / f"{name}{LOCK_SUFFIX}"):
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        cutoff = time.time() - stale_after_s
        for folder in (self.reports, self.results):
            for stale in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    if stale.stat().st_mtime < cutoff:
                        stale.unlink()

    def write_atomic(self, path: Path, data: bytes) -> None:
        """`write_atomic` with the temporary file in this server's scratch (when attached)."""
        write_atomic(path, data, self.own_tmp if self.owner else None)

    def media_path(self, sha256: str) -> Path:
        if not _SHA.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.media / sha256[:2] / sha256

    def report_path(self, job_id: str) -> Path:
        return self.reports / f"{job_id}.json"

    def html_path(self, job_id: str) -> Path:
        return self.reports / f"{job_id}.html"

    def job_artifacts(self, job_id: str) -> Path:
        return self.artifacts / job_id

    def scratch(self, job_id: str) -> Path:
        """A fresh folder for one attempt: a worker left over from a killed server cannot collide with it."""
        return self.own_work / f"{job_id}-{secrets.token_hex(4)}"

    def upload(self, limit: int) -> UploadSink:
        return UploadSink(self, limit)


class UploadSink:
    """Receives an upload in chunks: hashes it, enforces the byte limit, then stores it by its SHA-256."""

    def __init__(self, data: DataDir, limit: int) -> None:
        self.data, self.limit = data, limit
        self.size = 0
        self._hash = hashlib.sha256()
        self._tmp = data.own_tmp / f"upload-{secrets.token_hex(8)}"
        self._file = open(self._tmp, "wb")  # noqa: SIM115 - closed in commit() or abort()

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.abort()
            raise UploadTooLarge(self.limit)
        self._hash.update(chunk)
        self._file.write(chunk)

    @property
    def sha256(self) -> str:
        """The SHA-256 of what was written so far (the content's name once complete)."""
        return self._hash.hexdigest()

    def commit(self) -> tuple[str, int]:
        """fsync the data and move it to media/<sha[:2]>/<sha>; returns (sha256, size). Blocking."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        sha = self.sha256
        target = self.data.media_path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, target)  # same content, so replacing an existing copy changes nothing
        fsync_dir(target.parent)
        fsync_dir(target.parent.parent)
        return sha, self.size

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._tmp.unlink(missing_ok=True)


class StripeLock:
    """A re-entrant lock that excludes the other threads of this process and, through `flock` on `path`,
    every other server process sharing the data directory (NFSv4 and local file systems honour it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> StripeLock:
        self._thread_lock.acquire()
        try:
            if self._depth == 0:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    os.close(fd)
                    raise
                self._fd = fd
            self._depth += 1
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)  # closing the file releases the flock
            self._fd = None
        self._thread_lock.release()


def _held_by_another(lock: Path) -> bool:
    """Whether a live server holds this lock file (try to take it without waiting; give it back at once)."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    return False


def link_or_copy(src: Path, dst: Path) -> None:
    """A hard link when possible (same file system), else a copy; either way fsynced."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        fsync_file(dst)
