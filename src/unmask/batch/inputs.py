"""What a batch reads: directories, manifests and single files or URIs, turned into one list of sources.

A source is a local path or a URI (`s3://bucket/key`, `gs://...`, `file:///...`). Local folders are walked
with `unmask.scan.expand` (the same skipping of hidden and special files as `unmask scan`); URI folders are
listed through `pyarrow.fs` (S3, GCS, HDFS, Azure and local files built in; any other scheme through an
installed fsspec filesystem). A worker reads a remote source through `local_copy`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pyarrow as pa
import pyarrow.fs as pafs

from ..errors import UnmaskError

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".parquet")
COPY_CHUNK = 1 << 20


class InputError(UnmaskError):
    """An input that cannot be turned into sources (a manifest without a path column, an unknown scheme)."""

    code = "bad_input"


def is_uri(source: str) -> bool:
    """`scheme://...` with a scheme of two letters or more (so a Windows drive `C:\\` is not one)."""
    scheme, sep, _ = source.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").isalnum()


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem of a URI and the path inside it; schemes pyarrow lacks go through fsspec."""
    try:
        return pafs.FileSystem.from_uri(uri)
    except pa.ArrowInvalid as exc:
        try:
            import fsspec.core
        except ImportError:
            raise InputError(f"cannot read {uri}: {exc} (pip install fsspec and its filesystem for this scheme)"
                             ) from exc
        try:
            fs, path = fsspec.core.url_to_fs(uri)
        except (ImportError, ValueError) as fs_exc:
            raise InputError(f"cannot read {uri}: {fs_exc}") from fs_exc
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def collect(inputs: list[str], skipped: list[str] | None = None) -> list[str]:
    """Every source the inputs name, in order, once each: folders recursively, manifests by their rows.

    A manifest is a .csv, .jsonl or .parquet file with a `path` column; relative paths in it hang from the
    manifest's folder. Anything else is a file to analyse. Notes on what was skipped go to `skipped`.
    """
    notes = skipped if skipped is not None else []
    seen: set[str] = set()
    out: list[str] = []
    for given in inputs:
        for source in _expand_one(given, notes):
            if source not in seen:
                seen.add(source)
                out.append(source)
    return out


def without(sources: list[str], outputs: list[Path | None]) -> list[str]:
    """The sources less the run's own outputs (a part file or JSON Lines inside a folder being scanned)."""
    files = [p.resolve() for p in outputs if p is not None]
    return [s for s in sources if is_uri(s) or not any(_inside(Path(s).resolve(), f) for f in files)]


def _inside(path: Path, output: Path) -> bool:
    return path == output or path.is_relative_to(output)


def _expand_one(given: str, notes: list[str]) -> Iterator[str]:
    if given.lower().endswith(MANIFEST_SUFFIXES):
        yield from read_manifest(given)
    elif is_uri(given):
        yield from _list_uri(given)
    else:
        from ..scan import expand

        for item in expand([given], recursive=True, skipped=notes):
            yield str(item.path)


def read_manifest(manifest: str) -> Iterator[str]:
    """The `path` column of a CSV, JSON Lines or Parquet manifest (local or URI), resolved against its folder."""
    try:
        table = _read_table(manifest)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read manifest {manifest}: {exc}") from exc
    if "path" not in table.column_names:
        raise InputError(f"manifest {manifest} has no 'path' column (columns: {', '.join(table.column_names)})")
    base = _parent(manifest)
    for value in table.column("path").to_pylist():
        if value:
            yield _join(base, str(value))


def _read_table(manifest: str) -> pa.Table:
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson
    import pyarrow.parquet as pq

    fs, path = filesystem(manifest) if is_uri(manifest) else (pafs.LocalFileSystem(), manifest)
    suffix = manifest.lower().rsplit(".", 1)[-1]
    if suffix == "parquet":
        names = pq.read_schema(path, filesystem=fs).names
        return pq.read_table(path, filesystem=fs, columns=["path"] if "path" in names else names[:1])
    with fs.open_input_stream(path) as stream:
        if suffix == "csv":
            return pcsv.read_csv(stream, convert_options=pcsv.ConvertOptions(column_types={"path": pa.string()}))
        return pjson.read_json(stream)


def _parent(source: str) -> str:
    if is_uri(source):
        scheme, _, rest = source.partition("://")
        return f"{scheme}://{PurePosixPath(rest).parent}"
    return str(Path(source).parent)


def _join(base: str, value: str) -> str:
    """A manifest row's path: a URI or absolute path as written, a relative one under the manifest's folder."""
    if is_uri(value) or os.path.isabs(value):
        return value
    if is_uri(base):
        return f"{base.rstrip('/')}/{value}"
    return str(Path(base) / value)


def _list_uri(uri: str) -> Iterator[str]:
    """A URI naming a file is itself; one naming a folder gives its files, recursively, sorted, no hidden ones."""
    fs, path = filesystem(uri)
    try:
        info = fs.get_file_info(path)
        if info.type != pafs.FileType.Directory:
            yield uri
            return
        infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot list {uri}: {exc}") from exc
    scheme = uri.partition("://")[0]
    root = path.rstrip("/")
    for entry in sorted(infos, key=lambda e: e.path):
        rel = entry.path[len(root):].lstrip("/")
        if entry.type == pafs.FileType.File and not any(p.startswith(".") for p in rel.split("/")):
            yield f"{scheme}://{entry.path}"


@contextlib.contextmanager
def local_copy(source: str, max_bytes: int) -> Iterator[Path]:
    """A local path for a source: a local path or `file://` URI as it is, any other URI copied into a temporary
    file (at most `max_bytes` + 1 bytes, enough for the loader to refuse a file over the limit), removed after.

    Raises OSError when the source cannot be read.
    """
    if not is_uri(source):
        yield Path(source)
        return
    try:
        fs, path = filesystem(source)
    except InputError as exc:
        raise OSError(str(exc)) from exc
    if isinstance(fs, pafs.LocalFileSystem):
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="unmask-fetch-") as tmp:
        local = Path(tmp) / (PurePosixPath(path).name or "input")
        try:
            with fs.open_input_stream(path) as src, local.open("wb") as dst:
                _copy_bounded(src, dst, max_bytes + 1)
        except pa.ArrowException as exc:
            raise OSError(f"cannot read {source}: {exc}") from exc
        yield local


def _copy_bounded(src: BinaryIO, dst: BinaryIO, limit: int) -> None:
    left = limit
    while left > 0:
        chunk = src.read(min(COPY_CHUNK, left))
        if not chunk:
            return
        dst.write(chunk)
        left -= len(chunk)
