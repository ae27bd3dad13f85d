"""What the server does with jobs, independent of HTTP: accept, cache, run, publish, delete.

Durability order: an upload is fsynced before its job row is committed; a report is fsynced before its job
is marked done; results are published by renaming a complete folder. A killed server therefore leaves
only rows in `queued`/`running` and scratch files. Its `running` rows are leased to it: once the leases
expire, any server sharing the store (or this one, restarted) claims them again; its scratch is removed by
the next server that starts on the same data directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .. import __version__
from .files import DataDir, StripeLock, UploadSink, fsync_dir, link_or_copy
from .lease import RENEWALS_PER_LEASE, Heartbeat, new_server_id
from .metrics import Metrics
from .pool import WorkerPool
from .settings import ServeSettings
from .store import JobStore, attachments_json, attachments_of
from .worker import (
    SPECTROGRAM,
    WorkerDied,
    WorkerProcess,
    WorkerStopped,
    WorkerTimeout,
    artifact_file,
    load_report,
    outcome,
)

log = logging.getLogger("unmask.serve")


def report_artifacts(report: dict[str, Any]) -> list[str]:
    """The artifact file names a report refers to (heatmaps and masks of its evidence entries), and for audio
    and video the spectrogram of the sound (present when the analysis could draw one)."""
    names = [SPECTROGRAM] if (report.get("media") or {}).get("kind") in ("audio", "video") else []
    for entry in report.get("evidence", []):
        for kind in ("heatmap", "mask"):
            ref = entry.get(kind)
            if ref and ref.get("name"):
                names.append(artifact_file(ref["name"]))
    return names


class Service:
    """The job store, the files and the worker pool of one server. Any number of servers may share one
    store and one data directory: each claims jobs under its own id (`server_id`) with leases."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.server_id = settings.server_id or new_server_id()
        self.data = DataDir(settings.data_dir)
        self.metrics = Metrics()
        self.store: JobStore = None  # type: ignore[assignment]  # set by start()
        self.pool: WorkerPool | None = None
        self.heartbeat: Heartbeat | None = None
        self._digests: dict[str, str] = {}
        self._digest_lock = threading.Lock()
        self._content_locks = [StripeLock(self.data.locks / f"content-{i:02d}.lock") for i in range(64)]

    def _stripe(self, sha256: str) -> int:
        return int(sha256[:4], 16) % len(self._content_locks)

    def content_lock(self, sha256: str) -> StripeLock:
        """Serialises storing, referencing and removing one content, across the threads of this server and
        every server sharing the data directory, so a delete cannot remove an upload that a new job (here
        or on another server) is about to refer to."""
        return self._content_locks[self._stripe(sha256)]

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Take this server's scratch in the data directory (removing that of servers that are gone), open
        the store, start the lease heartbeat and the workers. Jobs a dead server left running are claimed
        again once their leases expire, by whichever server asks first."""
        self.data.create()
        self.data.attach(self.server_id)
        self.data.clean_scratch()
        self.store = JobStore(self.settings.db_url())
        if self.heartbeat is not None:  # started again in this process: one heartbeat is enough
            self.heartbeat.stop()
        self.heartbeat = Heartbeat(self.renew_leases, self.settings.lease_seconds / RENEWALS_PER_LEASE)
        self.heartbeat.start()
        self.pool = WorkerPool(self.settings.workers, self.settings.profile, self.settings.limits,
                               self.claim, self.process)
        self.pool.start()
        log.info("server %s started (leases of %.1f s)", self.server_id, self.settings.lease_seconds)

    def stop(self) -> None:
        """Stop the workers, put the jobs still held back in the queue, drop the leases and the scratch."""
        if self.pool is not None:
            self.pool.stop()
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.store is not None:
            try:
                released = self.store.release_all(self.server_id)
                if released:
                    log.warning("put %d interrupted job(s) back in the queue", released)
            finally:
                self.store.close()
        self.data.detach()

    def claim(self) -> dict[str, Any] | None:
        """The next job for this server, leased to it (the pool's claim step)."""
        return self.store.claim(self.server_id, self.settings.lease_seconds)

    def renew_leases(self) -> int:
        """The heartbeat's step: extend the leases of every job this server runs."""
        return self.store.renew(self.server_id, self.settings.lease_seconds)

    # ----------------------------------------------------------------------------------------- accepting

    def detector_digest(self, profile: str) -> str:
        """What decides a result besides the content: unmask's version, the profile's detectors and their
        versions, and the limits. Part of the cache key, so an upgrade never serves stale results."""
        with self._digest_lock:
            if profile not in self._digests:
                from ..analysis import Analyzer

                analyzer = Analyzer(profile=profile, limits=self.settings.limits, skip_uninstalled=True)
                versions = [(c.name, c.version) for c in analyzer._classes]
                text = json.dumps([__version__, profile, versions, repr(self.settings.limits)])
                self._digests[profile] = hashlib.sha256(text.encode()).hexdigest()
            return self._digests[profile]

    def cache_key(self, sha256: str, profile: str) -> str:
        return hashlib.sha256(f"{sha256}:{profile}:{self.detector_digest(profile)}".encode()).hexdigest()

    def accept(self, sink: UploadSink, filename: str | None, profile: str,
               attachments: Sequence[UploadSink] = ()) -> dict[str, Any] | None:
        """Store a complete upload (and a post's attachments) durably, then create its job (None: the queue
        is full). Blocking: run it off the event loop."""
        stripes = sorted({self._stripe(s.sha256) for s in (sink, *attachments)})
        with ExitStack() as stack:
            for i in stripes:  # always in the same order, so two requests cannot deadlock
                stack.enter_context(self._content_locks[i])
            stored = tuple(a.commit()[0] for a in attachments)
            sha256, size = sink.commit()
            return self.submit(sha256, size, filename, profile, stored)

    def submit(self, sha256: str, size: int, filename: str | None, profile: str,
               attachments: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """Create a job for stored content. A cached result finishes it at once; otherwise it is queued,
        unless the queue is full (then None, and content no job refers to is removed again)."""
        key = self.cache_key(sha256, profile)
        job = {"id": uuid.uuid4().hex, "sha256": sha256, "size": size, "filename": filename,
               "profile": profile, "cache_key": key, "attachments": attachments_json(attachments)}
        hit = self.cached(key)
        if hit is not None:
            claimed = self.store.add_claimed(job, self.server_id, self.settings.lease_seconds)
            self.metrics.job("cached")
            self.finalize(claimed, hit)
        elif self.store.add({**job, "status": "queued"}, queue_limit=self.settings.queue_size):
            self.metrics.job("queued")
            if self.pool is not None:
                self.pool.notify()
        else:
            for sha in (sha256, *attachments):
                self._purge_if_unreferenced(sha)
            return None
        return self.store.get(job["id"])

    def cached(self, key: str) -> dict[str, Any] | None:
        """The cached result for a key, if its folder is still there."""
        row = self.store.cached(key)
        if row is None or not (self.data.root / row["path"] / "report.json").is_file():
            return None
        return row

    # ------------------------------------------------------------------------------------------- running

    def process(self, job: dict[str, Any], worker: WorkerProcess, stopping: threading.Event) -> None:
        """Run one claimed job to an end state (or back to the queue); never raises."""
        try:
            self._process(job, worker, stopping)
        except Exception as exc:  # e.g. the disk is full: this job fails, the slot carries on
            log.exception("job %s failed in the server", job["id"])
            self.fail(job, f"storing the result failed: {type(exc).__name__}: {exc}")

    def _process(self, job: dict[str, Any], worker: WorkerProcess, stopping: threading.Event) -> None:
        if job["deleted"]:
            self.fail(job, "the upload was deleted before it was analysed")
            return
        if not all(self.data.media_path(sha).is_file() for sha in (job["sha256"], *attachments_of(job))):
            self.fail(job, "the uploaded file is no longer stored")
            return
        hit = self.cached(job["cache_key"])
        if hit is not None:
            self.metrics.job("cached")
            self.finalize(job, hit)
            return
        self.metrics.job("running")
        scratch = self.data.scratch(job["id"])
        spec = {"media": str(self.data.media_path(job["sha256"])), "profile": job["profile"],
                "scratch": str(scratch),
                "attachments": [(sha, str(self.data.media_path(sha))) for sha in attachments_of(job)]}
        try:
            result = worker.run(spec, self.settings.job_timeout_s, stopping)
        except (WorkerStopped, WorkerTimeout, WorkerDied) as exc:  # the worker is gone: its scratch too
            shutil.rmtree(scratch, ignore_errors=True)
            if isinstance(exc, WorkerStopped):
                self.store.requeue(job, count_attempt=False)
            elif isinstance(exc, WorkerTimeout):
                self.fail(job, str(exc))
            else:
                self._crashed(job, exc)
            return
        shutil.rmtree(scratch / "in", ignore_errors=True)
        self.metrics.analysis(result["runtime_s"])
        self.publish(job, result)
        shutil.rmtree(scratch, ignore_errors=True)

    def _crashed(self, job: dict[str, Any], exc: WorkerDied) -> None:
        attempts, most = job["attempts"], self.settings.max_attempts
        if attempts >= most:
            self.fail(job, f"{exc}; gave up after {attempts} attempts (the file may crash a decoder, "
                           "or the server ran out of memory)")
        else:
            log.warning("job %s: %s; re-queued (attempt %d of %d)", job["id"], exc, attempts, most)
            self.store.requeue(job)
            if self.pool is not None:
                self.pool.notify()

    def fail(self, job: dict[str, Any], message: str) -> None:
        """End a held job as failed (nothing happens when its lease was lost: the new holder decides)."""
        if self.store.finish(job, status="failed", error=message):
            self.metrics.job("failed")
            self._drop_files_if_deleted(job)
        else:
            self._lost(job)

    def _lost(self, job: dict[str, Any]) -> None:
        log.warning("job %s: this server's lease (attempt %d) was lost before it finished; another server "
                    "holds the job, so this result is discarded", job["id"], job["attempts"])

    def publish(self, job: dict[str, Any], result: dict[str, Any]) -> None:
        """Move a worker's complete output into the cache (one atomic rename), then finish the job."""
        key = job["cache_key"]
        folder = self.data.results / key
        try:
            os.replace(result["out"], folder)
        except OSError:
            if not (folder / "report.json").is_file():
                raise
            shutil.rmtree(result["out"], ignore_errors=True)  # an identical job published first
        fsync_dir(self.data.results)
        self.store.add_result({"key": key, "sha256": job["sha256"], "profile": job["profile"],
                               "path": f"results/{key}",
                               **{k: result[k] for k in ("verdict_label", "verdict_probability", "media_type",
                                                         "error")}})
        self.finalize(job, self.store.cached(key) or {"path": f"results/{key}"})

    def finalize(self, job: dict[str, Any], result: dict[str, Any]) -> None:
        """Give the job its own report (with its file name) and artifact links, then mark it done, all
        only while this server still holds the job's lease (a late finisher changes nothing)."""
        if not self.store.holds(job):
            self._lost(job)
            return
        source = self.data.root / result["path"]
        report = load_report(source / "report.json")
        report["media"]["path"] = job["filename"]
        deleted = (self.store.get(job["id"]) or job)["deleted"]
        if not deleted:
            target = self.data.job_artifacts(job["id"])
            target.mkdir(parents=True, exist_ok=True)
            for name in report_artifacts(report):
                if (source / name).is_file() and not (target / name).exists():
                    link_or_copy(source / name, target / name)
            fsync_dir(target)
        self.data.write_atomic(self.data.report_path(job["id"]), json.dumps(report).encode("utf-8"))
        if self.store.finish(job, status="done", report_path=f"reports/{job['id']}.json", **outcome(report)):
            self.metrics.job("done")
            log.info("job %s done by %s (attempt %d)", job["id"], self.server_id, job["attempts"])
            self._drop_files_if_deleted(job)
        else:
            self._lost(job)

    def _drop_files_if_deleted(self, job: dict[str, Any]) -> None:
        """A job deleted while it ran (here or through another server) ends without its files: DELETE
        leaves them to the job's end, so a running analysis never loses its upload."""
        if (self.store.get(job["id"]) or job)["deleted"]:
            self._drop_files(job)

    # ------------------------------------------------------------------------------------------ deleting

    def delete(self, job_id: str) -> bool:
        """Remove a job's upload (unless another live job has the same content), artifacts and rendered
        page; the row stays, marked deleted. False for an unknown id."""
        job = self.store.get(job_id)
        if job is None:
            return False
        self.store.update(job_id, deleted=True)
        if self.store.update(job_id, expect="queued", status="failed",
                             error="the upload was deleted before it was analysed"):
            self.metrics.job("failed")
        if (self.store.get(job_id) or job)["status"] != "running":  # else the server running it drops them
            self._drop_files(job)
        return True

    def _drop_files(self, job: dict[str, Any]) -> None:
        """Remove a deleted job's artifacts and page, and its content where no live job refers to it."""
        shutil.rmtree(self.data.job_artifacts(job["id"]), ignore_errors=True)
        self.data.html_path(job["id"]).unlink(missing_ok=True)
        for sha in (job["sha256"], *attachments_of(job)):
            self._purge_if_unreferenced(sha)

    def _purge_if_unreferenced(self, sha256: str) -> None:
        """Content no live job refers to is removed, with every cached result derived from it."""
        with self.content_lock(sha256):
            if self.store.live_references(sha256):
                return
            self.data.media_path(sha256).unlink(missing_ok=True)
            for folder in self.store.drop_results(sha256):
                shutil.rmtree(self.data.root / folder, ignore_errors=True)

    def report_of(self, job: dict[str, Any]) -> dict[str, Any] | None:
        """The job's stored report (only a done job has one; it was complete before the job was done)."""
        if job["status"] != "done" or not job["report_path"]:
            return None
        return load_report(self.data.root / job["report_path"])

    def media_file(self, job: dict[str, Any]) -> Path | None:
        path = self.data.media_path(job["sha256"])
        return None if job["deleted"] or not path.is_file() else path
