"""The batch's output folder: Parquet parts written atomically, what they already hold, and their JSON Lines.

A part is written to a hidden temporary file (`.part-....parquet.tmp`) and renamed into place, so a reader (and a
re-run) sees whole parts or nothing, whenever the job is killed. Readers skip names starting with '.' or '_',
so a temporary file left by a kill is never read; the next run of the same folder removes it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from .rows import SCHEMA

PART_GLOB = "part-*.parquet"
TEMP_GLOB = ".part-*.parquet.tmp"


def parts(out: Path) -> list[Path]:
    """The finished parts in `out`, oldest name first (names start with the time they were written)."""
    return sorted(out.glob(PART_GLOB))


def remove_temporaries(out: Path) -> int:
    """Delete the temporary files a killed run left behind (never a finished part); how many there were."""
    stale = list(out.glob(TEMP_GLOB))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def done_index(out: Path, config_key: str) -> dict[str, set[str]]:
    """path -> the sha256s already written for it under `config_key` ("" stands for a file not read).

    Only three columns are read, part by part, so this costs about 100 bytes per row in memory.
    """
    done: dict[str, set[str]] = {}
    files = parts(out)
    if not files:
        return done
    dataset = pads.dataset([str(p) for p in files], schema=SCHEMA, format="parquet")
    wanted = pads.field("config_key") == config_key
    for batch in dataset.to_batches(columns=["path", "sha256"], filter=wanted):
        for path, sha in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
            done.setdefault(path, set()).add(sha or "")
    return done


def iter_reports(out: Path) -> Iterator[str]:
    """The `report` column of every finished part (one JSON report per row), part by part."""
    for path in parts(out):
        for batch in pq.ParquetFile(path).iter_batches(columns=["report"]):
            yield from batch.column(0).to_pylist()


class PartWriter:
    """Collects result tables and writes them as parts of about `part_rows` rows, or every `flush_s` seconds
    when results come slowly, so a kill loses at most one part's worth of work (a re-run redoes it)."""

    def __init__(self, out: Path, part_rows: int = 1000, flush_s: float = 30.0) -> None:
        self.out = out
        self.part_rows, self.flush_s = part_rows, flush_s
        self.run = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
        self.pending: list[pa.Table] = []
        self.rows = 0
        self.written: list[Path] = []
        self._last = time.monotonic()

    def add(self, table: pa.Table) -> Path | None:
        """Buffer rows; the part written when they are enough (or old enough), else None."""
        if table.num_rows:
            self.pending.append(table)
            self.rows += table.num_rows
        if self.rows >= self.part_rows or (self.rows and time.monotonic() - self._last >= self.flush_s):
            return self.flush()
        return None

    def flush(self) -> Path | None:
        """Write whatever is buffered as one part (temporary file, then rename); None when nothing was."""
        self._last = time.monotonic()
        if not self.rows:
            return None
        table = pa.concat_tables(self.pending).cast(SCHEMA)
        name = f"part-{self.run}-{len(self.written):06d}.parquet"
        temp = self.out / f".{name}.tmp"
        pq.write_table(table, temp, compression="zstd")
        os.replace(temp, self.out / name)
        self.pending, self.rows = [], 0
        self.written.append(self.out / name)
        return self.out / name


class JsonLines:
    """`--json FILE`: the reports of every finished part, one per line, as `unmask scan --json` writes them.

    At the start the file is rewritten from the parts already in the folder (so after a kill it again matches
    them exactly, with no line twice), then each new part's reports are appended once the part is in place.
    """

    def __init__(self, path: Path, out: Path) -> None:
        temp = path.with_name(f".{path.name}.tmp")
        with temp.open("w", encoding="utf-8") as f:
            for line in iter_reports(out):
                f.write(line + "\n")
        os.replace(temp, path)
        self.stream: TextIO = path.open("a", encoding="utf-8")

    def add_part(self, part: Path) -> None:
        for batch in pq.ParquetFile(part).iter_batches(columns=["report"]):
            self.stream.writelines(line + "\n" for line in batch.column(0).to_pylist())
        self.stream.flush()

    def close(self) -> None:
        self.stream.close()
