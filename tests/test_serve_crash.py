"""Crash safety of `unmask serve`: kill -9 the real server while an analysis runs, start it again, and every
accepted job finishes; no upload is lost; no partial report is ever served."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


_TOOL = Path(__file__).parents[1] / "tools" / "load_test.py"
_spec = importlib.util.spec_from_file_location("unmask_load_test", _TOOL)
load_tool = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = load_tool  # its dataclasses look their module up there
_spec.loader.exec_module(load_tool)
jpeg, free_port = load_tool.make_jpeg, load_tool.free_port  # the load test's distinct JPEGs and free ports


class Server:
    """`unmask serve` as a child process in its own process group."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-c", "from unmask.cli import main; main()", "serve", "--port", str(self.port),
               "--data-dir", str(data_dir), "--workers", "1", "--profile", "fast", "--rate-limit", "0",
               "--lease-seconds", "2"]  # the restarted server takes the killed one's jobs over after this
        self.log = log.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("the server did not start:\n" + log.read_text())

    def kill9(self) -> None:
        """SIGKILL the server only (its workers must go by themselves), then wait until its group is empty."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise AssertionError("worker processes outlived the killed server")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything of ours still in the group
        self.log.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def _db_statuses(data_dir: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(f"file:{data_dir / 'jobs.sqlite3'}?mode=ro", uri=True) as db:
        return {i: (s, a) for i, s, a in db.execute("SELECT id, status, attempts FROM jobs")}


def _check_served_reports(client, ids: list[str], uploads: dict[str, bytes]) -> int:
    """Every report the server hands out is complete and belongs to its upload."""
    served = 0
    for job_id in ids:
        job = client.get(f"/v1/analyses/{job_id}").json()
        if job["status"] == "done":
            assert job["report"]["media"]["sha256"] == job["sha256"] == _sha(uploads[job_id])
            assert job["report"]["verdict"] is not None and job["verdict"] is not None
            served += 1
        else:
            assert job["report"] is None
    return served


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_kill_9_mid_analysis_then_restart(tmp_path: Path, servers: list[Server]) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    servers.append(Server(data_dir, log))
    client = httpx.Client(base_url=servers[0].url, timeout=30)
    uploads: dict[str, bytes] = {}
    for i in range(6):
        payload = jpeg(i, side=1400 if i % 2 == 0 else 96)
        r = client.post("/v1/analyses", files={"file": (f"f{i}.jpg", payload, "image/jpeg")})
        assert r.status_code == 202
        uploads[r.json()["id"]] = payload
    ids = list(uploads)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until a slow job is being analysed, then kill
        statuses = {i: client.get(f"/v1/analyses/{i}").json()["status"] for i in ids}
        busy = [i for i, s in statuses.items() if s == "running" and len(uploads[i]) > 100_000]
        if busy:
            break
        time.sleep(0.01)
    else:
        raise AssertionError(f"no slow job was ever running: {statuses}")
    _check_served_reports(client, ids, uploads)
    servers[0].kill9()
    client.close()

    at_kill = _db_statuses(data_dir)
    assert set(at_kill) == set(ids)  # every accepted upload has its row
    interrupted = [i for i, (s, _) in at_kill.items() if s == "running"]
    assert interrupted, at_kill
    for payload in uploads.values():  # every accepted upload is on disk, complete
        sha = _sha(payload)
        assert (data_dir / "media" / sha[:2] / sha).read_bytes() == payload
    for report in (data_dir / "reports").glob("*.json"):
        json.loads(report.read_text())  # written atomically: never a torn file

    servers.append(Server(data_dir, log))
    client = httpx.Client(base_url=servers[1].url, timeout=30)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        served = _check_served_reports(client, ids, uploads)
        if served == len(ids):
            break
        time.sleep(0.05)
    assert served == len(ids), (client.get("/v1/analyses").json(), log.read_text()[-3000:])
    after = _db_statuses(data_dir)
    assert all(after[i][1] >= 2 for i in interrupted)  # re-queued and analysed again
    assert len(client.get("/v1/analyses", params={"limit": 200}).json()["items"]) == len(ids)  # none duplicated
    assert not list((data_dir / "reports").glob(".*.tmp"))
    live = client.get("/v1/health").json()["server"]  # only the live server's scratch is left
    assert {p.name for p in (data_dir / "tmp").iterdir()} == {live, f"{live}.lock"}
    assert not list((data_dir / "tmp" / live).iterdir())
    for job_id in ids:
        html = client.get(f"/v1/analyses/{job_id}/report.html")
        assert html.status_code == 200 and html.text.rstrip().endswith("</html>")
    client.close()
