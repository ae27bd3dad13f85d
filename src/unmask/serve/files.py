"""The service's files: content-addressed media, atomically written reports and artifacts, scratch space.

Layout under the data directory: `media/<sha[:2]>/<sha>` (uploads, named by content, never by the client's
file name), `results/<key>/` (the analysis cache: report.json and map PNGs), `reports/<job id>.json` and
`artifacts/<job id>/` (each job's own copy), `tmp/` (uploads in progress) and `work/` (worker scratch).
Everything that a reader may see is written to a temporary name, fsynced and renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")


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


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see the old file or the complete new one, never a part."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
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
    """Paths inside one data directory; nothing here is ever derived from client-supplied names."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.media = self.root / "media"
        self.results = self.root / "results"
        self.reports = self.root / "reports"
        self.artifacts = self.root / "artifacts"
        self.tmp = self.root / "tmp"
        self.work = self.root / "work"

    def create(self) -> None:
        for folder in (self.media, self.results, self.reports, self.artifacts, self.tmp, self.work):
            folder.mkdir(parents=True, exist_ok=True)

    def clean_scratch(self) -> None:
        """Remove half-finished uploads and worker scratch left by a killed server (nothing there is referenced)."""
        for folder in (self.tmp, self.work):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)
        for folder in (self.reports, self.results):
            for stale in folder.glob(".*.tmp"):
                stale.unlink(missing_ok=True)

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
        return self.work / f"{job_id}-{secrets.token_hex(4)}"

    def upload(self, limit: int) -> UploadSink:
        return UploadSink(self, limit)


class UploadSink:
    """Receives an upload in chunks: hashes it, enforces the byte limit, then stores it by its SHA-256."""

    def __init__(self, data: DataDir, limit: int) -> None:
        self.data, self.limit = data, limit
        self.size = 0
        self._hash = hashlib.sha256()
        self._tmp = data.tmp / f"upload-{secrets.token_hex(8)}"
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


def link_or_copy(src: Path, dst: Path) -> None:
    """A hard link when possible (same file system), else a copy; either way fsynced."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        fsync_file(dst)
