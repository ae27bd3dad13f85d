"""Speech analysis cost: real-time factor of 1 minute of speech and peak memory of a 1-hour WAV, one core.

    OMP_NUM_THREADS=1 python benchmarks/speech_speed.py [--data DIR] [--out docs/benchmarks/speech_speed.json]

1 minute: real and synthetic dev clips (speech_more) joined to 60 s, 16 kHz FLAC; the default profile's
Analyzer (every speech detector it runs, spectrogram off as in `unmask scan --json`), timed warm (the median of
3 runs after one untimed run), so the figure is the per-file cost of a batch. Real-time factor = seconds of
compute per second of audio. 1 hour: the same minute tiled to 3,600 s with a little noise, written as a
16-bit 16 kHz WAV (115 MB) to a temporary folder, then `unmask scan FILE --json OUT` in a fresh process; its peak
resident memory (ru_maxrss of the child) and wall time are reported.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def minute(data: Path) -> np.ndarray:
    import soundfile as sf

    with open(data / "speech_more/manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    parts, total = [], 0
    for row in rows[::7]:
        x, _ = sf.read(data / "speech_more" / row["path"], dtype="float32")
        parts.append(x if x.ndim == 1 else x.mean(axis=1))
        total += len(parts[-1])
        if total >= 60 * 16000:
            break
    return np.concatenate(parts)[: 60 * 16000]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--out", type=Path, default=ROOT / "docs/benchmarks/speech_speed.json")
    args = ap.parse_args()
    import soundfile as sf

    from unmask.analysis import Analyzer

    x = minute(args.data)
    result = {"cpu": os.cpu_count(), "threads": os.environ.get("OMP_NUM_THREADS")}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "minute.flac"
        sf.write(clip, x, 16000)
        analyzer = Analyzer(profile="default", spectrograms=False)
        report = analyzer.analyze(clip)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            analyzer.analyze(clip)
            times.append(time.perf_counter() - t0)
        result["minute"] = {"detectors": sorted(e.detector for e in report.evidence if e.score is not None),
                            "seconds": statistics.median(times), "rtf": statistics.median(times) / 60.0}
        hour = Path(tmp) / "hour.wav"
        with sf.SoundFile(hour, "w", 16000, 1, "PCM_16") as f:
            rng = np.random.default_rng(0)
            for _ in range(60):
                f.write(np.clip(x + rng.normal(0, 1e-3, x.size), -1, 1))
        t0 = time.perf_counter()
        out = Path(tmp) / "hour.jsonl"
        unmask = Path(sys.executable).with_name("unmask")
        run = subprocess.run([str(unmask), "scan", str(hour), "--json", str(out)], capture_output=True, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        scanned = json.loads(out.read_text().splitlines()[0]) if out.is_file() and out.stat().st_size else None
        result["hour"] = {"file_mb": round(hour.stat().st_size / 2**20, 1), "seconds": round(wall, 1),
                          "peak_rss_mb": round(peak_mb, 1), "returncode": run.returncode,
                          "verdict": scanned and scanned.get("verdict", {}).get("label"),
                          "stderr_tail": run.stderr[-500:] if run.returncode else ""}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
