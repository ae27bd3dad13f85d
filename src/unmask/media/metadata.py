"""Defensive readers for EXIF, XMP, IPTC, ICC and PNG text: malformed metadata becomes a warning, never a crash."""

from __future__ import annotations

from typing import Any

from PIL import ExifTags, Image, IptcImagePlugin

_MAX_VALUE_CHARS = 4096
_IPTC_NAMES = {
    (2, 5): "ObjectName", (2, 25): "Keywords", (2, 40): "SpecialInstructions", (2, 55): "DateCreated",
    (2, 80): "Byline", (2, 90): "City", (2, 101): "Country", (2, 105): "Headline", (2, 110): "Credit",
    (2, 115): "Source", (2, 116): "CopyrightNotice", (2, 120): "Caption", (2, 65): "OriginatingProgram",
    (2, 70): "ProgramVersion",
}
_SUB_IFDS = {"Exif": ExifTags.IFD.Exif, "GPS": ExifTags.IFD.GPSInfo, "Interop": ExifTags.IFD.Interop}


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


def read_exif(im: Image.Image, warnings: list[str]) -> dict[str, Any]:
    """EXIF as {tag name: value}, with the Exif/GPS/Interop sub-IFDs flattened under their own prefixes."""
    out: dict[str, Any] = {}
    try:
        exif = im.getexif()
        for tag, value in exif.items():
            out[ExifTags.TAGS.get(tag, f"Tag{tag:#06x}")] = _plain(value)
        for prefix, ifd in _SUB_IFDS.items():
            if ifd not in exif:
                continue
            names = ExifTags.GPSTAGS if prefix == "GPS" else ExifTags.TAGS
            for tag, value in exif.get_ifd(ifd).items():
                key = names.get(tag, f"Tag{tag:#06x}")
                out[key if prefix == "Exif" else f"{prefix}.{key}"] = _plain(value)
    except Exception as exc:  # Pillow raises many types on hostile EXIF
        warnings.append(f"EXIF could not be fully parsed ({type(exc).__name__}: {exc}); it may be malformed")
    for k in ("ExifOffset", "GPSInfo", "InteroperabilityOffset"):
        out.pop(k, None)
    return out


def read_xmp(im: Image.Image, limit: int, warnings: list[str]) -> str | None:
    raw = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
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


def read_png_text(im: Image.Image, warnings: list[str]) -> dict[str, str]:
    """tEXt/zTXt/iTXt chunks (where generators such as Stable Diffusion web UIs write their parameters)."""
    try:
        text = getattr(im, "text", None) or {}
    except Exception as exc:  # e.g. a zTXt chunk that decompresses past Pillow's limit
        warnings.append(f"PNG text chunks could not be read ({type(exc).__name__}: {exc})")
        return {}
    return {str(k)[:256]: str(v) for k, v in text.items()}
