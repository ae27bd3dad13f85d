"""Image perturbations with Pillow and numpy: encoded image bytes in, encoded image bytes out.

Pixel ops (resize, fit, crop, blur, noise, gamma) write the input's format back: a JPEG is re-encoded with its
own quantization tables and chroma subsampling (so it gains one more compression at the same quality rather
than a new one), a WebP losslessly, and anything else as PNG. They keep the input's EXIF and ICC profile, as an
editor's "save" does; `strip` removes metadata without touching pixels, and the platform chains end with it.
Pixels are the stored ones (EXIF orientation is not applied); alpha and 16-bit depth are not kept.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin

from .spec import Op, Param, register, target_size

FILTERS = ("nearest", "box", "bilinear", "bicubic", "lanczos")
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
_PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD",
             b"hIST", b"pHYs", b"acTL", b"fcTL", b"fdAT"}
_MAX_SIDE = 65535


@dataclass
class Decoded:
    """Pixels (H, W, 3) or (H, W) uint8 plus what is needed to write the file back the same way."""

    pixels: np.ndarray
    format: str
    exif: bytes | None
    icc: bytes | None
    qtables: list[list[int]] | None = None
    subsampling: int = -1


def decode(data: bytes) -> Decoded:
    """Decode an encoded image; keep EXIF (with its `Exif\\0\\0` header), ICC and, for JPEG, the tables."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception as exc:  # Pillow raises many types for bad files
        raise ValueError(f"not a decodable image: {exc}") from exc
    exif = im.info.get("exif")
    if exif and not exif.startswith(b"Exif\x00\x00"):
        exif = b"Exif\x00\x00" + exif
    qtables, sampling = None, -1
    if im.format == "JPEG":
        qtables = [list(t) for _, t in sorted(im.quantization.items())]
        sampling = JpegImagePlugin.get_sampling(im) if im.mode != "L" else -1
    pixels = np.asarray(im if im.mode in ("L", "RGB") else im.convert("RGB"), dtype=np.uint8)
    return Decoded(pixels, im.format or "PNG", exif or None, im.info.get("icc_profile") or None, qtables, sampling)


def save(pixels: np.ndarray, fmt: str, exif: bytes | None = None, icc: bytes | None = None, **kw: Any) -> bytes:
    """Encode pixels with Pillow, adding EXIF and ICC only when given."""
    if exif:
        kw["exif"] = exif
    if icc:
        kw["icc_profile"] = icc
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, fmt, **kw)
    return buf.getvalue()


def encode_like(pixels: np.ndarray, src: Decoded) -> bytes:
    """Write pixels in the source's format: JPEG with its own tables, WebP lossless, else PNG."""
    if src.format == "JPEG" and src.qtables:
        kw: dict[str, Any] = {"qtables": src.qtables}
        if src.subsampling >= 0 and pixels.ndim == 3:
            kw["subsampling"] = src.subsampling
        return save(pixels, "JPEG", src.exif, src.icc, **kw)
    if src.format == "WEBP":
        return save(pixels, "WEBP", src.exif, src.icc, lossless=True)
    return save(pixels, "PNG", src.exif, src.icc)


def _filter(name: str) -> Image.Resampling:
    return getattr(Image.Resampling, name.upper())


def resample(pixels: np.ndarray, size: tuple[int, int], filt: str) -> np.ndarray:
    """Pillow resize; its filters widen with the scale when shrinking, so downscaling is antialiased."""
    if size == (pixels.shape[1], pixels.shape[0]):
        return pixels
    return np.asarray(Image.fromarray(pixels).resize(size, _filter(filt)))


# --- ops -------------------------------------------------------------------------------------------------------

def _jpeg(data: bytes, rng: np.random.Generator, q: int, subsampling: str, progressive: bool) -> bytes:
    src = decode(data)
    kw: dict[str, Any] = {"quality": q, "progressive": progressive}
    if src.pixels.ndim == 3:
        kw["subsampling"] = SUBSAMPLING[subsampling]
    return save(src.pixels, "JPEG", src.exif, src.icc, **kw)


def _webp(data: bytes, rng: np.random.Generator, q: int) -> bytes:
    src = decode(data)
    return save(src.pixels, "WEBP", src.exif, src.icc, quality=q, method=4)


def _png(data: bytes, rng: np.random.Generator) -> bytes:
    src = decode(data)
    return save(src.pixels, "PNG", src.exif, src.icc)


def _resize(data: bytes, rng: np.random.Generator, factor: float | None, long: int | None, filter: str) -> bytes:
    src = decode(data)
    h, w = src.pixels.shape[:2]
    return encode_like(resample(src.pixels, target_size(w, h, factor, long), filter), src)


def _resize_video(data: bytes, rng: np.random.Generator, **kw: Any) -> bytes:
    from .video import resize_video

    return resize_video(data, rng, **kw)


def _fit(data: bytes, rng: np.random.Generator, long: int, filter: str) -> bytes:
    src = decode(data)
    h, w = src.pixels.shape[:2]
    if max(w, h) <= long:
        return encode_like(src.pixels, src)
    return encode_like(resample(src.pixels, target_size(w, h, None, long), filter), src)


def _crop(data: bytes, rng: np.random.Generator, frac: float, at: str) -> bytes:
    src = decode(data)
    h, w = src.pixels.shape[:2]
    ch, cw = max(1, round(h * frac)), max(1, round(w * frac))
    if at == "random":
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    else:
        y, x = (h - ch) // 2, (w - cw) // 2
    return encode_like(src.pixels[y:y + ch, x:x + cw], src)


def gaussian_blur(pixels: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian (truncated at 4 sigma, mirrored edges) on each channel; exact, unlike Pillow's boxes."""
    r = max(1, math.ceil(4 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    x = pixels.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0)] * x.ndim
        pad[axis] = (r, r)
        xp = np.pad(x, pad, mode="symmetric")
        n = x.shape[axis]
        x = sum(w * np.take(xp, np.arange(i, i + n), axis=axis) for i, w in enumerate(k))
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _blur(data: bytes, rng: np.random.Generator, sigma: float) -> bytes:
    src = decode(data)
    return encode_like(gaussian_blur(src.pixels, sigma), src)


def _noise(data: bytes, rng: np.random.Generator, sigma: float) -> bytes:
    src = decode(data)
    noisy = src.pixels + rng.normal(0.0, sigma, src.pixels.shape)
    return encode_like(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), src)


def _gamma(data: bytes, rng: np.random.Generator, g: float) -> bytes:
    src = decode(data)
    lut = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** g), 0, 255).astype(np.uint8)
    return encode_like(lut[src.pixels], src)


def _screenshot(data: bytes, rng: np.random.Generator, scale: float, filter: str) -> bytes:
    src = decode(data)
    rgb = src.pixels if src.pixels.ndim == 3 else np.repeat(src.pixels[..., None], 3, axis=2)
    h, w = rgb.shape[:2]
    return save(resample(rgb, target_size(w, h, scale, None), filter), "PNG")


def _strip(data: bytes, rng: np.random.Generator, icc: bool) -> bytes:
    if data.startswith(b"\xff\xd8"):
        return strip_jpeg(data, keep_icc=icc)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return strip_png(data, keep_icc=icc)
    raise ValueError("strip works on JPEG and PNG files (it removes metadata without re-encoding)")


def strip_jpeg(data: bytes, keep_icc: bool = False) -> bytes:
    """Drop APP1-APP15 (EXIF, XMP, IPTC, MPF, ...) except Adobe APP14, and comments; keep JFIF APP0 and,
    with `keep_icc`, the ICC APP2. Data after the first EOI (appended images, trailers) is dropped too."""
    out, i = bytearray(b"\xff\xd8"), 2
    while i + 1 < len(data):
        if data[i] != 0xFF:
            raise ValueError(f"corrupt JPEG: expected a marker at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0xDA:  # start of scan: copy to the first EOI (no FF D9 can occur inside entropy data)
            end = data.find(b"\xff\xd9", i)
            out += data[i:] if end < 0 else data[i:end + 2]
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:
            out += data[i:i + 2]
            i += 2
            continue
        seg = data[i:i + 2 + int.from_bytes(data[i + 2:i + 4], "big")]
        icc = marker == 0xE2 and seg[4:16] == b"ICC_PROFILE\x00"
        if not (marker == 0xFE or (0xE1 <= marker <= 0xEF and marker != 0xEE and not (icc and keep_icc))):
            out += seg
        i += len(seg)
    return bytes(out)


def strip_png(data: bytes, keep_icc: bool = False) -> bytes:
    """Keep only image and colour chunks (IHDR, PLTE, IDAT, IEND, tRNS, gAMA, cHRM, sRGB, ...); text, eXIf,
    tIME and unknown ancillary chunks go; iCCP only with `keep_icc`."""
    out, i = bytearray(data[:8]), 8
    while i + 8 <= len(data):
        length = int.from_bytes(data[i:i + 4], "big")
        ctype = data[i + 4:i + 8]
        chunk = data[i:i + 12 + length]
        if ctype in _PNG_KEEP or (ctype == b"iCCP" and keep_icc):
            out += chunk
        i += 12 + length
        if ctype == b"IEND":
            break
    return bytes(out)


def _one_size(p: dict[str, Any]) -> None:
    if (p["factor"] is None) == (p["long"] is None):
        raise ValueError("resize: give exactly one of factor (e.g. resize(0.5)) or long (e.g. resize(long=1024))")


_FILTER = Param("filter", str, "lanczos", choices=FILTERS)

register(Op("jpeg", (Param("q", int, lo=1, hi=100), Param("subsampling", str, "4:2:0", choices=tuple(SUBSAMPLING)),
                     Param("progressive", bool, False)), {"image": _jpeg},
            "JPEG re-encode with libjpeg's quality scaling (Pillow) and the given chroma subsampling."))
register(Op("webp", (Param("q", int, lo=0, hi=100),), {"image": _webp}, "Lossy WebP at quality q."))
register(Op("png", (), {"image": _png}, "Lossless PNG re-encode (a format change, pixels unchanged)."))
register(Op("resize", (Param("factor", float, None, lo=0, hi=16, open_lo=True),
                       Param("long", int, None, lo=1, hi=_MAX_SIDE), _FILTER),
            {"image": _resize, "video": _resize_video},
            "Scale by factor, or so the long side is `long` (up or down). Images: Pillow filter, default lanczos.",
            check=_one_size))
register(Op("fit", (Param("long", int, lo=1, hi=_MAX_SIDE), _FILTER), {"image": _fit},
            "Shrink so the long side is at most `long`; never enlarges (what platforms do)."))
register(Op("crop", (Param("frac", float, lo=0, hi=1, open_lo=True),
                     Param("at", str, "center", choices=("center", "random"))), {"image": _crop},
            "Keep frac of each side, centred or at a seeded random offset (which breaks the 8x8 JPEG grid).",
            random=lambda p: p["at"] == "random"))
register(Op("blur", (Param("sigma", float, lo=0, hi=20, open_lo=True),), {"image": _blur},
            "Gaussian blur with standard deviation sigma pixels."))
register(Op("noise", (Param("sigma", float, lo=0, hi=255, open_lo=True),), {"image": _noise},
            "Additive Gaussian noise, sigma in 8-bit grey levels, seeded.", random=True))
register(Op("gamma", (Param("g", float, lo=0, hi=10, open_lo=True),), {"image": _gamma},
            "out = 255 * (in/255) ** g; g > 1 darkens mid-tones, g < 1 brightens them."))
register(Op("screenshot", (Param("scale", float, lo=0, hi=4, open_lo=True),
                           Param("filter", str, "bilinear", choices=FILTERS)), {"image": _screenshot},
            "A screen capture of a scaled view: resample by scale (bilinear), save as RGB PNG, no metadata."))
register(Op("strip", (Param("icc", bool, False),), {"image": _strip},
            "Remove metadata (EXIF, XMP, IPTC, comments, text chunks) without re-encoding; icc=true keeps ICC."))
