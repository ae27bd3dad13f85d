"""The result cache of a benchmark run: Parquet parts of per-item rows plus compressed maps.

One row per (detector name + version, SHA-256 of the input file, perturbation key): score, runtime, status,
error, and the Evidence's time segments as compact JSON (`[[start_s, end_s, score], ...]`, "[]" for none).
Rows are appended in small Parquet parts written atomically, so an interrupted run loses at most the rows
still buffered in memory (flushed on Ctrl-C too) and resumes by skipping the keys already present. Maps go to
`maps/<key>.npz`: the heatmap as float16, the detector's own mask as bool.

The `segments` column came later: parts written before it have no such column and their rows read with
`segments` None, which is never the value of a new `ok` row; `keys(need_segments=True)` treats such rows as
not done, so a protocol with the temporal family recomputes them instead of scoring them as "no segment".
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

COLUMNS = ("key", "item", "input_sha256", "detector", "detector_version", "perturbation", "perturbation_key",
           "status", "score", "runtime_s", "error", "map", "summary", "segments")
STATUSES = ("ok", "not_applicable", "error")


def result_key(detector: str, version: str, input_sha256: str, perturbation_key: str) -> str:
    """The cache key: a hash of detector name and version, input bytes' hash and the perturbation's key."""
    text = f"{detector}\0{version}\0{input_sha256}\0{perturbation_key}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _pa() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        from ..errors import MissingDependency

        raise MissingDependency("pyarrow", "bench", "the benchmark cache") from None
    return pa, pq


class ResultCache:
    """Reads and appends the rows under `DIR/cache/` and the maps under `DIR/maps/`."""

    def __init__(self, out: Path, batch: int = 32, flush_s: float = 20.0) -> None:
        self.out = Path(out)
        self.parts = self.out / "cache"
        self.maps = self.out / "maps"
        self.batch, self.flush_s = batch, flush_s
        self._pending: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()

    def rows(self) -> list[dict[str, Any]]:
        """Every stored row, oldest part first (later rows for the same key supersede earlier ones)."""
        if not self.parts.is_dir():
            return []
        _, pq = _pa()
        out: list[dict[str, Any]] = []
        for part in sorted(self.parts.glob("part-*.parquet")):
            out.extend(pq.read_table(part).to_pylist())
        return out

    def keys(self, retry_errors: bool = False, need_segments: bool = False) -> set[str]:
        """Keys already done; with `retry_errors`, rows that failed are not counted as done; with
        `need_segments`, neither are `ok` rows from parts written before the segments column."""
        done = set()
        for r in self.rows():  # oldest first: a later row for the key decides
            if (retry_errors and r["status"] == "error") or (
                    need_segments and r["status"] == "ok" and r.get("segments") is None):
                done.discard(r["key"])
            else:
                done.add(r["key"])
        return done

    def save_maps(self, key: str, heatmap: np.ndarray | None, mask: np.ndarray | None) -> str | None:
        """Write the maps of one result (heatmap as float16) and return their path relative to the run folder."""
        if heatmap is None and mask is None:
            return None
        self.maps.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        if heatmap is not None:
            arrays["heatmap"] = np.asarray(heatmap, dtype=np.float16)
        if mask is not None:
            arrays["mask"] = np.asarray(mask, dtype=bool)
        target = self.maps / f"{key}.npz"
        tmp = self.maps / f".{key}.tmp.npz"
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, target)
        return target.relative_to(self.out).as_posix()

    def load_maps(self, rel: str | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(heatmap as float32, mask) of a stored result; (None, None) when it has no maps."""
        if not rel:
            return None, None
        with np.load(self.out / rel) as z:
            heatmap = z["heatmap"].astype(np.float32) if "heatmap" in z.files else None
            mask = z["mask"] if "mask" in z.files else None
        return heatmap, mask

    def add(self, row: dict[str, Any]) -> None:
        """Buffer one row; the buffer is written when it holds `batch` rows or after `flush_s` seconds."""
        self._pending.append({c: row.get(c) for c in COLUMNS})
        if len(self._pending) >= self.batch or time.monotonic() - self._last_flush >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as a new Parquet part (atomically: temp file, then rename)."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        pa, pq = _pa()
        self.parts.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(self._pending, schema=_schema(pa))
        name = f"part-{time.time_ns():020d}-{os.getpid()}.parquet"
        tmp = self.parts / f".{name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.parts / name)
        self._pending.clear()


def row_scores(rows: list[dict[str, Any]]) -> np.ndarray:
    """The rows' scores, 0 where there is none (an error, not applicable, no opinion: not flagged)."""
    return np.array([0.0 if r.get("score") is None or not np.isfinite(r["score"]) else float(r["score"])
                     for r in rows], dtype=np.float64)


def segments_json(segments: Any) -> str:
    """An Evidence's segments as compact JSON `[[start_s, end_s, score], ...]` (times to 0.1 ms)."""
    return json.dumps([[round(float(s.start_s), 4), round(float(s.end_s), 4), float(s.score)] for s in segments],
                      separators=(",", ":"))


def parse_segments(text: str | None) -> list[list[float]] | None:
    """The stored segments of a row: a list of [start_s, end_s, score]; None when the row has none stored."""
    return None if text is None else [list(map(float, s)) for s in json.loads(text)]


def _schema(pa: Any) -> Any:
    text = {"key", "item", "input_sha256", "detector", "detector_version", "perturbation", "perturbation_key",
            "status", "error", "map", "summary", "segments"}
    return pa.schema([(c, pa.string() if c in text else pa.float64()) for c in COLUMNS])
