"""`unmask batch` at scale (issue 18): throughput with 1 and 2 Ray workers, and a large batch killed half-way.

    python benchmarks/batch_scale.py throughput --n 240 --size 256          # fast profile, 1 -> 2 workers
    python benchmarks/batch_scale.py resume --n 10000 --profile fast        # kill at half, re-run, check rows
    python benchmarks/batch_scale.py resume --n 10000                       # the same with default settings
    OMP_NUM_THREADS=1 python benchmarks/batch_scale.py cost --repeat 3      # warm s per file, kind x profile

Every run is `unmask batch` in a new process (its own local Ray), as a user runs it. `resume` starts it, kills
its whole process group (driver and the Ray it started) with SIGKILL once the output holds half the rows, runs
the same command again, and checks: every file has exactly one row, the re-run analysed only the rest, and
the driver's peak RSS (VmHWM, sampled every 0.5 s) stayed bounded. Results go to docs/benchmarks/batch_scale.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from PIL import Image

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "batch_scale.json"
SUMMARY = re.compile(r"(\d+) files: (\d+) analysed, (\d+) failed, (\d+) already done")


def make_images(folder: Path, n: int, size: int) -> None:
    """`n` random-noise JPEGs of size x size in sub-folders of 1,000 (made once; reused when present)."""
    rng = np.random.default_rng(0)
    for i in range(n):
        path = folder / f"{i // 1000:03d}" / f"img{i:06d}.jpg"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buf, "JPEG", quality=90)
        path.write_bytes(buf.getvalue())


def rows_in(out: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in out.glob("part-*.parquet"))


def run(args: list[str], kill_at_rows: int | None = None, out: Path | None = None) -> dict:
    """Run `unmask batch ARGS` in its own process group; SIGKILL the group once `out` holds `kill_at_rows`."""
    cmd = [str(Path(sys.executable).with_name("unmask")), "batch", *args, "--quiet"]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        peak, killed = 0, False
        while proc.poll() is None:
            peak = max(peak, _vmhwm(proc.pid))
            if kill_at_rows is not None and out is not None and rows_in(out) >= kill_at_rows:
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
            time.sleep(0.5)
        _reap_group(proc.pid)
        err.seek(0)
        text = err.read()
    found = SUMMARY.search(text)
    counts = dict(zip(("total", "analysed", "failed", "skipped"), map(int, found.groups()), strict=True)) \
        if found else {}
    return {"cmd": " ".join(["unmask", "batch", *args]), "seconds": round(time.perf_counter() - started, 1),
            "exit_code": proc.returncode, "killed": killed, "driver_peak_rss_mb": round(peak / 1024, 1),
            **counts, "stderr_tail": text[-400:] if not found else ""}


def _vmhwm(pid: int) -> int:
    """Peak resident set size of a process in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reap_group(pgid: int) -> None:
    """Whatever of the run's process group outlived its driver (Ray's processes after a kill) is killed."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def throughput(a: argparse.Namespace) -> dict:
    """Files per second of the fast profile with 1 and then 2 workers (interleaved, `--repeat` times each)."""
    work = Path(a.work)
    images = work / f"tp-{a.n}-{a.size}"
    make_images(images, a.n, a.size)
    runs = []
    for rep in range(a.repeat):
        for workers in (1, 2):
            out = work / f"tp-out-{workers}-{rep}"
            subprocess.run(["rm", "-rf", str(out)], check=True)
            r = run([str(images), "--out", str(out), "--profile", "fast", "--workers", str(workers)])
            r["workers"], r["steady_files_per_s"] = workers, steady_rate(out)
            runs.append(r)
            print(json.dumps(r), flush=True)
    best = {w: max(r["steady_files_per_s"] for r in runs if r["workers"] == w) for w in (1, 2)}
    whole = {w: min(r["seconds"] for r in runs if r["workers"] == w) for w in (1, 2)}
    return {"n": a.n, "size": a.size, "runs": runs, "best_steady_files_per_s": best,
            "speedup_steady": round(best[2] / best[1], 2), "best_whole_seconds": whole,
            "speedup_whole_command": round(whole[1] / whole[2], 2)}


def steady_rate(out: Path) -> float:
    """Files per second between the first and the last row written (Ray's and the actors' start left out)."""
    stamps = pads.dataset([str(p) for p in out.glob("part-*.parquet")]).to_table(columns=["scanned_at"])
    times = sorted(t.timestamp() for t in stamps.column(0).to_pylist())
    return round((len(times) - 1) / (times[-1] - times[0]), 2) if len(times) > 1 and times[-1] > times[0] else 0.0


def resume(a: argparse.Namespace) -> dict:
    """A batch of `n` images killed at half its rows, then run again to the end; rows are checked."""
    work = Path(a.work)
    images = work / f"rs-{a.n}-{a.size}"
    make_images(images, a.n, a.size)
    out = work / f"rs-out-{a.n}-{a.profile}"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    args = [str(images), "--out", str(out), "--profile", a.profile]
    first = run(args, kill_at_rows=a.n // 2, out=out)
    rows_after_kill = rows_in(out)
    second = run(args)
    table = pads.dataset([str(p) for p in out.glob("part-*.parquet")]).to_table(columns=["path", "error"])
    paths = table.column("path").to_pylist()
    check = {"rows": len(paths), "distinct_paths": len(set(paths)), "lost": a.n - len(set(paths)),
             "duplicates": len(paths) - len(set(paths)), "rows_after_kill": rows_after_kill,
             "rerun_analysed_only_the_rest": second.get("analysed", 0) + second.get("failed", 0)
             == a.n - rows_after_kill, "error_rows": len(paths) - table.column("error").null_count}
    print(json.dumps({"first": first, "second": second, "check": check}), flush=True)
    return {"n": a.n, "size": a.size, "profile": a.profile, "first": first, "second": second, "check": check}


COST_FILES = ("samples/photo_authentic.jpg", "samples/clip.mp4", "samples/tone.wav")


def cost(a: argparse.Namespace) -> dict:
    """Warm seconds per file by kind and profile (what a batch worker pays once its detectors are loaded):
    one Analyzer per profile, one warm-up call, then the median of `--repeat` calls; one thread."""
    from unmask.analysis import Analyzer

    root = Path(__file__).resolve().parents[1]
    table: dict[str, dict[str, float]] = {}
    for profile in ("fast", "default", "thorough"):
        analyzer = Analyzer(profile=profile, skip_uninstalled=True)
        for name in COST_FILES:
            analyzer.analyze(root / name)
            times = []
            for _ in range(a.repeat):
                t = time.perf_counter()
                analyzer.analyze(root / name)
                times.append(time.perf_counter() - t)
            table.setdefault(name, {})[profile] = round(float(np.median(times)), 3)
            print(profile, name, table[name][profile], flush=True)
    return {"seconds_per_file": table, "threads": os.environ.get("OMP_NUM_THREADS")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["throughput", "resume", "cost"])
    parser.add_argument("--n", type=int, default=240)
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "unmask-batch-bench"))
    a = parser.parse_args()
    Path(a.work).mkdir(parents=True, exist_ok=True)
    result = {"throughput": throughput, "resume": resume, "cost": cost}[a.what](a)
    result["load_average"] = os.getloadavg()
    result["measured"] = time.strftime("%Y-%m-%d %H:%M")
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    saved[a.what if a.what == "cost" else f"{a.what}-{a.profile if a.what == 'resume' else 'fast'}-{a.n}"] = result
    RESULTS.write_text(json.dumps(saved, indent=1) + "\n")


if __name__ == "__main__":
    main()
