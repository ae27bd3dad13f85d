"""The worker pool: N slot threads, each owning one analysis process, each claiming jobs from the store.

The request handlers never analyse anything: they insert a `queued` row and call `notify()`; a free slot
claims the row, hands it to its process and publishes the result. The pool is given those two steps as
functions (`Service` passes its `claim`, which leases the job to this server, and its `process`), so it
knows nothing of the service.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from ..limits import Limits
from .worker import WorkerProcess

Job = dict[str, Any]

log = logging.getLogger("unmask.serve")


class WorkerPool:
    """Slot threads that run until `stop()`; a slot whose process dies restarts it for the next job.

    `claim()` takes the next queued (or lease-expired) job (None when there is none); `process(job, worker, stopping)` runs it
    to an end state on a worker and never raises.
    """

    def __init__(self, size: int, profile: str, limits: Limits, claim: Callable[[], Job | None],
                 process: Callable[[Job, WorkerProcess, threading.Event], None]) -> None:
        self.size, self._take, self._process = size, claim, process
        self._stopping = threading.Event()
        self._wake = threading.Condition()
        self._generation = 0
        self._threads: list[threading.Thread] = []
        threads = max(1, (os.cpu_count() or 1) // size)  # torch threads per worker: the cores, shared out
        self.workers = [WorkerProcess(profile, limits, threads) for _ in range(size)]

    def start(self) -> None:
        for i, worker in enumerate(self.workers):
            thread = threading.Thread(target=self._slot, args=(worker,), name=f"unmask-slot-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def notify(self) -> None:
        """New work was queued: wake every idle slot."""
        with self._wake:
            self._generation += 1
            self._wake.notify_all()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; a job in progress is put back in the queue (it resumes on the next start)."""
        self._stopping.set()
        self.notify()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _slot(self, worker: WorkerProcess) -> None:
        try:
            try:
                worker.start()  # early, so the first job does not wait for the analyzer to load
            except Exception:
                log.exception("starting an analysis worker failed; retrying with the first job")
            while not self._stopping.is_set():
                with self._wake:
                    seen = self._generation
                job = self._claim()
                if job is None:
                    with self._wake:
                        if self._generation == seen and not self._stopping.is_set():
                            self._wake.wait(2.0)
                    continue
                self._process(job, worker, self._stopping)
        finally:
            worker.stop()

    def _claim(self) -> Job | None:
        try:
            return self._take()
        except Exception:  # the database is briefly unavailable: try again shortly
            log.exception("claiming a job failed")
            self._stopping.wait(1.0)
            return None
