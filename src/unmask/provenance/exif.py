"""Raw EXIF access the decoded metadata dict cannot give: the UserComment text in its declared encoding, and
the IFD1 JPEG thumbnail. Both are bounded and fail soft (None) on malformed or hostile EXIF.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np

MAX_THUMBNAIL_BYTES = 512 * 1024
MAX_THUMBNAIL_SIDE = 1024
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286


def open_header(data: bytes) -> Any:
    """Pillow image with only the header parsed (no pixel decoding), or None."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(io.BytesIO(data))
    except Exception:
        return None


def _exif(im: Any) -> Any:
    if im is None or (im.format == "PNG" and "exif" not in im.info):
        return None  # Pillow would decode the whole PNG to look for an eXIf chunk after the pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about every corrupt tag
            return im.getexif()
    except Exception:  # Pillow raises many types on hostile EXIF
        return None


def decode_user_comment(raw: bytes | str | None) -> str | None:
    """EXIF UserComment: 8-byte character code then text (ASCII, UNICODE = UTF-16, JIS, or undefined)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw.strip("\x00 ") or None
    head, body = raw[:8], raw[8:]
    if head.startswith(b"UNICODE"):
        be, le = body.decode("utf-16-be", "replace"), body.decode("utf-16-le", "replace")
        text = be if sum(c.isascii() for c in be) >= sum(c.isascii() for c in le) else le
    elif head.startswith(b"JIS"):
        text = body.decode("shift_jis", "replace")
    else:
        text = (body if head.startswith(b"ASCII") or head == b"\x00" * 8 else raw).decode("utf-8", "replace")
    text = text.strip("\x00 \r\n")
    return text[:200_000] or None


def user_comment(im: Any) -> str | None:
    exif = _exif(im)
    if exif is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return decode_user_comment(exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT))
    except Exception:
        return None


def _tiff_bytes(im: Any) -> bytes | None:
    raw = im.info.get("exif") if im is not None else None
    if not isinstance(raw, bytes | bytearray):
        return None
    raw = bytes(raw)
    return raw[6:] if raw.startswith(b"Exif\x00\x00") else raw


def thumbnail(im: Any) -> np.ndarray | None:
    """The IFD1 JPEG thumbnail as RGB uint8, or None when absent, oversized or undecodable."""
    from PIL import ExifTags, Image

    exif, tiff = _exif(im), _tiff_bytes(im)
    if exif is None or tiff is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
        offset, length = int(ifd1.get(0x0201, 0)), int(ifd1.get(0x0202, 0))
    except Exception:
        return None
    if not (0 < length <= MAX_THUMBNAIL_BYTES and offset > 0 and offset + length <= len(tiff)):
        return None
    blob = tiff[offset: offset + length]
    if not blob.startswith(b"\xff\xd8"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            thumb = Image.open(io.BytesIO(blob))
            if max(thumb.size) > MAX_THUMBNAIL_SIDE or min(thumb.size) < 8:
                return None
            return np.asarray(thumb.convert("RGB"))
    except Exception:
        return None
