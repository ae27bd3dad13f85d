"""Run pyIFD's 15 classic forensic algorithms on a list of images; save each map and its runtime.

Benchmark-only peer, never a dependency of unmask. pyIFD needs numpy<2, so this script runs in its own
environment (see benchmarks/README.md):

    python benchmarks/peers/pyifd_runner.py LIST.json OUT_DIR

LIST.json is a JSON list of image paths. OUT_DIR gets one `<file stem>.npz` per image holding, for each
algorithm, `map_<ALG>` (float32, the algorithm's native output map) and `time_<ALG>` (seconds), or
`error_<ALG>`. Images already done (same path) are skipped, so an interrupted run resumes.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _first_map(out: object) -> np.ndarray:
    """pyIFD drivers return a map or a list whose first 2-D array is the map ('OutputMap')."""
    items = out if isinstance(out, list | tuple) else [out]
    for item in items:
        arr = np.asarray(item) if isinstance(item, np.ndarray) else None
        if arr is not None and arr.ndim == 2:
            return arr
    raise ValueError(f"no 2-D map in the output ({type(out).__name__})")


def _ghost_map(out: list) -> np.ndarray:
    """GHOST returns one difference map per re-save quality (51..100); take the map at the lowest-quality
    local minimum of the mean-difference curve (the 'ghost' quality), the last quality when there is none."""
    maps, minima = out[2], [int(i) - 1 for i in np.atleast_1d(out[3])]
    return np.asarray(maps[minima[0] if minima else len(maps) - 1])


def algorithms() -> dict[str, Callable[[str], np.ndarray]]:
    from pyIFD import ADQ1, ADQ2, ADQ3, BLK, CAGI, CFA1, CFA2, DCT, ELA, GHOST, NADQ, NOI1, NOI2, NOI4, NOI5

    return {
        "ADQ1": lambda p: _first_map(ADQ1.detectDQ(p)), "ADQ2": lambda p: _first_map(ADQ2.getJmap(p)),
        "ADQ3": lambda p: _first_map(ADQ3.BenfordDQ(p)), "NADQ": lambda p: _first_map(NADQ.NADQ(p)),
        "DCT": lambda p: _first_map(DCT.DCT(p)), "BLK": lambda p: _first_map(BLK.GetBlockGrid(p)),
        "CAGI": lambda p: _first_map(CAGI.CAGI(p)), "ELA": lambda p: _first_map(ELA.ELA(p)),
        "GHOST": lambda p: _ghost_map(GHOST.GHOST(p)), "CFA1": lambda p: _first_map(CFA1.CFA1(p)),
        "CFA2": lambda p: _first_map(CFA2.CFA2(p)), "NOI1": lambda p: _first_map(NOI1.GetNoiseMap(p)),
        "NOI2": lambda p: _first_map(NOI2.GetNoiseMaps(p)), "NOI4": lambda p: _first_map(NOI4.MedFiltForensics(p)),
        "NOI5": lambda p: _first_map(NOI5.PCANoise(p)),
    }


def run_one(path: str, algs: dict[str, Callable[[str], np.ndarray]]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, fn in algs.items():
        start = time.perf_counter()
        try:
            result = np.asarray(fn(path), dtype=np.float32)
            out[f"time_{name}"] = np.float64(time.perf_counter() - start)
            out[f"map_{name}"] = result
        except Exception as exc:  # a peer failure is data, not a reason to stop the run
            out[f"error_{name}"] = np.str_(f"{type(exc).__name__}: {exc}"[:300])
    return out


def _stored_path(npz: Path) -> str | None:
    try:
        with np.load(npz) as z:
            return str(z["path"])
    except Exception:  # a damaged file is recomputed
        return None


def main(list_file: str, out_dir: str) -> None:
    warnings.filterwarnings("ignore")
    paths = json.loads(Path(list_file).read_text())
    dest = Path(out_dir)
    dest.mkdir(parents=True, exist_ok=True)
    algs = algorithms()
    for i, path in enumerate(paths):
        target = dest / f"{Path(path).stem}.npz"
        if target.exists() and _stored_path(target) == path:
            continue
        result = run_one(path, algs)
        partial = target.with_suffix(".tmp.npz")
        np.savez_compressed(partial, path=np.str_(path), **result)
        partial.replace(target)
        print(f"{i + 1}/{len(paths)} {Path(path).name}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
