"""A local index of pictures the user has, by perceptual hash, to find where a post re-uses one of them.

The commonest fake on MediaEval's Verifying Multimedia Use set is an old photo re-posted as new (Boididou et
al. 2018). A user who keeps an archive (earlier news photos, debunked pictures) builds an index from it with
`unmask index add DIR`; the `image_reuse` detector then looks each post picture up.

One SQLite file holds, per picture: its path, size, SHA-256, pixel size, EXIF capture date and camera, the
file's modification time, when it was first indexed, and its pHash and dHash (unmask.posts.phash). Lookup
compares the query against every row in memory (numpy, 16 bytes a picture: a million pictures is 16 MB and a
few milliseconds), so there is no approximate search to tune.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UnmaskError
from ..limits import DEFAULT_LIMITS, Limits
from ..media import ImageMedia, load
from . import dates, phash

FORMAT = "unmask-image-index"
FORMAT_VERSION = "1"
FILE_NAME = "image-index.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, taken TEXT, camera TEXT NOT NULL, mtime TEXT NOT NULL,
    first_seen TEXT NOT NULL, phash INTEGER NOT NULL, dhash INTEGER NOT NULL);
"""
_COLUMNS = "path, size, sha256, width, height, taken, camera, mtime, first_seen, phash, dhash"


class IndexFileError(UnmaskError):
    """The index file is missing, unreadable, or not an unmask image index."""

    code = "index_error"


def default_index_path() -> Path:
    """`$UNMASK_CACHE/image-index.sqlite`, else `~/.cache/unmask/image-index.sqlite` (as the Whisper cache)."""
    root = os.environ.get("UNMASK_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "unmask") / FILE_NAME


@dataclass(frozen=True)
class IndexedImage:
    """One indexed picture."""

    path: str
    size: int
    sha256: str
    width: int
    height: int
    taken: dt.datetime | None
    camera: str
    mtime: dt.datetime
    first_seen: dt.datetime
    hashes: phash.ImageHashes


@dataclass(frozen=True)
class Match:
    """An indexed picture close to a query, with both hash distances and whether it matched mirrored."""

    image: IndexedImage
    phash_distance: int
    dhash_distance: int
    mirrored: bool = False


@dataclass
class AddResult:
    """What `ImageIndex.add` did: files added, updated, unchanged, skipped (with the reason)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class IndexInfo:
    path: Path
    images: int
    with_dates: int
    oldest: dt.datetime | None
    newest: dt.datetime | None
    bytes_on_disk: int


def _signed(value: int) -> int:
    """SQLite integers are signed 64-bit: store the hash's bit pattern."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


class ImageIndex:
    """An open index file. Use as a context manager, or call `close`."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False) -> None:
        """Open the index at `path`; `create` makes a new one there (and its folder) when there is none."""
        self.path = Path(path).expanduser()
        if not create and not self.path.is_file():
            raise IndexFileError(f"no image index at {self.path}: build one with `unmask index add DIR "
                                 f"--index {self.path}`")
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexFileError(f"cannot create the folder of the index {self.path}: "
                                     f"{exc.strerror or exc}") from exc
        try:
            # a detector may be built in one thread and run in another; each search is one read
            self._db = sqlite3.connect(self.path, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._bad(exc) from exc
        try:
            self._check_or_init(create)
        except sqlite3.Error as exc:
            self._db.close()
            raise self._bad(exc) from exc
        except IndexFileError:
            self._db.close()
            raise
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _bad(self, exc: Exception) -> IndexFileError:
        return IndexFileError(f"{self.path} is not a readable unmask image index ({exc}); remove it and build it "
                              f"again with `unmask index add DIR --index {self.path}`")

    def _check_or_init(self, create: bool) -> None:
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables and create:
            with self._db:
                self._db.executescript(_SCHEMA)
                self._db.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("format", FORMAT), ("version", FORMAT_VERSION),
                    ("hashes", f"phash<={phash.PHASH_MAX},dhash<={phash.DHASH_MAX}")])
            return
        meta = dict(self._db.execute("SELECT key, value FROM meta")) if "meta" in tables else {}
        if meta.get("format") != FORMAT or "images" not in tables:
            raise IndexFileError(f"{self.path} is not an unmask image index (it has no '{FORMAT}' header); "
                                 "give another --index path, or remove the file to start a new index")
        if meta.get("version") != FORMAT_VERSION:
            raise IndexFileError(f"{self.path} is an image index of format version {meta.get('version')}, this "
                                 f"unmask reads version {FORMAT_VERSION}: build it again with `unmask index add`")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ImageIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM images")[0][0])

    def _write(self, sql: str, args: tuple) -> int:
        """Run one change and commit it; the rows it changed."""
        try:
            with self._db:
                return self._db.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise IndexFileError(f"cannot write the image index {self.path}: {exc}") from exc

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._bad(exc) from exc

    def add(self, sources: Iterable[str | os.PathLike], *, recursive: bool = False,
            limits: Limits = DEFAULT_LIMITS, now: dt.datetime | None = None,
            on_file: Callable[[Path], None] | None = None) -> AddResult:
        """Index picture files and the pictures in folders (sub-folders with `recursive`). A file indexed
        before is read again only when its size or modification time changed; files that are not pictures,
        cannot be read or are too plain to hash are skipped with the reason. Each file is committed as
        it is added, so an interrupted run keeps what it indexed. `on_file` is called after each file."""
        result = AddResult()
        seen = (now or dt.datetime.now(dt.UTC).replace(tzinfo=None)).replace(microsecond=0)
        for path in _files(sources, recursive, result):
            self._add_one(path, limits, seen, result)
            if on_file is not None:
                on_file(path)
        self._arrays = None
        return result

    def _add_one(self, path: Path, limits: Limits, seen: dt.datetime, result: AddResult) -> None:
        try:
            st = path.stat()
        except OSError as exc:
            result.skipped.append((str(path), exc.strerror or str(exc)))
            return
        mtime = _iso(dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).replace(tzinfo=None, microsecond=0))
        old = self._query("SELECT size, mtime, first_seen FROM images WHERE path = ?", (str(path),))
        if old and old[0][0] == st.st_size and old[0][1] == mtime:
            result.unchanged += 1
            return
        try:
            media = load(path, limits=limits)
        except UnmaskError as exc:
            result.skipped.append((str(path), str(exc)))
            return
        if not isinstance(media, ImageMedia):
            result.skipped.append((str(path), f"not a picture ({media.kind})"))
            return
        hashes = phash.image_hashes(media.rgb)
        if hashes.plain:
            result.skipped.append((str(path), "too plain to match reliably (nearly one colour)"))
            return
        shot = dates.capture(media)
        row = (str(path), st.st_size, media.sha256 or "", media.width, media.height, _iso(shot.when), shot.camera,
               mtime, old[0][2] if old else _iso(seen), _signed(hashes.phash), _signed(hashes.dhash))
        self._write(f"INSERT OR REPLACE INTO images ({_COLUMNS}) VALUES ({', '.join('?' * 11)})", row)
        if old:
            result.updated += 1
        else:
            result.added += 1

    def remove(self, target: str | os.PathLike) -> int:
        """Forget a file, or every file under a folder; returns how many entries were removed."""
        path = str(Path(target).expanduser().resolve())
        under = path.rstrip(os.sep) + os.sep
        removed = self._write("DELETE FROM images WHERE path = ? OR substr(path, 1, ?) = ?",
                              (path, len(under), under))
        self._arrays = None
        return removed

    def info(self) -> IndexInfo:
        count, with_dates, oldest, newest = self._query(
            "SELECT COUNT(*), COUNT(taken), MIN(taken), MAX(taken) FROM images")[0]
        return IndexInfo(path=self.path, images=count, with_dates=with_dates, oldest=_when(oldest),
                         newest=_when(newest), bytes_on_disk=self.path.stat().st_size)

    def search(self, query: phash.ImageHashes, *, mirrored: phash.ImageHashes | None = None,
               limit: int = 10) -> list[Match]:
        """Indexed pictures that match `query` (or its mirror image), closest first. A plain query matches
        nothing: its hash bits are noise."""
        if query.plain:
            return []
        ids, ph, dh = self._load()
        found: dict[int, tuple[int, int, bool]] = {}
        for hashes, flipped in ((query, False), (mirrored, True)):
            if hashes is None or ids.size == 0:
                continue
            dp, dd = phash.hamming_many(ph, hashes.phash), phash.hamming_many(dh, hashes.dhash)
            for i in np.flatnonzero((dp <= phash.PHASH_MAX) & (dd <= phash.DHASH_MAX)):
                key = int(ids[i])
                if key not in found or (dp[i], dd[i]) < found[key][:2]:
                    found[key] = (int(dp[i]), int(dd[i]), flipped)
        best = sorted(found.items(), key=lambda kv: (kv[1][0] + kv[1][1], kv[1][2], kv[0]))[:limit]
        return [Match(self._row(key), p, d, flipped) for key, (p, d, flipped) in best]

    def _load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            rows = self._query("SELECT id, phash, dhash FROM images")
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            ph = np.array([_unsigned(r[1]) for r in rows], dtype=np.uint64)
            dh = np.array([_unsigned(r[2]) for r in rows], dtype=np.uint64)
            self._arrays = (ids, ph, dh)
        return self._arrays

    def _row(self, key: int) -> IndexedImage:
        return _image(self._query(f"SELECT {_COLUMNS} FROM images WHERE id = ?", (key,))[0])

    def images(self) -> Iterator[IndexedImage]:
        """Every indexed picture, in path order."""
        for row in self._query(f"SELECT {_COLUMNS} FROM images ORDER BY path"):
            yield _image(row)


def _image(row: tuple) -> IndexedImage:
    path, size, sha, width, height, taken, camera, mtime, first_seen, ph, dh = row
    return IndexedImage(path=path, size=size, sha256=sha, width=width, height=height, taken=_when(taken),
                        camera=camera, mtime=_when(mtime) or dt.datetime.min, first_seen=_when(first_seen)
                        or dt.datetime.min, hashes=phash.ImageHashes(_unsigned(ph), _unsigned(dh)))


def _files(sources: Iterable[str | os.PathLike], recursive: bool, result: AddResult) -> Iterator[Path]:
    """Regular files named or inside the folders named, in sorted order; hidden entries are left out."""
    for source in sources:
        path = Path(source).expanduser()
        if path.is_file():
            yield path.resolve()
        elif path.is_dir():
            yield from _walk(path.resolve(), recursive, result, set())
        else:
            result.skipped.append((str(path), "no such file or folder" if not path.exists() else
                                   "not a regular file or folder"))


def _walk(folder: Path, recursive: bool, result: AddResult, visited: set[Path]) -> Iterator[Path]:
    if folder in visited:
        return
    visited.add(folder)
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        result.skipped.append((str(folder), exc.strerror or str(exc)))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            yield entry.resolve()
        elif entry.is_dir() and recursive:
            yield from _walk(entry.resolve(), recursive, result, visited)
