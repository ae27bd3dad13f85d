"""One manifest format for every dataset: labelled items (file, text or both) and the folder paths hang from.

Rows carry `path` (relative to the manifest's folder, or absolute), `label` (real | fake), and optionally
`label_raw` (the dataset's own, finer label), `mask`, `segments` ([start_s, end_s] pairs), `boxes` ([x0, y0,
x1, y1] in pixels), `tokens` (indices of fake words), `group` (source id: splits never share one), `split`,
`text` and `attrs` (free attributes such as generator, manipulation, compression). CSV and Parquet store the
nested fields as JSON strings; JSONL stores them natively. Unknown CSV columns are kept as string attributes,
so a plain `path,label,generator` file (the shared data's manifest.csv) reads as is.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UnmaskError

LABELS = ("real", "fake")
FIELDS = (
    "path",
    "label",
    "label_raw",
    "mask",
    "segments",
    "boxes",
    "tokens",
    "group",
    "split",
    "text",
    "attrs",
)
NESTED = ("segments", "boxes", "tokens", "attrs")
FORMATS = (".csv", ".jsonl", ".parquet")
MAX_REPORTED = 10  # errors listed in one ManifestError


class ManifestError(UnmaskError, ValueError):
    """A manifest that cannot be read or is invalid; the message names the file and each bad line."""

    code = "manifest_error"


@dataclass
class Item:
    """One labelled example: a file (`path`), a text, or both (a post with its image)."""

    path: str | None = None
    label: str = "real"
    label_raw: str | None = None
    mask: str | None = None
    segments: list[list[float]] | None = None
    boxes: list[list[float]] | None = None
    tokens: list[int] | None = None
    group: str | None = None
    split: str | None = None
    text: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def y(self) -> int:
        """1 for fake, 0 for real (the metrics' convention)."""
        return int(self.label == "fake")

    def key(self) -> str:
        """A short name for reports: the path, else the start of the text."""
        if self.path:
            return self.path
        text = (self.text or "").replace("\n", " ")
        return f"text: {text[:60]}" + ("..." if len(text) > 60 else "")

    def to_row(self) -> dict[str, Any]:
        """The item as a dict with empty fields left out (JSONL row; nested fields stay lists/dicts)."""
        row = {name: getattr(self, name) for name in FIELDS}
        return {k: v for k, v in row.items() if v not in (None, "", [], {})}


def _nested(value: Any, name: str) -> Any:
    """Decode a nested field given as a JSON string (CSV, Parquet) or already decoded (JSONL)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"column '{name}' is not valid JSON ({exc.msg}): {value[:60]!r}") from None
    return _checked_shape(value, name)


def _numbers(values: Any, n: int | None) -> bool:
    ok = isinstance(values, list | tuple) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )
    return ok and (n is None or len(values) == n)


def _checked_shape(value: Any, name: str) -> Any:
    """Check a decoded nested field has the documented shape; raise ValueError naming the field otherwise."""
    if name == "attrs":
        if not isinstance(value, dict):
            raise ValueError("column 'attrs' must be a JSON object")
        return value
    if not isinstance(value, list):
        raise ValueError(f"column '{name}' must be a JSON list, got {type(value).__name__}")
    if name == "tokens":
        if not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in value):
            raise ValueError("column 'tokens' must list non-negative word indices")
        return [int(t) for t in value]
    width = 2 if name == "segments" else 4
    for entry in value:
        if not _numbers(entry, width):
            raise ValueError(
                f"column '{name}' must be a list of [{'start, end' if width == 2 else 'x0, y0, x1, y1'}]"
                f" number lists, got {entry!r}"
            )
        if entry[width // 2 - 1] > entry[-1] or (width == 4 and entry[0] > entry[2]):
            raise ValueError(f"column '{name}' has an entry whose end comes before its start: {entry!r}")
    return [[float(v) for v in entry] for entry in value]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def item_from_row(row: dict[str, Any]) -> Item:
    """Build a validated Item from one row (strings from CSV or values from JSONL); unknown keys become attrs.

    Raises ValueError with a message that names the bad field; the readers add the file and line.
    """
    label = _text(row.get("label"))
    if label is None or label.strip().lower() not in LABELS:
        raise ValueError(
            f"label {row.get('label')!r} is not 'real' or 'fake' (keep finer labels in label_raw)"
        )
    nested = {name: _nested(row.get(name), name) for name in NESTED}
    attrs = dict(nested["attrs"] or {})
    attrs.update({k: v for k, v in row.items() if k not in FIELDS and k and v not in (None, "")})
    item = Item(
        path=_text(row.get("path")),
        label=label.strip().lower(),
        label_raw=_text(row.get("label_raw")),
        mask=_text(row.get("mask")),
        segments=nested["segments"],
        boxes=nested["boxes"],
        tokens=nested["tokens"],
        group=_text(row.get("group")),
        split=_text(row.get("split")),
        text=row.get("text") if _text(row.get("text")) else None,
        attrs=attrs,
    )
    if item.path is None and item.text is None:
        raise ValueError("the row has neither a path nor a text")
    return item


@dataclass
class Manifest:
    """Items plus the folder their relative paths hang from; `notes` says what an adapter skipped and why."""

    items: list[Item]
    root: Path
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def resolve(self, rel: str | None) -> Path | None:
        """The file a manifest path names: absolute as given, relative under `root`."""
        if not rel:
            return None
        path = Path(rel)
        return path if path.is_absolute() else self.root / path

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(LABELS, 0)
        for item in self.items:
            out[item.label] += 1
        return out

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Manifest:
        """Read a .csv, .jsonl or .parquet manifest; relative paths in it hang from the file's folder."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in FORMATS:
            raise ManifestError(
                f"{path}: unknown manifest format {suffix or '(none)'}; use {', '.join(FORMATS)}"
            )
        if not path.is_file():
            raise ManifestError(f"{path}: no such manifest file")
        reader = {".csv": _read_csv, ".jsonl": _read_jsonl, ".parquet": _read_parquet}[suffix]
        return cls(reader(path), path.parent)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write as .csv, .jsonl or .parquet (by suffix); paths are rewritten relative to the new file's
        folder when they lie under it, absolute otherwise, so the written manifest resolves to the same files.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in FORMATS:
            raise ManifestError(
                f"{path}: unknown manifest format {suffix or '(none)'}; use {', '.join(FORMATS)}"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [self._relocated(item, path.parent) for item in self.items]
        {".csv": _write_csv, ".jsonl": _write_jsonl, ".parquet": _write_parquet}[suffix](rows, path)
        return path

    def _relocated(self, item: Item, folder: Path) -> dict[str, Any]:
        row = item.to_row()
        if self.root.resolve() == folder.resolve():
            return row
        for name in ("path", "mask"):
            if row.get(name):
                row[name] = _relative_or_absolute(self.resolve(row[name]), folder)
        return row


def _relative_or_absolute(target: Path | None, folder: Path) -> str:
    absolute = Path(os.path.abspath(target))
    base = Path(os.path.abspath(folder))
    return absolute.relative_to(base).as_posix() if absolute.is_relative_to(base) else str(absolute)


def _error(path: Path, problems: list[str]) -> ManifestError:
    shown = problems[:MAX_REPORTED]
    more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    return ManifestError(f"{path}: {len(problems)} invalid row(s):\n  " + "\n  ".join(shown) + more)


def _items(rows: Iterable[tuple[str, dict[str, Any]]], path: Path) -> list[Item]:
    """Validate (where, row) pairs, collecting every problem before raising one error that lists them."""
    items, problems = [], []
    for where, row in rows:
        try:
            items.append(item_from_row(row))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise _error(path, problems)
    return items


def _check_columns(path: Path, columns: Iterable[str]) -> None:
    names = set(columns)
    if "label" not in names:
        raise ManifestError(f"{path}: no 'label' column (columns: {', '.join(sorted(names)) or 'none'})")
    if "path" not in names and "text" not in names:
        raise ManifestError(
            f"{path}: no 'path' column (nor 'text' for text items); columns: {', '.join(sorted(names))}"
        )


def _read_csv(path: Path) -> list[Item]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        _check_columns(path, reader.fieldnames or [])
        rows = [(f"line {reader.line_num}", row) for row in reader]
    return _items(rows, path)


def _read_jsonl(path: Path) -> list[Item]:
    rows, problems = [], []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"line {number}: not valid JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                problems.append(f"line {number}: not a JSON object")
                continue
            rows.append((f"line {number}", row))
    if problems:
        raise _error(path, problems)
    if rows:
        _check_columns(path, set().union(*(r.keys() for _, r in rows)))
    return _items(rows, path)


def _pyarrow() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ManifestError(
            "Parquet manifests need pyarrow: pip install pyarrow (or use .csv / .jsonl)"
        ) from None
    return pq


def _read_parquet(path: Path) -> list[Item]:
    table = _pyarrow().read_table(path)
    _check_columns(path, table.column_names)
    return _items(((f"row {i + 1}", row) for i, row in enumerate(table.to_pylist())), path)


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row for CSV/Parquet: nested fields as JSON strings, absent fields as empty strings."""
    return {
        name: (
            json.dumps(row[name], ensure_ascii=False) if name in NESTED and name in row else row.get(name, "")
        )
        for name in FIELDS
    }


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    used = {k for row in rows for k in row}
    return [name for name in FIELDS if name in used or name in ("path", "label")]


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    columns = _columns(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(_flat(row) for row in rows)


def _write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    pq = _pyarrow()
    import pyarrow as pa

    columns = _columns(rows)
    flat = [_flat(row) for row in rows]
    table = pa.table({name: [str(r[name]) if r[name] is not None else "" for r in flat] for name in columns})
    pq.write_table(table, path)
