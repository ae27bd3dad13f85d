"""`load()`: bytes or a path in, a typed Media out. Content decides the kind; limits are enforced first."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from ..errors import LimitExceeded, MediaError, UnsupportedMedia
from ..limits import DEFAULT_LIMITS, Limits
from .audio import probe_audio
from .base import Media
from .image import ImageMedia, decode_image
from .sniff import HEAD_BYTES, looks_like_text, sniff, sniff_text, unicode_bom
from .text import PostMedia, TextMedia, decode_text, parse_post, post_image_refs, resolve_ref
from .video import open_container, probe_video

_HEAD = 1 << 16  # enough for sniffing and for walking a WAV header's chunks
_STREAMED_KINDS = ("av", "audio", "video")
MAX_POST_IMAGES = 32
_FILE_TYPES = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device"}


def load(source: str | os.PathLike | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Media:
    """Load media from a path or raw bytes. Raises a `MediaError` subclass with a reason on bad input."""
    if isinstance(source, bytes | bytearray | memoryview):
        return _from_bytes(bytes(source), None, limits)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"load() takes a path or bytes, not {type(source).__name__}")
    return _from_path(Path(source), limits)


def _stat_regular(path: Path, limits: Limits) -> os.stat_result:
    """stat() the path and refuse anything but a regular file within the byte limit (FIFOs would block)."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        what = "broken symlink" if path.is_symlink() else "no such file"
        raise MediaError(f"{what}: {path}", code="not_found") from exc
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise MediaError(f"cannot access {str(path)!r}: {getattr(exc, 'strerror', None) or exc}",
                         code="unreadable") from exc
    if stat.S_ISDIR(st.st_mode):
        raise MediaError(f"{path} is a directory, not a file (scan folders with --recursive)", code="is_directory")
    if not stat.S_ISREG(st.st_mode):
        what = _FILE_TYPES.get(stat.S_IFMT(st.st_mode), "not a regular file")
        raise MediaError(f"{path} is {what}, not a regular file", code="not_regular_file")
    if st.st_size > limits.max_bytes:
        raise LimitExceeded(f"file is {st.st_size:,} bytes, above the {limits.max_bytes:,}-byte limit")
    return st


def _from_path(path: Path, limits: Limits) -> Media:
    st = _stat_regular(path, limits)
    try:
        with path.open("rb") as f:
            head = f.read(_HEAD)
            if sniff(head).kind in _STREAMED_KINDS:
                return _streamed(path, head, st.st_size, _hash_rest(f, head), limits)
            data = head + f.read(limits.max_bytes + 1 - len(head))
    except PermissionError as exc:
        raise MediaError(f"permission denied reading {path}", code="unreadable") from exc
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}", code="unreadable") from exc
    return _from_bytes(data, path, limits)


def _hash_rest(f: Any, head: bytes) -> str:
    """SHA-256 of the whole file, streaming the part after `head` (audio/video are not held in memory)."""
    digest = hashlib.sha256(head)
    for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _base(path: Path | None, sha256: str, size: int) -> dict[str, Any]:
    return {"path": path, "sha256": sha256, "size_bytes": size}


def _from_bytes(data: bytes, path: Path | None, limits: Limits) -> Media:
    if not data:
        raise MediaError("file is empty (0 bytes)", code="empty")
    if len(data) > limits.max_bytes:
        raise LimitExceeded(f"input is {len(data):,} bytes, above the {limits.max_bytes:,}-byte limit")
    sha = hashlib.sha256(data).hexdigest()
    sniffed = sniff(data[:_HEAD])
    base = _base(path, sha, len(data))
    if sniffed.kind == "image":
        return decode_image(data, sniffed.format, limits, base)
    if sniffed.kind in _STREAMED_KINDS:
        return _streamed(data, data[:_HEAD], len(data), sha, limits, path=path)
    return _text_or_post(data, path, limits, base)


def _streamed(source: Path | bytes, head: bytes, size: int, sha: str, limits: Limits,
              path: Path | None = None) -> Media:
    """Audio and video: keep a path (or the bytes) and probe the streams without decoding everything."""
    sniffed = sniff(head)
    base = _base(path if isinstance(source, bytes) else source, sha, size)
    if sniffed.kind == "audio":
        return probe_audio(source, head, size, limits, base, sniffed.format)
    with open_container(source) as container:
        if container.streams.video:
            return probe_video(container, source, limits, base, sniffed.format)
        if not container.streams.audio:
            raise MediaError(f"{sniffed.format.upper()} container holds neither video nor audio streams",
                             code="corrupt")
    fmt = "m4a" if sniffed.format == "mp4" else sniffed.format  # an audio-only MP4 is an M4A
    return probe_audio(source, head, size, limits, base, fmt)


def _text_or_post(data: bytes, path: Path | None, limits: Limits, base: dict[str, Any]) -> Media:
    bom = unicode_bom(data)
    if bom:
        raise MediaError(f"text is encoded as {bom}; re-save it as UTF-8", code="encoding")
    if not looks_like_text(data):
        raise UnsupportedMedia(
            f"unrecognised content (first bytes {data[:8].hex(' ')}); not an image, video, audio or text file"
        )
    text = decode_text(data)
    if len(text) > limits.max_text_chars:
        raise LimitExceeded(f"text has {len(text):,} characters, above the {limits.max_text_chars:,} limit")
    sniffed = sniff_text(text)
    if sniffed.kind == "text":
        return TextMedia(**base, format=sniffed.format, text=text)
    return _post(parse_post(text), path, limits, base)


def _post(obj: dict[str, Any], path: Path | None, limits: Limits, base: dict[str, Any]) -> PostMedia:
    """A post's local images are loaded (only from the post's folder); URLs are kept as references."""
    images: list[ImageMedia] = []
    refs: list[str] = []
    notes: list[str] = []
    base_dir = path.parent if path else None
    for ref in post_image_refs(obj):
        if len(images) >= MAX_POST_IMAGES:
            notes.append(f"post image {ref!r} not loaded: only {MAX_POST_IMAGES} images are analysed per post")
            refs.append(ref)
            continue
        local = resolve_ref(ref, base_dir)
        if isinstance(local, str):  # a local path that cannot be used: say why in the report
            notes.append(local)
        image = _attachment(ref, local, limits, notes) if isinstance(local, Path) else None
        if image is None:
            refs.append(ref)
        else:
            images.append(image)
    extra = {k: v for k, v in obj.items() if k not in ("text", "images", "image")}
    return PostMedia(**base, format="json", text=obj["text"], images=images, image_refs=refs,
                     fields=extra, warnings=notes)


def _attachment(ref: str, local: Path, limits: Limits, notes: list[str]) -> ImageMedia | None:
    """Load one post image; anything that is not an image (another post, a video) is noted and skipped."""
    try:
        st = _stat_regular(local, limits)
        with local.open("rb") as f:
            head = f.read(HEAD_BYTES)
            sniffed = sniff(head)
            if sniffed.kind != "image":
                notes.append(f"post attachment {ref!r} is not an image; ignored")
                return None
            data = head + f.read(limits.max_bytes + 1 - len(head))
        base = _base(local, hashlib.sha256(data).hexdigest(), st.st_size)
        return decode_image(data, sniffed.format, limits, base)
    except MediaError as exc:
        notes.append(f"post image {ref!r} could not be loaded: {exc}")
    except OSError as exc:
        notes.append(f"post image {ref!r} could not be read: {exc.strerror or exc}")
    return None
