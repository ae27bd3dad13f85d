"""Prometheus text-format metrics of one server process (counters reset when it restarts)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Metrics:
    """HTTP responses by code, job transitions by status, and a histogram of analysis time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._http: Counter[str] = Counter()
        self._jobs: Counter[str] = Counter()
        self._buckets = [0] * len(BUCKETS)
        self._count = 0
        self._sum = 0.0

    def http(self, code: int) -> None:
        with self._lock:
            self._http[str(code)] += 1

    def job(self, status: str) -> None:
        with self._lock:
            self._jobs[status] += 1

    def analysis(self, seconds: float) -> None:
        with self._lock:
            self._count += 1
            self._sum += seconds
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self._buckets[i] += 1

    def mean_analysis_s(self, default: float = 1.0) -> float:
        """Mean analysis time so far (`default` before the first one)."""
        with self._lock:
            return self._sum / self._count if self._count else default

    def render(self, queue_depth: int, stored: Mapping[str, int], workers: int) -> str:
        """The exposition text (format 0.0.4)."""
        with self._lock:
            http, jobs = dict(self._http), dict(self._jobs)
            buckets, count, total = list(self._buckets), self._count, self._sum
        lines = ["# HELP unmask_queue_depth Jobs waiting for a worker.", "# TYPE unmask_queue_depth gauge",
                 f"unmask_queue_depth {queue_depth}",
                 "# HELP unmask_workers Analysis worker processes.", "# TYPE unmask_workers gauge",
                 f"unmask_workers {workers}",
                 "# HELP unmask_jobs_total Jobs that reached each status since this process started.",
                 "# TYPE unmask_jobs_total counter"]
        lines += [f'unmask_jobs_total{{status="{s}"}} {jobs.get(s, 0)}'
                  for s in ("queued", "running", "done", "failed", "cached")]
        lines += ["# HELP unmask_jobs Jobs in the store by current status.", "# TYPE unmask_jobs gauge"]
        lines += [f'unmask_jobs{{status="{s}"}} {n}' for s, n in sorted(stored.items())]
        lines += ["# HELP unmask_analysis_seconds Time a worker spent analysing one upload.",
                  "# TYPE unmask_analysis_seconds histogram"]
        lines += [f'unmask_analysis_seconds_bucket{{le="{b}"}} {n}' for b, n in zip(BUCKETS, buckets, strict=True)]
        lines += [f'unmask_analysis_seconds_bucket{{le="+Inf"}} {count}', f"unmask_analysis_seconds_sum {total}",
                  f"unmask_analysis_seconds_count {count}",
                  "# HELP unmask_http_requests_total HTTP responses by status code.",
                  "# TYPE unmask_http_requests_total counter"]
        lines += [f'unmask_http_requests_total{{code="{c}"}} {n}' for c, n in sorted(http.items())]
        return "\n".join(lines) + "\n"
