"""Still images: decoded pixels plus everything forensics needs from the file (bytes, metadata, JPEG tables)."""

from __future__ import annotations

import io
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin

from ..errors import LimitExceeded, MediaError, MissingDependency
from ..limits import Limits
from . import metadata
from .base import Media


@dataclass(eq=False)
class JpegInfo:
    """JPEG-specific facts: quantization tables in natural (row-major 8x8) order, chroma subsampling."""

    qtables: dict[int, np.ndarray]
    subsampling: str
    progressive: bool


@dataclass(eq=False)
class ImageMedia(Media):
    """A decoded still image. `rgb` holds the stored pixels (no EXIF rotation applied, so maps align)."""

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


_SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


def _jpeg_info(im: Image.Image) -> JpegInfo:
    """Pillow reports DQT tables already de-zigzagged; store them as natural-order 8x8 arrays."""
    tables = {}
    for idx, table in (getattr(im, "quantization", None) or {}).items():
        tables[int(idx)] = np.asarray(list(table), dtype=np.int32)[:64].reshape(8, 8)
    sampling = JpegImagePlugin.get_sampling(im)
    return JpegInfo(tables, _SUBSAMPLING.get(sampling, "other"), bool(im.info.get("progressive")))


def _open_pillow(data: bytes, fmt: str) -> Image.Image:
    if fmt in ("heic", "avif"):
        try:
            import pillow_heif
        except ImportError as exc:
            raise MissingDependency("pillow-heif", "image", "HEIC/AVIF images") from exc
        try:
            return pillow_heif.open_heif(io.BytesIO(data)).to_pillow()
        except Exception as exc:
            raise MediaError(f"HEIF/AVIF image could not be decoded: {exc}") from exc
    return Image.open(io.BytesIO(data))


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to 8-bit RGB; alpha is composited on white so hidden pixels don't leak."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 else 255.0
        gray = np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(canvas, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def decode_image(data: bytes, fmt: str, limits: Limits, base: dict[str, Any]) -> ImageMedia:
    """Decode image bytes fully (to catch truncation now, not inside a detector) and read all metadata."""
    notes: list[str] = []
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = _open_pillow(data, fmt)
        except Image.DecompressionBombError as exc:
            raise LimitExceeded(f"image declares too many pixels ({exc})") from exc
        except (MediaError, MissingDependency):
            raise
        except Exception as exc:
            raise MediaError(f"{fmt.upper()} header could not be read: {exc}") from exc
        w, h = im.size
        if w <= 0 or h <= 0:
            raise MediaError(f"image declares an empty size {w}x{h}")
        if w * h > limits.max_pixels:
            raise LimitExceeded(
                f"image declares {w}x{h} = {w * h / 1e6:.0f} MP, above the {limits.max_pixels / 1e6:.0f} MP "
                "limit (raise it with Limits(max_pixels=...) if this is a genuine large image)"
            )
        try:
            im.seek(0)
            im.load()
        except Exception as exc:
            reason = "truncated" if "truncat" in str(exc).lower() else "corrupt"
            raise MediaError(f"{fmt.upper()} pixel data is {reason}: {exc}") from exc
        rgb = _to_rgb(im)
    return ImageMedia(
        **base,
        format=fmt,
        data=data,
        rgb=np.ascontiguousarray(rgb),
        mode=im.mode,
        exif=metadata.read_exif(im, notes),
        xmp=metadata.read_xmp(im, limits.max_metadata_bytes, notes),
        iptc=metadata.read_iptc(im, notes) if fmt in ("jpeg", "tiff") else {},
        icc_profile=im.info.get("icc_profile"),
        png_text=metadata.read_png_text(im, notes) if fmt == "png" else {},
        jpeg=_jpeg_info(im) if fmt == "jpeg" else None,
        n_frames=int(getattr(im, "n_frames", 1) or 1),
        warnings=notes,
    )
