"""Helpers the adapters share: file walking, label words, relative paths, JSON/CSV reading, video groups."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..manifest import ManifestError

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".heic", ".avif"}
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
AUDIO_EXTS = {".flac", ".wav", ".mp3", ".ogg", ".m4a"}
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "dev",
    "test": "test",
    "eval": "eval",
    "testing": "test",
}


def files(folder: Path, exts: set[str], recursive: bool = True) -> Iterator[Path]:
    """Files with one of `exts` (case-insensitive) under `folder`, sorted, hidden ones skipped."""
    if not folder.is_dir():
        return iter(())
    found = folder.rglob("*") if recursive else folder.iterdir()
    return iter(
        sorted(
            p
            for p in found
            if p.is_file()
            and p.suffix.lower() in exts
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
    )


def rel(path: Path, root: Path) -> str:
    """`path` relative to `root` in POSIX form (manifests are portable between systems)."""
    return path.relative_to(root).as_posix()


def require(path: Path, what: str) -> Path:
    """`path` if it exists, else a ManifestError saying which part of the layout is missing."""
    if not path.exists():
        raise ManifestError(f"{path}: not found ({what})")
    return path


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read JSON ({exc})") from None


def read_csv(path: Path, delimiter: str = ",", header: bool = True) -> list[dict[str, str]] | list[list[str]]:
    """Rows of a CSV/TSV as dicts (with a header) or lists; very long fields (tweet id lists) are allowed."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8-sig") as fh:
        if header:
            return list(csv.DictReader(fh, delimiter=delimiter))
        return list(csv.reader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE))


def split_name(word: str | None) -> str | None:
    """'training' -> 'train', 'validation' -> 'val', ...; None for a word that is not a split name."""
    return SPLIT_NAMES.get((word or "").lower())


def options_list(value: str | None) -> list[str]:
    """A comma-separated option value as a list of stripped, non-empty words."""
    return [w.strip() for w in (value or "").split(",") if w.strip()]


_FF_PAIR = re.compile(r"^(\d{3})_(\d{3})$")
_DFD_FAKE = re.compile(r"^(\d{2})_\d{2}__")
_DFD_REAL = re.compile(r"^(\d{2})__")
_CELEB_FAKE = re.compile(r"^(id\d+)_id\d+_(\d+)$")


def video_group(name: str) -> str:
    """The source video a face video was made from, so a fake and its original share a group.

    FaceForensics++ fakes are '<target>_<source>' (000_003 alters video 000): group = target id. DeepFake
    Detection fakes '01_02__scene__X' alter actor 01's scene: group = 'actor01'. Celeb-DF fakes
    'id0_id16_0000' alter Celeb-real/id0_0000: group = 'id0_0000'. Anything else is its own group.
    """
    stem = Path(name).stem
    for pattern, fmt in (
        (_FF_PAIR, "{0}"),
        (_DFD_FAKE, "actor{0}"),
        (_DFD_REAL, "actor{0}"),
        (_CELEB_FAKE, "{0}_{1}"),
    ):
        m = pattern.match(stem)
        if m:
            return fmt.format(*m.groups())
    return stem
