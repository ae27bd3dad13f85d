"""Identify a file's kind and format from its first bytes (magic numbers), never from its name."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

HEAD_BYTES = 64

_FTYP_AUDIO = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}
_FTYP_HEIF = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_RIFF = {b"WEBP": ("image", "webp"), b"WAVE": ("audio", "wav"), b"AVI ": ("video", "avi")}
_UNICODE_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16",
                 b"\xfe\xff": "UTF-16"}


@dataclass(frozen=True)
class Sniffed:
    """What the bytes say: `kind` is image|video|audio|av|text|post|unknown; `format` a short name.

    `av` means a container (MP4, Matroska, Ogg) whose streams decide between video and audio.
    """

    kind: str
    format: str


UNKNOWN = Sniffed("unknown", "unknown")


def sniff(head: bytes) -> Sniffed:
    """Classify binary formats from the first bytes. Text and posts are decided by `sniff_text`."""
    b = head[:HEAD_BYTES]
    if _is_bom_text(b):  # the UTF-16/32 LE mark `FF FE` also passes for an MP3 frame header
        return UNKNOWN
    for check in (_sniff_image, _sniff_container, _sniff_audio):
        found = check(b, head)
        if found is not None:
            return found
    return UNKNOWN


def _sniff_image(b: bytes, head: bytes) -> Sniffed | None:
    if b.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "jpeg")
    if b.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "png")
    if b[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "gif")
    if b[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "tiff")
    if _is_bmp(b):
        return Sniffed("image", "bmp")
    return None


def _is_bmp(b: bytes) -> bool:
    """'BM' alone is too weak (text can start with it): also require zero reserved bytes and a known DIB size."""
    if not b.startswith(b"BM") or len(b) < 18:
        return False
    reserved, dib_size = b[6:10], struct.unpack("<I", b[14:18])[0]
    return reserved == b"\x00" * 4 and dib_size in _BMP_DIB_SIZES


def _sniff_container(b: bytes, head: bytes) -> Sniffed | None:
    if b.startswith(b"RIFF") and len(b) >= 12 and b[8:12] in _RIFF:
        return Sniffed(*_RIFF[b[8:12]])
    if len(b) >= 12 and b[4:8] == b"ftyp":
        brand = b[8:12]
        if brand in _FTYP_HEIF:
            return Sniffed("image", "avif" if brand.startswith(b"avi") else "heic")
        if brand in _FTYP_AUDIO:
            return Sniffed("audio", "m4a")
        return Sniffed("av", "mov" if brand == b"qt  " else "mp4")
    if b.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("av", "webm" if b"webm" in head[:4096] else "mkv")
    if b.startswith(b"OggS\x00"):
        return Sniffed("av", "ogg")
    return None


def _sniff_audio(b: bytes, head: bytes) -> Sniffed | None:
    if b.startswith(b"fLaC"):
        return Sniffed("audio", "flac")
    if b.startswith(b"ID3") and len(b) >= 5 and b[3] in (2, 3, 4) and b[4] != 0xFF:
        return Sniffed("audio", "mp3")
    if len(b) >= 2 and b[0] == 0xFF and (b[1] & 0xE6) in (0xE2, 0xE4, 0xE6):
        return Sniffed("audio", "mp3")
    if len(b) >= 2 and b[0] == 0xFF and (b[1] & 0xF6) == 0xF0:
        return Sniffed("audio", "aac")
    return None


def unicode_bom(data: bytes) -> str | None:
    """The name of a UTF-16/32 byte-order mark at the start, if any (such text is not UTF-8)."""
    for bom in sorted(_UNICODE_BOMS, key=len, reverse=True):
        if data.startswith(bom):
            return _UNICODE_BOMS[bom]
    return None


def _is_bom_text(b: bytes) -> bool:
    """True for UTF-16/32 text with a byte-order mark (so the loader can say how to re-save it)."""
    bom = unicode_bom(b)
    if bom is None:
        return False
    unit = 4 if bom == "UTF-32" else 2
    try:
        text = b[:len(b) - len(b) % unit].decode(bom.lower(), "surrogatepass")
    except UnicodeDecodeError:  # UTF-32 code units beyond U+10FFFF: binary data
        return False
    printable = sum(1 for c in text if c.isprintable() or c in "\t\n\r\f")
    return printable / max(len(text), 1) > 0.95


def looks_like_text(data: bytes) -> bool:
    """True when the bytes are plausibly text in some encoding: no NUL and mostly printable."""
    sample = data[:8192]
    if not sample or b"\x00" in sample:
        return False
    printable = sum(1 for c in sample if c >= 0x20 or c in (9, 10, 12, 13))
    return printable / len(sample) > 0.95


def sniff_text(text: str) -> Sniffed:
    """A UTF-8 document is a social post when it is a JSON object with a `text` or an `images`/`image` field,
    else plain text.

    The post's fields are validated by the loader, so `{"text": 5}` is a malformed post, not a text file.
    """
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            return Sniffed("text", "txt")
        # a post (image-only allowed); one whose `text` is no string is refused later
        if isinstance(obj, dict) and ("text" in obj or "images" in obj or "image" in obj):
            return Sniffed("post", "json")
        return Sniffed("text", "json")
    return Sniffed("text", "txt")
