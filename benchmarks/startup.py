"""Start-up cost of a one-file `unmask scan`: whole-process wall time minus the warm analysis time.

    python benchmarks/startup.py [--runs 5] [--warm-runs 5] [--file samples/photo_authentic.jpg]

For each profile (default, fast) it times the user's command `unmask scan FILE [--profile P]` as a new process,
`--runs` times (median), and, in one separate process, the analysis alone: an `Analyzer` built once, one
warm-up `analyze` call, then the median of `--warm-runs` calls. The difference is what a one-file scan spends
beyond the analysis itself (interpreter, imports, registry, model loading, first-call set-up, output); the
target is at most 1 s (issue 14). Context rows: the bare interpreter, `import unmask.cli`, `unmask --help`,
and the first `analyze` call of a fresh process (lazy imports and model loading included).

Runs are interleaved (one of each command per round) after one untimed warm-up round, so a burst of load
from other users of a shared machine spreads over all rows. Child processes use a bytecode cache under
bench-out/ (as an installed package has) unless `--no-bytecode`. Prints the markdown and writes it to `--out`,
keeping the hand-written section of an existing page from its "## Where the start-up goes" heading on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0

WARM_SNIPPET = """
import json, statistics, sys, time
t0 = time.perf_counter()
from unmask import Analyzer
analyzer = Analyzer(profile=sys.argv[1], skip_uninstalled=True)
t1 = time.perf_counter()
analyzer.analyze(sys.argv[2])
t2 = time.perf_counter()
times, cpu = [], []
for _ in range(int(sys.argv[3])):
    t, c = time.perf_counter(), time.process_time()
    analyzer.analyze(sys.argv[2])
    times.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
print(json.dumps({"setup": t1 - t0, "first": t2 - t1, "warm": statistics.median(times),
                  "warm_cpu": statistics.median(cpu), "times": times}))
"""
NOTES = "## Where the start-up goes"  # this heading and what follows it in --out are kept when rewriting


def cli_command() -> list[str]:
    """The `unmask` console script of this interpreter's environment (else the same entry point via -c)."""
    script = Path(sys.executable).with_name("unmask")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from unmask.cli import main; main()"]


def child_env(bytecode: bool) -> dict[str, str]:
    """The environment of every timed process: with `bytecode`, compiled modules are cached under bench-out/
    (like an installed package's __pycache__) even where PYTHONDONTWRITEBYTECODE is set."""
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(ROOT / "bench-out" / "startup-pycache")
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one process from start to exit, output discarded; CPU (user + system, its
    children included) moves less than wall time with the load of a shared machine. A failure stops the run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: the file could not be analysed, still a full run
        sys.exit(f"{shlex.join(cmd)} exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def warm_analysis(profile: str, file: str, runs: int, env: dict[str, str]) -> dict[str, float]:
    """Set-up, first-call and median warm `analyze` seconds, measured in one new process."""
    out = subprocess.run([sys.executable, "-c", WARM_SNIPPET, profile, file, str(runs)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scan_row(file: str, profile: str) -> str:
    """The table row of the user's one-file scan in `profile`."""
    return f"`unmask scan {file}{'' if profile == 'default' else ' --profile ' + profile}`"


def measure(args: argparse.Namespace) -> tuple[dict[str, list[tuple[float, float]]], dict[str, dict[str, float]]]:
    """Whole-process (wall, CPU) times per row name, and the in-process analysis times per profile."""
    env = child_env(not args.no_bytecode)
    cli = cli_command()
    commands = {
        "interpreter only: `python -c pass`": [sys.executable, "-c", "pass"],
        "`python -c 'import unmask.cli'`": [sys.executable, "-c", "import unmask.cli"],
        "`unmask --help`": [*cli, "--help"],
    }
    for profile in args.profiles:
        extra = [] if profile == "default" else ["--profile", profile]
        commands[scan_row(args.file, profile)] = [*cli, "scan", args.file, *extra]
    for cmd in commands.values():  # untimed: fills the bytecode and OS file caches
        timed(cmd, env)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for i in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd, env))
        print(f"round {i + 1}/{args.runs} done", file=sys.stderr)
    analysis = {p: warm_analysis(p, args.file, args.warm_runs, env) for p in args.profiles}
    return times, analysis


def render(args: argparse.Namespace, times: dict[str, list[tuple[float, float]]], analysis: dict[str, dict[str, float]],
           load: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    """The markdown page: context, the per-command table, the per-profile start-up table."""
    command = "python benchmarks/startup.py " + shlex.join(args.argv) if args.argv else "python benchmarks/startup.py"
    lines = [
        "# Start-up time of a one-file `unmask scan`",
        "",
        f"Measured on {date.today().isoformat()} with `{command}` ({os.cpu_count()} CPU cores, "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}). The machine is shared with "
        f"other developers' jobs: load average {', '.join(f'{x:.1f}' for x in load[0])} before and "
        f"{', '.join(f'{x:.1f}' for x in load[1])} after; medians damp that, single runs vary by a second or more.",
        "Bytecode: " + ("not cached (as with PYTHONDONTWRITEBYTECODE=1)." if args.no_bytecode else
                        "cached, as an installed package has it."),
        "",
        f"## Whole processes (median of {args.runs} runs, interleaved)",
        "",
        "| command | median wall s | min s | max s | median CPU s |",
        "|---|---|---|---|---|",
    ]
    for name, runs in times.items():
        ts = [w for w, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        lines.append(f"| {name} | {statistics.median(ts):.2f} | {min(ts):.2f} | {max(ts):.2f} | {cpu:.2f} |")
    lines += [
        "",
        f"## Start-up beyond the analysis (target <= {TARGET_S:g} s)",
        "",
        f"Warm analysis: `Analyzer(profile=P, skip_uninstalled=True)` built once, one warm-up `analyze` call, then "
        f"the median of {args.warm_runs} calls on `{args.file}`. First call: the warm-up call of that fresh "
        "process (lazy imports and model loading included).",
        "",
        "The CPU columns (user + system seconds of all threads) are the same difference counted in CPU time: "
        "start-up work is mostly single-threaded, so on an idle machine its CPU time is close to its wall time, "
        "and CPU time moves less when other jobs share the cores.",
        "",
        "| profile | whole process s | warm analysis s | difference s | first `analyze` in a new process s | "
        "meets target | whole process CPU s | warm analysis CPU s | difference CPU s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for profile in args.profiles:
        runs = times[scan_row(args.file, profile)]
        whole, whole_cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        warm, warm_cpu = analysis[profile]["warm"], analysis[profile]["warm_cpu"]
        diff = whole - warm
        lines.append(f"| {profile} | {whole:.2f} | {warm:.2f} | {diff:.2f} | {analysis[profile]['first']:.2f} | "
                     f"{'yes' if diff <= TARGET_S else 'no'} | {whole_cpu:.2f} | {warm_cpu:.2f} | "
                     f"{whole_cpu - warm_cpu:.2f} |")
    return "\n".join(lines) + "\n"


def kept_notes(out: Path) -> str:
    """The hand-written section of an existing page (from the NOTES heading on), to keep it when rewriting."""
    if not out.is_file():
        return ""
    text = out.read_text(encoding="utf-8")
    at = text.find("\n" + NOTES)
    return text[at:] if at >= 0 else ""


def main(argv: list[str] | None = None) -> None:
    """Measure, print the markdown and write it."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="whole-process runs per command (median)")
    ap.add_argument("--warm-runs", type=int, default=5, help="warm analyze calls per profile (median)")
    ap.add_argument("--file", default="samples/photo_authentic.jpg", help="the file to scan (relative to the repo)")
    ap.add_argument("--profiles", default="default,fast", help="comma-separated profiles")
    ap.add_argument("--no-bytecode", action="store_true", help="do not cache compiled modules")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "startup.md")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    args.argv = argv
    args.profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    before = os.getloadavg()
    times, analysis = measure(args)
    text = render(args, times, analysis, (before, os.getloadavg()))
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + kept_notes(args.out), encoding="utf-8")


if __name__ == "__main__":
    main()
