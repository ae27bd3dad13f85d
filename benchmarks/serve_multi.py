"""Two `unmask serve` processes on one PostgreSQL job store and one data directory, N analyses from C
concurrent clients, one server killed with SIGKILL mid-run (issue 18: 0 lost, 0 run twice to completion,
all done).

    python benchmarks/serve_multi.py --analyses 500 --clients 50 --json bench-out/serve_multi.json

Starts a private PostgreSQL server (tools/pg_local.py, durable settings), two servers (`--workers` each,
fast profile, `--lease-seconds`), and C client threads. Client i talks to server i % 2 and, like a client
behind a load balancer, moves to the other server when its connection fails (re-sending an upload whose
answer was lost, so that upload may have two jobs; both must finish). When `--kill-after` jobs are done,
the server holding the most running jobs is killed with SIGKILL. At the end it checks, from the store and
the servers' logs: every job in the store is done (none lost, queued, running or failed), every upload has
a done job, no job was marked done twice, no server discarded a result for a lost lease, and the killed
server's running jobs were finished by the other one. Prints the measurements as JSON; exits 1 on any
problem. Needs the PostgreSQL server binaries and psycopg (not part of the test suite: a benchmark).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

TOOLS = Path(__file__).resolve().parents[1] / "tools"
DONE_LINE = re.compile(r"job ([0-9a-f]{32}) done by (\S+) \(attempt (\d+)\)")


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f"unmask_tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pg_local = _tool("pg_local")
load_tool = _tool("load_test")


class Server:
    """One `unmask serve` child process in its own process group."""

    def __init__(self, args: argparse.Namespace, data_dir: Path, database_url: str, log: Path) -> None:
        self.port = load_tool.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        cmd = [sys.executable, "-c", "from unmask.cli import main; main()", "serve", "--port", str(self.port),
               "--data-dir", str(data_dir), "--workers", str(args.workers), "--profile", args.profile,
               "--rate-limit", "0", "--queue-size", str(args.queue_size), "--database-url", database_url,
               "--lease-seconds", str(args.lease_seconds)]
        self._out = log.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.id = ""

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log}")
            with contextlib.suppress(httpx.TransportError):
                r = httpx.get(f"{self.url}/v1/health", timeout=1)
                if r.status_code == 200:
                    self.id = r.json()["server"]
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the server did not start; see {self.log}")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._out.close()


@dataclass
class Tally:
    """What the clients saw."""

    latencies: list[float] = field(default_factory=list)
    ids: dict[int, list[str]] = field(default_factory=dict)  # upload number -> job ids it got
    codes: Counter = field(default_factory=Counter)
    failovers: int = 0
    resubmitted: int = 0
    errors: list[str] = field(default_factory=list)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _submit(clients: list[httpx.Client], start: int, n: int, payload: bytes, tally: Tally) -> tuple[str, int]:
    """Send one upload until a server accepts it; returns (job id, index of the server used)."""
    which = start
    while True:
        try:
            r = clients[which].post("/v1/analyses", params={"wait": "true"},
                                    files={"file": (f"multi-{n}.jpg", payload, "image/jpeg")})
        except httpx.TransportError as exc:
            with tally.lock:
                tally.failovers += 1
                if not isinstance(exc, httpx.ConnectError):  # sent, answer lost: it may have been accepted
                    tally.resubmitted += 1
            which = 1 - which
            continue
        with tally.lock:
            tally.codes[r.status_code] += 1
        if r.status_code == 429:
            time.sleep(float(r.headers.get("retry-after", "1")))
            continue
        if r.status_code not in (200, 202):
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
        return r.json()["id"], which


def _result(clients: list[httpx.Client], which: int, job_id: str, tally: Tally) -> dict:
    """Poll until the job is final, moving to the other server when a connection fails."""
    while True:
        try:
            job = clients[which].get(f"/v1/analyses/{job_id}").json()
        except httpx.TransportError:
            with tally.lock:
                tally.failovers += 1
            which = 1 - which
            continue
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)


def drive(urls: list[str], payloads: list[bytes], clients_n: int) -> tuple[Tally, list[threading.Thread]]:
    """Start C client threads, each taking the next upload until none is left."""
    work = iter(enumerate(payloads))
    take = threading.Lock()
    tally = Tally()

    def client_loop(index: int) -> None:
        clients = [httpx.Client(base_url=u, timeout=httpx.Timeout(120, connect=5)) for u in urls]
        try:
            while True:
                with take:
                    item = next(work, None)
                if item is None:
                    return
                n, payload = item
                t0 = time.perf_counter()
                try:
                    job_id, which = _submit(clients, index % 2, n, payload, tally)
                    job = _result(clients, which, job_id, tally)
                except Exception as exc:
                    with tally.lock:
                        tally.errors.append(f"upload {n}: {type(exc).__name__}: {exc}")
                    continue
                with tally.lock:
                    tally.latencies.append(time.perf_counter() - t0)
                    tally.ids.setdefault(n, []).append(job_id)
                    tally.done += 1
                    if job["status"] != "done":
                        tally.errors.append(f"upload {n}: job {job_id} {job['status']}: {job['error']}")
        finally:
            for c in clients:
                c.close()

    threads = [threading.Thread(target=client_loop, args=(i,), name=f"client-{i}") for i in range(clients_n)]
    for t in threads:
        t.start()
    return tally, threads


def completions(logs: list[Path]) -> tuple[Counter, int]:
    """Times each job was marked done (from the servers' logs), and results discarded for a lost lease."""
    text = [log.read_text(errors="replace") for log in logs]
    done = Counter(m.group(1) for t in text for m in DONE_LINE.finditer(t))
    lost = sum(t.count("was lost before it finished") for t in text)
    return done, lost


def run(args: argparse.Namespace, work: Path) -> dict:
    from unmask.serve.store import JobStore

    payloads = [load_tool.make_jpeg(args.seed + i, args.side) for i in range(args.analyses)]
    problems: list[str] = []
    with pg_local.LocalPostgres(fast=False) as pg:
        url = pg.create_database("unmask")
        logs = [work / "server-a.log", work / "server-b.log"]
        servers = [Server(args, work / "data", url, log) for log in logs]
        store = JobStore(url)
        try:
            for s in servers:
                s.wait_ready()
            time.sleep(1.0 + 0.5 * args.workers)  # the workers load their detectors before the clock starts
            t0 = time.perf_counter()
            tally, threads = drive([s.url for s in servers], payloads, args.clients)
            while True:  # kill the busiest server once enough jobs are done
                with tally.lock:
                    done = tally.done
                running = Counter(r["lease_owner"] for r in store.list(status="running", limit=1000))
                if done >= args.kill_after and running:
                    break
                if done >= args.analyses:
                    raise RuntimeError("every analysis finished before a server could be killed: lower --kill-after")
                time.sleep(0.05)
            victim = max(servers, key=lambda s: running.get(s.id, 0))
            survivor = servers[1 - servers.index(victim)]
            held = [r["id"] for r in store.list(status="running", limit=1000) if r["lease_owner"] == victim.id]
            victim.kill9()
            killed_at = time.perf_counter() - t0
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            rows = store.list(limit=100_000)
        finally:
            store.close()
            for s in servers:
                s.stop()
        done_twice, lost_leases = completions(logs)
    by_status = Counter(r["status"] for r in rows)
    shas = {hashlib.sha256(p).hexdigest() for p in payloads}
    done_shas = {r["sha256"] for r in rows if r["status"] == "done"}
    if by_status.get("done", 0) != len(rows):
        problems.append(f"not every job is done: {dict(by_status)}")
    if done_shas != shas:
        problems.append(f"{len(shas - done_shas)} uploads have no done job (lost)")
    if any(n != 1 for n in done_twice.values()) or len(done_twice) != len(rows):
        problems.append(f"completions per job: {Counter(done_twice.values())} for {len(rows)} jobs")
    if lost_leases:
        problems.append(f"{lost_leases} results discarded for a lost lease")
    taken_over = [r for r in rows if r["id"] in held]
    if any(r["lease_owner"] != survivor.id or r["attempts"] < 2 for r in taken_over):
        problems.append("a job of the killed server was not finished by the other one")
    problems += tally.errors
    lat = np.array(tally.latencies) if tally.latencies else np.zeros(1)
    return {"analyses": args.analyses, "clients": args.clients, "image_side": args.side, "profile": args.profile,
            "workers_per_server": args.workers, "lease_s": args.lease_seconds, "wall_s": round(wall, 1),
            "throughput_per_s": round(args.analyses / wall, 2),
            "p50_s": round(float(np.percentile(lat, 50)), 2), "p95_s": round(float(np.percentile(lat, 95)), 2),
            "max_s": round(float(lat.max()), 2), "killed_at_s": round(killed_at, 1),
            "running_on_killed_server": len(held), "jobs": len(rows), "jobs_by_status": dict(by_status),
            "uploads_done": len(done_shas & shas), "resubmitted_after_lost_answer": tally.resubmitted,
            "failovers": tally.failovers, "answers": dict(sorted(tally.codes.items())),
            "max_completions_per_job": max(done_twice.values(), default=0),
            "done_by_server": {("killed" if k == victim.id else "survivor"): v
                               for k, v in Counter(r["lease_owner"] for r in rows).items()},
            "taken_over_after_expiry": len(taken_over), "problems": problems}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--analyses", type=int, default=500)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1, help="analysis workers per server")
    ap.add_argument("--profile", default="fast")
    ap.add_argument("--side", type=int, default=256, help="image side in pixels")
    ap.add_argument("--queue-size", type=int, default=100)
    ap.add_argument("--lease-seconds", type=float, default=5.0)
    ap.add_argument("--kill-after", type=int, default=200, help="kill a server once this many are done")
    ap.add_argument("--seed", type=int, default=10_000)
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="unmask-multi-") as tmp:
            result = run(args, Path(tmp))
    except pg_local.PostgresUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
