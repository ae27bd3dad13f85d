"""The documented long fuzzing run: each loader kind in turn under fuzz_load.py until it has executed
`--runs` inputs (1,000,000 by default) or spent `--max-minutes`, restarting after a crash so one finding does
not end the kind's run. Prints and writes (WORK/summary.json) the executions, rate and findings per kind.

    nice -n 10 env OMP_NUM_THREADS=1 python tools/fuzz/long_run.py --work fuzz-work

See docs/fuzzing.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HARNESS = Path(__file__).resolve().with_name("fuzz_load.py")
sys.path.insert(0, str(HARNESS.parent))
from corpus import KINDS  # noqa: E402

_STAT = re.compile(r"stat::(\w+):\s+(\d+)")


def _run_once(kind: str, work: Path, runs: int, seconds: int, log: Path, extra: list[str]) -> dict[str, int]:
    """One libFuzzer session; returns its final stats (executions, peak RSS, ...) and exit code."""
    flags = [f"-runs={runs}", f"-max_total_time={max(seconds, 1)}"]
    with log.open("a", encoding="utf-8") as out:
        proc = subprocess.run([sys.executable, str(HARNESS), kind, "--work", str(work), *extra, "--", *flags],
                              stdout=out, stderr=subprocess.STDOUT, check=False)
    tail = log.read_text(encoding="utf-8", errors="replace")[-20000:]
    stats = {k: int(v) for k, v in _STAT.findall(tail.rsplit("INFO: Seed:", 1)[-1])}
    stats["returncode"] = proc.returncode
    return stats


def fuzz_kind(kind: str, work: Path, runs: int, max_s: float, extra: list[str]) -> dict[str, object]:
    """Fuzz one kind to `runs` executions or `max_s` seconds, across restarts after crashes."""
    log = work / kind / "log.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    done, sessions, start = 0, [], time.monotonic()
    while done < runs and (left := max_s - (time.monotonic() - start)) > 5:
        stats = _run_once(kind, work, runs - done, int(left), log, extra)
        sessions.append(stats)
        done += stats.get("number_of_executed_units", 0)
        if stats["returncode"] == 0:
            break
    elapsed = time.monotonic() - start
    crashes = sorted(p.name for p in (work / kind / "crashes").glob("*"))
    return {"kind": kind, "executions": done, "seconds": round(elapsed), "exec_per_s": round(done / elapsed),
            "sessions": len(sessions), "peak_rss_mb": max((s.get("peak_rss_mb", 0) for s in sessions), default=0),
            "findings": crashes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("fuzz-work"))
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--max-minutes", type=float, default=60.0, help="per kind")
    parser.add_argument("--max-pixels", type=int, default=None, help="passed to fuzz_load.py")
    args = parser.parse_args()
    summary_path = args.work / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for kind in args.kinds:
        extra = ["--max-pixels", str(args.max_pixels)] if args.max_pixels else []
        result = fuzz_kind(kind, args.work, args.runs, args.max_minutes * 60, extra)
        if args.max_pixels:
            result["max_pixels"] = args.max_pixels
        summary[kind] = result
        summary_path.write_text(json.dumps(summary, indent=2))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
