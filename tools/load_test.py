"""Load test for `unmask serve` on loopback: N analyses from C concurrent clients against a real server.

    python tools/load_test.py --analyses 500 --clients 50 --workers 2 --profile fast

Starts `unmask serve` in a temporary data directory (or targets --url), submits N distinct JPEGs with
`wait=true`, retries 429 answers after Retry-After, and checks that every upload became exactly one done
job. Prints throughput and p50/p95 latency (submit to result, retries included); exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image


def make_jpeg(seed: int, side: int) -> bytes:
    """A distinct photo-like JPEG per seed (gradient + noise), so no two uploads share a cache entry."""
    rng = np.random.default_rng(seed)
    _, x = np.mgrid[0:side, 0:side]
    img = ((x * 200 // side)[..., None] + rng.integers(0, 40, (side, side, 3))).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(workers: int, profile: str, queue_size: int, data_dir: Path) -> Iterator[str]:
    """`unmask serve` as a subprocess on a free loopback port; yields its base URL."""
    port = free_port()
    cmd = [sys.executable, "-c", "from unmask.cli import main; main()", "serve", "--port", str(port),
           "--data-dir", str(data_dir), "--workers", str(workers), "--profile", profile,
           "--queue-size", str(queue_size), "--rate-limit", "0"]
    log = (data_dir.parent / "server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log.name}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.05)
        time.sleep(1.0 + 0.5 * workers)  # let the workers load their detectors before the clock starts
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _one(client: httpx.Client, payload: bytes, name: str, tally: Tally) -> None:
    """Submit one upload until accepted (honouring Retry-After), then wait for its result."""
    start = time.perf_counter()
    while True:
        r = client.post("/v1/analyses", params={"wait": "true"}, files={"file": (name, payload, "image/jpeg")})
        with tally.lock:
            tally.codes[r.status_code] += 1
        if r.status_code != 429:
            break
        time.sleep(float(r.headers.get("retry-after", "1")))
    if r.status_code not in (200, 202):
        with tally.lock:
            tally.errors.append(f"{name}: HTTP {r.status_code} {r.text[:200]}")
        return
    job = r.json()
    while job["status"] in ("queued", "running"):
        time.sleep(0.1)
        job = client.get(job["links"]["self"]).json()
    with tally.lock:
        tally.latencies.append(time.perf_counter() - start)
        tally.ids.append(job["id"])
        if job["status"] != "done":
            tally.errors.append(f"{name}: job {job['id']} {job['status']}: {job['error']}")


def _all_jobs(client: httpx.Client) -> list[dict]:
    jobs, cursor = [], None
    while True:
        page = client.get("/v1/analyses", params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        jobs += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return jobs


def run_load(url: str, analyses: int, clients: int, side: int = 256, seed0: int = 0) -> dict:
    """Drive the server at `url`; returns measurements and the list of problems found (empty when fine)."""
    payloads = [make_jpeg(seed0 + i, side) for i in range(analyses)]
    work = iter(enumerate(payloads))
    take = threading.Lock()
    tally = Tally()

    def client_loop() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while True:
                with take:
                    item = next(work, None)
                if item is None:
                    return
                try:
                    _one(client, item[1], f"load-{item[0]}.jpg", tally)
                except httpx.HTTPError as exc:
                    with tally.lock:
                        tally.errors.append(f"load-{item[0]}.jpg: {type(exc).__name__}: {exc}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    problems = list(tally.errors)
    with httpx.Client(base_url=url, timeout=60) as client:
        jobs = _all_jobs(client)
    shas = {hashlib.sha256(p).hexdigest() for p in payloads}
    if len(set(tally.ids)) != len(tally.ids) or len(tally.ids) != analyses:
        problems.append(f"{len(tally.ids)} results ({len(set(tally.ids))} distinct) for {analyses} uploads")
    mine = [j for j in jobs if j["sha256"] in shas]
    if len(mine) != analyses or {j["sha256"] for j in mine} != shas:
        problems.append(f"the server holds {len(mine)} jobs for {analyses} distinct uploads (lost or duplicated)")
    if any(j["status"] != "done" for j in mine):
        problems.append("not every job is done")
    unexpected = {c: n for c, n in tally.codes.items() if c not in (200, 202, 429)}
    if unexpected:
        problems.append(f"unexpected HTTP answers: {unexpected}")
    lat = np.array(tally.latencies) if tally.latencies else np.zeros(1)
    return {"analyses": analyses, "clients": clients, "image_side": side, "wall_s": round(wall, 2),
            "throughput_per_s": round(analyses / wall, 2), "p50_s": round(float(np.percentile(lat, 50)), 3),
            "p95_s": round(float(np.percentile(lat, 95)), 3), "max_s": round(float(lat.max()), 3),
            "answers": dict(sorted(tally.codes.items())), "problems": problems}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--analyses", type=int, default=500)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", default="fast")
    ap.add_argument("--side", type=int, default=256, help="image side in pixels")
    ap.add_argument("--queue-size", type=int, default=100)
    ap.add_argument("--url", help="an already running server (otherwise one is started)")
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args()
    if args.url:
        result = run_load(args.url, args.analyses, args.clients, args.side)
    else:
        with tempfile.TemporaryDirectory() as tmp, \
                serve(args.workers, args.profile, args.queue_size, Path(tmp) / "data") as url:
            result = run_load(url, args.analyses, args.clients, args.side)
    result.update(workers=args.workers, profile=args.profile, queue_size=args.queue_size)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
