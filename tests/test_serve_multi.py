"""Several servers on one job store: leases, heartbeats, expiry and take-over, against SQLite and a real
PostgreSQL server (a private one started here by tools/pg_local.py; skipped, saying what to install, only
where the PostgreSQL server binaries are missing), and two real `unmask serve` processes on one PostgreSQL
store and one data directory, one of them killed with SIGKILL mid-analysis."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

sa = pytest.importorskip("sqlalchemy")
httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from unmask.serve.lease import Heartbeat  # noqa: E402
from unmask.serve.store import JOBS, LEASE_COLUMNS, META, JobStore  # noqa: E402

TOOLS = Path(__file__).parents[1] / "tools"
LEASE = 0.8  # seconds: store tests
SERVER_LEASE = 2.0  # seconds: the real servers


def _tool(name: str):
    """A module of tools/ (the PostgreSQL starter, the load test's JPEGs and free ports)."""
    spec = importlib.util.spec_from_file_location(f"unmask_tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


pg_local = _tool("pg_local")
load_tool = _tool("load_test")


@pytest.fixture(scope="module")
def postgres() -> Iterator:
    """A private PostgreSQL server for this module (initdb in a temporary folder, unix socket only)."""
    pytest.importorskip("psycopg", reason='the PostgreSQL driver is missing: pip install "psycopg[binary]"')
    try:
        server = pg_local.LocalPostgres().start()
    except pg_local.PostgresUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty job store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    return request.getfixturevalue("postgres").create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def stores(store_url: str) -> Iterator[list[JobStore]]:
    """Two stores on one database: what two servers see."""
    opened = [JobStore(store_url), JobStore(store_url)]
    yield opened
    for store in opened:
        store.close()


def _job(n: int = 0, **extra) -> dict:
    return {"id": uuid.uuid4().hex, "status": "queued", "sha256": f"{n:064x}", "size": 1, "profile": "fast",
            "cache_key": "k" * 64, **extra}


# ------------------------------------------------------------------------------------------ the store


def test_claims_are_leased_and_never_shared(stores: list[JobStore]) -> None:
    a, b = stores
    first, second = _job(1), _job(2)
    a.add(first)
    a.add(second)
    got = a.claim("server-a", LEASE)
    assert got["id"] == first["id"] and got["status"] == "running" and got["attempts"] == 1
    assert got["lease_owner"] == "server-a" and 0.5 < got["lease_expires_at"] - a.now() <= LEASE
    other = b.claim("server-b", LEASE)
    assert other["id"] == second["id"] and other["lease_owner"] == "server-b"
    assert b.claim("server-b", LEASE) is None and a.claim("server-a", LEASE) is None
    assert abs(a.now() - time.time()) < 5  # the database's clock is the machine's here


def test_the_queue_limit_holds_in_one_statement(stores: list[JobStore]) -> None:
    a, b = stores
    assert a.add(_job(20), queue_limit=2) and b.add(_job(21), queue_limit=2)
    assert not a.add(_job(22), queue_limit=2) and a.queue_depth() == 2
    a.claim("server-a", LEASE)
    assert b.add(_job(23), queue_limit=2)


def test_heartbeat_keeps_a_job_and_expiry_hands_it_over(stores: list[JobStore]) -> None:
    a, b = stores
    a.add(_job(3))
    held = a.claim("server-a", LEASE)
    beat = Heartbeat(lambda: a.renew("server-a", LEASE), LEASE / 4)
    beat.start()
    try:
        deadline = time.monotonic() + 2.5 * LEASE  # well past the first lease: the beats keep it
        while time.monotonic() < deadline:
            assert b.claim("server-b", LEASE) is None
            time.sleep(0.05)
        assert a.holds(held) and a.get(held["id"])["heartbeat_at"] > held["heartbeat_at"]
    finally:
        beat.stop()  # server a "dies": no more renewals
    taken = None
    deadline = time.monotonic() + 3 * LEASE
    while taken is None and time.monotonic() < deadline:
        taken = b.claim("server-b", LEASE)
        time.sleep(0.05)
    assert taken is not None and taken["id"] == held["id"], "the expired lease was never taken over"
    assert taken["attempts"] == 2 and taken["lease_owner"] == "server-b"
    assert not a.holds(held) and not a.finish(held, status="done", verdict_label="authentic")  # a late finisher
    assert b.finish(taken, status="done", verdict_label="manipulated")
    row = a.get(held["id"])
    assert row["status"] == "done" and row["verdict_label"] == "manipulated" and row["lease_owner"] == "server-b"
    assert not b.finish(taken, status="failed")  # done once: never again


def test_requeue_and_graceful_release(stores: list[JobStore]) -> None:
    a, b = stores
    for n in range(3):
        a.add(_job(10 + n))
    crashed, stopped, kept = (a.claim("server-a", 60) for _ in range(3))
    assert a.requeue(crashed)  # its worker died: the attempt counts
    assert a.release_all("server-a") == 2  # a graceful stop: attempts not counted
    again = {j["id"]: j for j in (b.claim("server-b", 60) for _ in range(3))}
    assert again[crashed["id"]]["attempts"] == 2
    assert again[stopped["id"]]["attempts"] == again[kept["id"]]["attempts"] == 1
    assert not a.finish(kept, status="done")  # the old claims are void


def test_concurrent_claimers_get_each_job_once(stores: list[JobStore]) -> None:
    jobs = [_job(100 + n) for n in range(60)]
    for job in jobs:
        stores[0].add(job)
    claimed: list[str] = []
    lock = threading.Lock()

    def drain(store: JobStore, owner: str) -> None:
        while (job := store.claim(owner, 60)) is not None:
            assert store.finish(job, status="done")
            with lock:
                claimed.append(job["id"])

    threads = [threading.Thread(target=drain, args=(stores[i % 2], f"server-{i}")) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(claimed) == sorted(j["id"] for j in jobs)  # every job once, none twice
    assert stores[1].counts()["done"] == len(jobs)


def test_a_store_made_before_leases_gets_the_columns(tmp_path: Path) -> None:
    """A SQLite store of an older unmask: the lease columns are added on open, and a job it left running
    (no lease) is claimed again at once."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = sa.MetaData()
    sa.Table("jobs", old, *[c._copy() for c in JOBS.columns if c.name not in LEASE_COLUMNS])
    for table in META.sorted_tables:
        if table.name != "jobs":
            table.to_metadata(old)
    engine = sa.create_engine(url)
    old.create_all(engine)
    job = _job(7, status="running", attempts=1, created_at=0.0, updated_at=0.0, attachments="[]", deleted=False)
    with engine.begin() as conn:
        conn.execute(old.tables["jobs"].insert().values(**job))
    engine.dispose()
    store = JobStore(url)
    try:
        assert set(LEASE_COLUMNS) <= {c["name"] for c in sa.inspect(store.engine).get_columns("jobs")}
        taken = store.claim("server-new", LEASE)
        assert taken["id"] == job["id"] and taken["attempts"] == 2
    finally:
        store.close()


# ---------------------------------------------------------------------- two servers, one data directory


def test_two_servers_share_one_data_directory(tmp_path: Path) -> None:
    """The local case of shared storage: two servers on one data directory (and its SQLite store). What one
    accepts, the other serves; a starting server removes the scratch of a dead one, never a live one's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from unmask.serve.app import create_app
    from unmask.serve.settings import ServeSettings

    def settings() -> ServeSettings:
        return ServeSettings(data_dir=tmp_path, profile="fast", workers=1, rate_limit=0, lease_seconds=5)

    dead = tmp_path / "tmp" / "gone-host-1-0"  # a killed server's leftovers: folders and an unheld lock
    for folder in (dead, tmp_path / "work" / "gone-host-1-0"):
        folder.mkdir(parents=True)
        (folder / "upload-half").write_bytes(b"partial")
    (tmp_path / "tmp" / "gone-host-1-0.lock").touch()
    with TestClient(create_app(settings())) as a:
        own_a = a.app.state.service.data
        (own_a.own_tmp / "upload-in-progress").write_bytes(b"x")  # a live server's upload in progress
        assert not dead.exists() and not (tmp_path / "tmp" / "gone-host-1-0.lock").exists()
        with TestClient(create_app(settings())) as b:
            assert (own_a.own_tmp / "upload-in-progress").is_file()  # b's start kept a's scratch
            ids = [a.post("/v1/analyses", files={"file": (f"s{i}.jpg", load_tool.make_jpeg(500 + i, 96))}
                          ).json()["id"] for i in range(3)]
            for job_id in ids:  # accepted by a, served by b (whichever of them ran it)
                job = _wait(lambda job_id=job_id: b.get(f"/v1/analyses/{job_id}").json(), 90)
                assert job["status"] == "done" and job["report"]["media"]["sha256"] == job["sha256"]
                assert b.get(f"/v1/analyses/{job_id}/report.html").status_code == 200
                assert b.get(job["links"]["media"]).status_code == 200
            owners = {a.app.state.service.store.get(i)["lease_owner"] for i in ids}
            assert owners <= {a.get("/v1/health").json()["server"], b.get("/v1/health").json()["server"]}
            assert b.delete(f"/v1/analyses/{ids[0]}").status_code == 204
            assert a.get(f"/v1/analyses/{ids[0]}/media").status_code == 410


def test_content_locks_exclude_other_server_processes(tmp_path: Path) -> None:
    """A delete on one server and an upload of the same content on another are serialised by a file lock."""
    from unmask.serve.files import StripeLock

    path = tmp_path / "content-00.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(0.6)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = StripeLock(path)
        start = time.monotonic()
        with lock, lock:  # re-entrant within this process
            waited = time.monotonic() - start
        assert waited > 0.3, waited
    finally:
        holder.wait(10)


def _wait(poll, timeout: float) -> dict:
    """Poll until the job it returns is final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = poll()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"not finished in {timeout} s: {job}")


# -------------------------------------------------------------- two real servers on one PostgreSQL store


class Server:
    """`unmask serve` as a child process in its own process group, on a shared store and data dir."""

    def __init__(self, data_dir: Path, database_url: str, log: Path) -> None:
        self.port = load_tool.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        cmd = [sys.executable, "-c", "from unmask.cli import main; main()", "serve", "--port", str(self.port),
               "--data-dir", str(data_dir), "--workers", "1", "--profile", "fast", "--rate-limit", "0",
               "--database-url", database_url, "--lease-seconds", str(SERVER_LEASE)]
        self._log = log.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.id = ""

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()
            with contextlib.suppress(httpx.TransportError):
                r = httpx.get(f"{self.url}/v1/health", timeout=1)
                if r.status_code == 200:
                    self.id = r.json()["server"]
                    return
            time.sleep(0.05)
        raise AssertionError("the server did not start:\n" + self.log_path.read_text())

    def stop(self) -> None:
        """Kill the whole process group at once: the checks are done, and a graceful stop takes seconds."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self._log.close()


DONE_LINE = re.compile(r"job ([0-9a-f]{32}) done by (\S+) \(attempt (\d+)\)")


def completions(*logs: Path) -> Counter:
    """How many times each job was marked done, from the servers' logs."""
    return Counter(m.group(1) for log in logs for m in DONE_LINE.finditer(log.read_text(errors="replace")))


def _group(pgid: int) -> list[int]:
    """The processes of a process group (a server, its forkserver and its workers), from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                pids.append(int(stat.parent.name))
    return pids


def test_a_killed_server_loses_its_jobs_to_the_live_one(postgres, tmp_path: Path) -> None:
    """The long job's analysis is paused (SIGSTOP of its server's worker processes) so that it outlives
    several leases however fast the machine is: the live server's heartbeat keeps it. Then that server and
    its workers are killed with SIGKILL, and the other server finishes it and every other job, once."""
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    data_dir = tmp_path / "data"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    servers = [Server(data_dir, url, log) for log in logs]
    store = JobStore(url)
    try:
        for server in servers:
            server.wait_ready()
        a, b = servers
        with httpx.Client(base_url=a.url, timeout=30) as to_a, httpx.Client(base_url=b.url, timeout=30) as to_b:
            long_id = to_a.post("/v1/analyses", files={"file": ("long.jpg", load_tool.make_jpeg(900, 1600))}
                                ).json()["id"]
            first = _until(lambda: (j := store.get(long_id))["status"] == "running" and j, 60, every=0.005)
            killed, live = (a, b) if first["lease_owner"] == a.id else (b, a)
            for pid in _group(killed.proc.pid):  # pause its analysis mid-run; the server itself carries on
                if pid != killed.proc.pid:
                    os.kill(pid, signal.SIGSTOP)
            ids = [long_id] + [c.post("/v1/analyses", files={"file": (f"s{i}.jpg", load_tool.make_jpeg(910 + i, 96))}
                                      ).json()["id"] for i, c in enumerate([to_a, to_b] * 2)]
            # the long job outlives two lease periods on the live server that claimed it: never taken over
            _until(lambda: store.now() > first["lease_expires_at"] + SERVER_LEASE, 20)
            now = store.get(long_id)
            assert now["status"] == "running" and now["lease_owner"] == killed.id and now["attempts"] == 1, now
            assert now["heartbeat_at"] > first["heartbeat_at"] + SERVER_LEASE  # renewed, not just unexpired
            os.killpg(killed.proc.pid, signal.SIGKILL)  # the server and its workers die at once, mid-analysis
            killed.proc.wait(10)
            _until(lambda: all(store.get(i)["status"] in ("done", "failed") for i in ids), 90)
        rows = {i: store.get(i) for i in ids}
        assert all(r["status"] == "done" and r["report_path"] for r in rows.values()), rows
        # the killed server's job was finished by the other one, once; no result was thrown away
        assert rows[long_id]["lease_owner"] == live.id and rows[long_id]["attempts"] == 2
        done = completions(*logs)
        assert all(done[i] == 1 for i in ids), (done, [log.read_text()[-2000:] for log in logs])
        assert not [line for log in logs for line in log.read_text().splitlines() if "was lost" in line]
    finally:
        store.close()
        for server in servers:
            server.stop()


def _until(check, timeout: float, every: float = 0.05):
    """Poll `check()` until it returns something true; returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"condition not met in {timeout} s")
