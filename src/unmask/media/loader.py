"""`load()`: bytes or a path in, a typed Media out. Content decides the kind; limits are enforced first."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..errors import LimitExceeded, MediaError, UnsupportedMedia
from ..limits import DEFAULT_LIMITS, Limits
from .audio import probe_audio
from .base import Media
from .image import decode_image
from .sniff import HEAD_BYTES, looks_like_text, sniff, sniff_text
from .text import PostMedia, TextMedia, decode_text, parse_post, post_image_refs, resolve_ref
from .video import open_container, probe_video

_IN_MEMORY_KINDS = ("image", "unknown")
_WAV_HEAD = 1 << 16


def load(source: str | os.PathLike | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Media:
    """Load media from a path or raw bytes. Raises a `MediaError` subclass with a reason on bad input."""
    if isinstance(source, bytes | bytearray | memoryview):
        return _from_bytes(bytes(source), None, limits)
    return _from_path(Path(source), limits)


def _from_path(path: Path, limits: Limits) -> Media:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise MediaError(f"no such file: {path}", code="not_found") from exc
    except OSError as exc:
        raise MediaError(f"cannot access {path}: {exc.strerror}", code="unreadable") from exc
    if path.is_dir():
        raise MediaError(f"{path} is a directory (use --recursive to scan folders)", code="is_directory")
    if st.st_size > limits.max_bytes:
        raise LimitExceeded(f"file is {st.st_size / 2**20:.1f} MiB, above the {limits.max_bytes / 2**20:.0f} MiB limit")
    try:
        with path.open("rb") as f:
            head = f.read(_WAV_HEAD)
            kind = sniff(head).kind
            if kind in ("av", "audio", "video"):
                digest = hashlib.sha256(head)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
                return _streamed(path, head, st.st_size, digest.hexdigest(), limits)
            data = head + f.read()
    except PermissionError as exc:
        raise MediaError(f"permission denied reading {path}", code="unreadable") from exc
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}", code="unreadable") from exc
    return _from_bytes(data, path, limits)


def _base(path: Path | None, sha256: str, size: int) -> dict[str, Any]:
    return {"path": path, "sha256": sha256, "size_bytes": size}


def _from_bytes(data: bytes, path: Path | None, limits: Limits) -> Media:
    if not data:
        raise MediaError("file is empty (0 bytes)", code="empty")
    if len(data) > limits.max_bytes:
        raise LimitExceeded(f"input is {len(data) / 2**20:.1f} MiB, above the limit")
    sha = hashlib.sha256(data).hexdigest()
    sniffed = sniff(data[:HEAD_BYTES])
    base = _base(path, sha, len(data))
    if sniffed.kind == "image":
        return decode_image(data, sniffed.format, limits, base)
    if sniffed.kind in ("av", "audio", "video"):
        return _streamed(data, data[:_WAV_HEAD], len(data), sha, limits, path=path)
    return _text_or_post(data, path, limits, base)


def _streamed(source: Path | bytes, head: bytes, size: int, sha: str, limits: Limits,
              path: Path | None = None) -> Media:
    """Audio and video: keep a path (or the bytes) and probe the streams without decoding everything."""
    sniffed = sniff(head[:HEAD_BYTES])
    base = _base(path if isinstance(source, bytes) else source, sha, size)
    if sniffed.kind == "audio":
        return probe_audio(source, head, size, limits, base, sniffed.format)
    container = open_container(source)
    with container:
        if container.streams.video:
            return probe_video(container, source, limits, base, sniffed.format)
        if not container.streams.audio:
            raise MediaError(f"{sniffed.format.upper()} container holds neither video nor audio streams")
    return probe_audio(source, head, size, limits, base, sniffed.format)


def _text_or_post(data: bytes, path: Path | None, limits: Limits, base: dict[str, Any]) -> Media:
    if not looks_like_text(data):
        raise UnsupportedMedia(
            f"unrecognised content (first bytes {data[:8].hex(' ')}); not an image, video, audio or text file"
        )
    text = decode_text(data)
    if len(text) > limits.max_text_chars:
        raise LimitExceeded(f"text has {len(text)} characters, above the {limits.max_text_chars} limit")
    sniffed = sniff_text(text)
    if sniffed.kind == "text":
        return TextMedia(**base, format=sniffed.format, text=text)
    return _post(parse_post(text), path, limits, base)


def _post(obj: dict[str, Any], path: Path | None, limits: Limits, base: dict[str, Any]) -> PostMedia:
    images, refs, notes = [], [], []
    base_dir = path.parent if path else None
    for ref in post_image_refs(obj):
        local = resolve_ref(ref, base_dir)
        if local is None:
            refs.append(ref)
            continue
        try:
            media = _from_path(local, limits)
        except MediaError as exc:
            notes.append(f"post image {ref!r} could not be loaded: {exc}")
            refs.append(ref)
            continue
        if media.kind == "image":
            images.append(media)
        else:
            notes.append(f"post attachment {ref!r} is {media.kind}, not an image; ignored")
    extra = {k: v for k, v in obj.items() if k not in ("text", "images", "image")}
    return PostMedia(**base, format="json", text=obj["text"], images=images, image_refs=refs,
                     fields=extra, warnings=notes)
