"""Defensive readers for EXIF, XMP, IPTC, ICC and PNG text: malformed metadata becomes a warning, never a crash."""

from __future__ import annotations

import contextlib
import struct
import warnings as _warnings
import zlib
from collections.abc import Iterator
from typing import Any

from PIL import ExifTags, Image, IptcImagePlugin

from ..errors import reason

_MAX_VALUE_CHARS = 4096
_IPTC_NAMES = {
    (2, 5): "ObjectName", (2, 25): "Keywords", (2, 40): "SpecialInstructions", (2, 55): "DateCreated",
    (2, 80): "Byline", (2, 90): "City", (2, 101): "Country", (2, 105): "Headline", (2, 110): "Credit",
    (2, 115): "Source", (2, 116): "CopyrightNotice", (2, 120): "Caption", (2, 65): "OriginatingProgram",
    (2, 70): "ProgramVersion",
}
_SUB_IFDS = {"Exif": ExifTags.IFD.Exif, "GPS": ExifTags.IFD.GPSInfo, "Interop": ExifTags.IFD.Interop}
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_SUB_IFD_POINTERS = {(0x8769, "IFD0"): "Exif IFD", (0x8825, "IFD0"): "GPS IFD", (0xA005, "Exif IFD"): "Interop IFD"}
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _plain(value: Any) -> Any:
    """Turn an EXIF value into JSON-friendly data, bounded in size."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace").rstrip("\x00")
        return text[:_MAX_VALUE_CHARS]
    if isinstance(value, str):
        return value.rstrip("\x00")[:_MAX_VALUE_CHARS]
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value[:64]]
    if isinstance(value, int | float | bool) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return str(value)[:_MAX_VALUE_CHARS]


@contextlib.contextmanager
def warnings_as_notes(notes: list[str], where: str) -> Iterator[None]:
    """Collect Python warnings raised inside (Pillow warns on corrupt EXIF) as notes instead of letting them
    escape to the caller's warning filters. DecompressionBombWarning is dropped: pixel limits are ours."""
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                if not issubclass(w.category, Image.DecompressionBombWarning):
                    note = f"{where}: {str(w.message).strip()}"
                    if note not in notes:
                        notes.append(note)


def exif_problem(raw: bytes) -> str | None:
    """Why a raw EXIF block (TIFF structure, optionally after 'Exif\\0\\0') is malformed, or None if sound.

    Pillow skips what it cannot parse without saying so; this walk of IFD0 and its Exif/GPS/Interop
    sub-IFDs checks the byte-order mark, magic number and that every offset stays inside the block.
    """
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    if len(tiff) < 8:
        return f"EXIF block is only {len(tiff)} bytes long"
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return f"EXIF block has no TIFF byte-order mark (found {tiff[:2]!r})"
    magic, offset = struct.unpack(order + "HI", tiff[2:8])
    if magic != 42:
        return f"EXIF TIFF header has magic number {magic}, not 42"
    problem, pointers = _ifd_problem(tiff, order, offset, "IFD0")
    for name, sub in pointers:
        problem = problem or _ifd_problem(tiff, order, sub, name)[0]
    return problem


def _ifd_problem(tiff: bytes, order: str, offset: int, name: str) -> tuple[str | None, list[tuple[str, int]]]:
    """Check one IFD's bounds; return a problem (or None) and the sub-IFD pointers it holds."""
    if offset < 8 or offset + 2 > len(tiff):
        return f"EXIF {name} offset {offset} lies outside the {len(tiff)}-byte block", []
    count = struct.unpack(order + "H", tiff[offset:offset + 2])[0]
    if offset + 2 + 12 * count > len(tiff):
        return f"EXIF {name} declares {count} entries, more than the block can hold", []
    pointers = []
    for i in range(count):
        start = offset + 2 + 12 * i
        tag, typ, n, value = struct.unpack(order + "HHII", tiff[start:start + 12])
        size = _TIFF_TYPE_SIZES.get(typ, 1) * n
        if size > 4 and value + size > len(tiff):
            return f"EXIF {name} tag {tag:#06x} points {size} bytes at offset {value}, outside the block", []
        if (tag, name) in _SUB_IFD_POINTERS:
            pointers.append((_SUB_IFD_POINTERS[tag, name], value))
    return None, pointers


def read_exif(im: Image.Image, warnings: list[str]) -> dict[str, Any]:
    """EXIF as {tag name: value}, with the Exif/GPS/Interop sub-IFDs flattened under their own prefixes."""
    out: dict[str, Any] = {}
    raw = im.info.get("exif")
    problem = exif_problem(raw) if isinstance(raw, bytes) and raw else None
    if problem:
        warnings.append(f"EXIF is malformed ({problem}); its values may be missing or wrong")
    try:
        with warnings_as_notes(warnings, "EXIF"):  # Pillow warns 'Corrupt EXIF data' as it parses
            _flatten_exif(im.getexif(), out)
    except Exception as exc:  # Pillow raises many types on hostile EXIF
        warnings.append(f"EXIF could not be fully parsed ({type(exc).__name__}: {reason(exc)}); it may be malformed")
    for k in ("ExifOffset", "GPSInfo", "InteroperabilityOffset"):
        out.pop(k, None)
    return out


def _flatten_exif(exif: Image.Exif, out: dict[str, Any]) -> None:
    for tag, value in exif.items():
        out[ExifTags.TAGS.get(tag, f"Tag{tag:#06x}")] = _plain(value)
    for prefix, ifd in _SUB_IFDS.items():
        if ifd not in exif:
            continue
        names = ExifTags.GPSTAGS if prefix == "GPS" else ExifTags.TAGS
        for tag, value in exif.get_ifd(ifd).items():
            key = names.get(tag, f"Tag{tag:#06x}")
            out[key if prefix == "Exif" else f"{prefix}.{key}"] = _plain(value)


def read_xmp(im: Image.Image, png_text: dict[str, str], limit: int, warnings: list[str]) -> str | None:
    """The XMP packet from a JPEG APP1, WebP/TIFF/HEIF box, or a PNG iTXt chunk, if within the size limit."""
    raw = im.info.get("xmp") or png_text.get("XML:com.adobe.xmp") or im.info.get("XML:com.adobe.xmp")
    if not raw:
        return None
    if len(raw) > limit:
        warnings.append(f"XMP packet of {len(raw)} bytes is larger than the {limit}-byte limit; ignored")
        return None
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def read_iptc(im: Image.Image, warnings: list[str]) -> dict[str, Any]:
    try:
        info = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception as exc:
        warnings.append(f"IPTC block could not be parsed ({type(exc).__name__}); it may be malformed")
        return {}
    out: dict[str, Any] = {}
    for key, value in info.items():
        name = _IPTC_NAMES.get(key, f"{key[0]}:{key[1]}")
        out[name] = _plain(value) if not isinstance(value, list) else [_plain(v) for v in value]
    return out


def png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, body) of each PNG chunk up to IEND; stops quietly at a chunk that runs past the end."""
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        if pos + 12 + length > len(data):
            return
        yield ctype, data[pos + 8:pos + 8 + length]
        if ctype == b"IEND":
            return
        pos += 12 + length


def strip_png_text(data: bytes) -> bytes:
    """The PNG without its text chunks (for decoding pixels when a text chunk is hostile)."""
    out, pos = [data[:len(_PNG_SIGNATURE)]], len(_PNG_SIGNATURE)
    for ctype, body in png_chunks(data):
        end = pos + 12 + len(body)
        if ctype not in _PNG_TEXT_CHUNKS:
            out.append(data[pos:end])
        pos = end
    out.append(data[pos:])
    return b"".join(out)


def read_png_text(data: bytes, limit: int, warnings: list[str]) -> dict[str, str]:
    """tEXt/zTXt/iTXt chunks (where generators such as Stable Diffusion web UIs write their parameters).

    Compressed chunks are inflated with a bound, so a zTXt decompression bomb becomes a warning.
    """
    out: dict[str, str] = {}
    budget = limit
    for ctype, body in png_chunks(data):
        if ctype not in _PNG_TEXT_CHUNKS:
            continue
        try:
            key, value = _png_text_chunk(ctype, body, budget)
        except ValueError as exc:
            keyword = body.split(b"\x00", 1)[0][:79].decode("latin-1")
            warnings.append(f"PNG {ctype.decode()} chunk {keyword!r} skipped: {exc}")
            continue
        budget -= len(value)
        out.setdefault(key[:256], value)
    return out


def _png_text_chunk(ctype: bytes, body: bytes, budget: int) -> tuple[str, str]:
    if b"\x00" not in body:
        raise ValueError("no keyword terminator")
    key_raw, rest = body.split(b"\x00", 1)
    key = key_raw.decode("latin-1")
    if ctype == b"tEXt":
        return key, _bounded(rest, budget).decode("latin-1")
    if ctype == b"zTXt":
        return key, _inflate(rest[1:], budget).decode("latin-1")
    if len(rest) < 2 or rest[2:].count(b"\x00") < 2:
        raise ValueError("truncated iTXt header")
    compressed, (_lang, _translated, text) = rest[0], rest[2:].split(b"\x00", 2)
    raw = _inflate(text, budget) if compressed else _bounded(text, budget)
    return key, raw.decode("utf-8", "replace")


def _bounded(raw: bytes, budget: int) -> bytes:
    if len(raw) > budget:
        raise ValueError(f"holds {len(raw)} bytes, above the metadata limit")
    return raw


def _inflate(blob: bytes, budget: int) -> bytes:
    """zlib-inflate at most `budget` bytes; more than that is treated as a decompression bomb."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(blob, max(budget, 0) + 1)
    except zlib.error as exc:
        raise ValueError(f"compressed text is corrupt ({exc})") from exc
    if len(out) > budget:
        raise ValueError(f"decompresses to more than {budget} bytes (a decompression bomb?)")
    return out
