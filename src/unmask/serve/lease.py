"""Leases of one server: its id, and the heartbeat thread that keeps its running jobs claimed.

Every job a server runs is leased to it in the job store (unmask.serve.store) until an expiry time. The
heartbeat renews all of this server's leases a few times per lease period, so while the server lives its
jobs are never claimed by another one; when it dies, the renewals stop and after the lease period any
other server sharing the store claims those jobs again and finishes them.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable

log = logging.getLogger("unmask.serve")

RENEWALS_PER_LEASE = 4  # a lease survives up to three missed heartbeats (a database hiccup, a long GC)


def new_server_id() -> str:
    """A name for this server process, unique among all servers sharing a store (host, process, random
    part: a restarted server is a new owner), and safe as a file name."""
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname())[:60].strip("-.") or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(4)}"


class Heartbeat:
    """A daemon thread calling `renew()` every `interval` seconds until `stop()`; failures are logged and
    retried at the next beat (the leases outlive a few missed ones)."""

    def __init__(self, renew: Callable[[], int], interval: float) -> None:
        self._renew, self.interval = renew, interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="unmask-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5.0)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self._renew()
            except Exception:  # the database is briefly unavailable: the next beat tries again
                log.exception("renewing this server's job leases failed")
