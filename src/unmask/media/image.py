"""Still images: decoded pixels plus everything forensics needs from the file (bytes, metadata, JPEG tables)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin, UnidentifiedImageError, features

from ..errors import LimitExceeded, MediaError, MissingDependency, reason
from ..limits import Limits
from . import metadata
from .base import Media

# The Pillow plugin allowed for each sniffed format, so a file is never parsed by a plugin it was not sniffed as.
_PILLOW_FORMATS = {"jpeg": ["JPEG"], "png": ["PNG"], "gif": ["GIF"], "tiff": ["TIFF"], "bmp": ["BMP"],
                   "webp": ["WEBP"], "avif": ["AVIF"]}
_SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
# What ends each format's data, for the message about a file cut short.
_END_MARKERS = {"jpeg": "the end-of-image marker", "png": "the IEND chunk", "gif": "the GIF trailer"}
# Below this many bytes no file of the format can hold a header and a pixel.
_MIN_BYTES = {"png": 67, "gif": 35, "bmp": 30, "tiff": 40, "webp": 26}
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(eq=False)
class JpegInfo:
    """JPEG-specific facts: quantization tables in natural (row-major 8x8) order, chroma subsampling."""

    qtables: dict[int, np.ndarray]
    subsampling: str
    progressive: bool


@dataclass(eq=False)
class ImageMedia(Media):
    """A decoded still image. `rgb` holds the stored pixels (no EXIF rotation applied, so maps align).

    Animated formats (GIF, APNG, WebP) keep their first frame; `n_frames` says how many there are.
    """

    data: bytes = field(repr=False, kw_only=True)
    rgb: np.ndarray = field(repr=False, kw_only=True)
    mode: str = field(kw_only=True)
    exif: dict[str, Any] = field(default_factory=dict, kw_only=True)
    xmp: str | None = field(default=None, kw_only=True)
    iptc: dict[str, Any] = field(default_factory=dict, kw_only=True)
    icc_profile: bytes | None = field(default=None, repr=False, kw_only=True)
    png_text: dict[str, str] = field(default_factory=dict, kw_only=True)
    jpeg: JpegInfo | None = field(default=None, kw_only=True)
    n_frames: int = field(default=1, kw_only=True)

    kind = "image"

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def info(self) -> dict[str, Any]:
        return {**super().info(), "width": self.width, "height": self.height}


def _jpeg_info(im: Image.Image) -> JpegInfo:
    """Pillow reports DQT tables already de-zigzagged; store them as natural-order 8x8 arrays."""
    tables = {}
    for idx, table in (getattr(im, "quantization", None) or {}).items():
        values = list(table)
        if len(values) >= 64:
            tables[int(idx)] = np.asarray(values[:64], dtype=np.int32).reshape(8, 8)
    layers = getattr(im, "layers", 0)
    sampling = "gray" if layers == 1 else _SUBSAMPLING.get(JpegImagePlugin.get_sampling(im), "other")
    return JpegInfo(tables, sampling, bool(im.info.get("progressive")))


def _check_pixels(w: int, h: int, limits: Limits) -> None:
    if w <= 0 or h <= 0:
        raise MediaError(f"image declares an empty size {w}x{h}", code="corrupt")
    if w * h > limits.max_pixels:
        raise LimitExceeded(
            f"image declares {w}x{h} = {w * h:,} pixels, above the {limits.max_pixels:,}-pixel limit "
            "(a decompression bomb, or a genuine large image: raise Limits(max_pixels=...) to allow it)"
        )


def _open_heif(data: bytes, limits: Limits) -> Image.Image:
    """HEIC via pillow-heif; the size is checked before the (expensive) decode."""
    try:
        import pillow_heif
    except ImportError as exc:
        raise MissingDependency("pillow-heif", "image", "HEIC images") from exc
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        _check_pixels(*heif.size, limits)
        return heif.to_pillow()
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(f"HEIC image could not be decoded: {reason(exc)}", code="corrupt") from exc


def _open_pillow(data: bytes, fmt: str, limits: Limits, notes: list[str]) -> Image.Image:
    """Open (header only) with the Pillow plugin for `fmt`; a hostile PNG text chunk is dropped and retried."""
    if fmt == "heic" or (fmt == "avif" and not features.check("avif")):
        return _open_heif(data, limits)
    try:
        return _pillow_header(data, fmt, notes, limits)
    except ValueError as exc:
        if fmt != "png" or "MAX_TEXT" not in str(exc):
            raise MediaError(f"{fmt.upper()} header could not be read: {reason(exc)}", code="corrupt") from exc
    notes.append("PNG text chunks exceed Pillow's safety limit; pixels decoded without them")
    try:
        return _pillow_header(metadata.strip_png_text(data), fmt, notes, limits)
    except ValueError as exc:
        raise MediaError(f"PNG header could not be read: {reason(exc)}", code="corrupt") from exc


def _pillow_header(data: bytes, fmt: str, notes: list[str], limits: Limits) -> Image.Image:
    """Image.open; Pillow's warnings (e.g. 'Corrupt EXIF data', read while opening a JPEG) become notes."""
    with metadata.warnings_as_notes(notes, f"{fmt.upper()} header"):
        try:
            return Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS.get(fmt))
        except Image.DecompressionBombError as exc:
            size = re.search(r"\((\d+) pixels\)", str(exc))
            declared = f"{int(size.group(1)):,} pixels" if size else "too many pixels"
            raise LimitExceeded(
                f"image declares {declared}, above the {limits.max_pixels:,}-pixel limit and Pillow's own "
                "decompression-bomb limit; it cannot be analysed") from exc
        except ValueError:
            raise
        except Exception as exc:
            raise _header_error(data, fmt, exc) from exc


def jpeg_header(data: bytes) -> tuple[tuple[int, int] | None, bool]:
    """Walk a JPEG's markers up to the scan data: ((width, height) from the frame header or None, and whether
    the header ends before the file does)."""
    pos, n, size = 2, len(data), None
    while pos < n:
        if data[pos] != 0xFF:
            return size, True  # not a marker: a malformed header, not a short one
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if marker == 0xD9:  # end of image before any scan
            return size, True
        if pos + 2 > n:
            break
        length = int.from_bytes(data[pos:pos + 2], "big")
        if marker in _JPEG_SOF and pos + 7 <= n:
            size = (int.from_bytes(data[pos + 5:pos + 7], "big"), int.from_bytes(data[pos + 3:pos + 5], "big"))
        if marker == 0xDA:  # start of scan: the header is complete once the scan header is
            return size, pos + length <= n
        pos += length
    return size, False


def _header_error(data: bytes, fmt: str, exc: Exception) -> MediaError:
    """Pillow could not read the header of bytes sniffed as `fmt`: say whether the file is cut short (and
    where), or malformed, in words and without Pillow's object reprs."""
    name, n = fmt.upper(), len(data)
    size, complete = jpeg_header(data) if fmt == "jpeg" else (None, n >= _MIN_BYTES.get(fmt, 0))
    if fmt != "jpeg" and "truncat" in str(exc).lower():
        complete = False
    if not complete and size is None:
        return MediaError(f"{name} file is too short to hold an image: {n:,} bytes, ending inside the header",
                          code="truncated")
    if not complete:
        return MediaError(f"{name} data is truncated: the file ends after {n:,} bytes, inside the header of a "
                          f"{size[0]}x{size[1]}-pixel image (the file was cut short)", code="truncated",
                          media={"width": size[0], "height": size[1]})
    if isinstance(exc, UnidentifiedImageError):
        return MediaError(f"{name} header is malformed: the file starts like a {name} but its header cannot be "
                          "read", code="corrupt")
    return MediaError(f"{name} header could not be read: {reason(exc)}", code="corrupt")


def _decode_first_frame(im: Image.Image, fmt: str, size: int = 0) -> np.ndarray:
    """Decode the pixels now (to catch truncation here, not inside a detector) and convert to RGB.

    `size` is the file's length in bytes, for the message when its data is cut short.
    """
    try:
        im.seek(0)
        im.load()
        return np.ascontiguousarray(_to_rgb(im))
    except Exception as exc:
        facts = {"width": im.size[0], "height": im.size[1]}
        if "truncat" in str(exc).lower():
            end = _END_MARKERS.get(fmt, "the end of its image data")
            raise MediaError(
                f"{fmt.upper()} data is truncated: the file ends after {size:,} bytes, before {end} "
                f"(the header, {im.size[0]}x{im.size[1]} pixels, is intact; the file was cut short, e.g. by an "
                "interrupted download or copy)", code="truncated", media=facts) from exc
        raise MediaError(f"{fmt.upper()} pixel data is corrupt: {reason(exc)}", code="corrupt",
                         media=facts) from exc


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to 8-bit RGB; alpha is composited on white so hidden pixels don't leak."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(canvas, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def _frame_count(im: Image.Image, notes: list[str]) -> int:
    try:
        return int(getattr(im, "n_frames", 1) or 1)
    except Exception as exc:  # a broken later frame of an animation; the first frame is already decoded
        notes.append(f"later frames of the animation could not be counted ({reason(exc)})")
        return 1


def decode_image(data: bytes, fmt: str, limits: Limits, base: dict[str, Any]) -> ImageMedia:
    """Decode image bytes fully and read all metadata; malformed metadata becomes a warning."""
    notes: list[str] = []
    try:
        with metadata.warnings_as_notes(notes, fmt.upper()):  # no Pillow warning escapes to the caller
            return _decode(data, fmt, limits, base, notes)
    except MediaError as exc:  # the content was sniffed as an image: the failed report says so
        exc.media = {"kind": "image", "format": fmt, **exc.media}
        raise


def _decode(data: bytes, fmt: str, limits: Limits, base: dict[str, Any], notes: list[str]) -> ImageMedia:
    im = _open_pillow(data, fmt, limits, notes)
    _check_pixels(*im.size, limits)
    rgb = _decode_first_frame(im, fmt, len(data))
    png_text = metadata.read_png_text(data, limits.max_metadata_bytes, notes) if fmt == "png" else {}
    return ImageMedia(
        **base,
        format=fmt,
        data=data,
        rgb=rgb,
        mode=im.mode,
        exif=metadata.read_exif(im, notes),
        xmp=metadata.read_xmp(im, png_text, limits.max_metadata_bytes, notes),
        iptc=metadata.read_iptc(im, notes) if fmt in ("jpeg", "tiff") else {},
        icc_profile=im.info.get("icc_profile") or None,
        png_text=png_text,
        jpeg=_jpeg_info(im) if fmt == "jpeg" else None,
        n_frames=_frame_count(im, notes),
        warnings=notes,
    )
