"""Does the EXIF thumbnail still show the main image? (Kee & Farid, "Digital image authentication from
thumbnails", 2010: cameras write a small preview of the picture; editors often leave it untouched.)

1. Remove uniform letterbox bars from the thumbnail (cameras pad previews to 4:3 or 16:9).
2. Register: the main image, scaled to the thumbnail, is searched inside it over a range of scales and
   shifts by normalised cross-correlation; a match smaller than the whole preview means the image was
   cropped after the preview was made. A different aspect ratio also means a crop or pad.
3. Compare the registered window after a brightness/contrast fit, allowing a one-pixel misregistration;
   a compact region that differs far beyond JPEG and resampling noise means the content changed after
   the preview was made (or the metadata came from another picture, if nothing matches at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ASPECT_TOLERANCE = 0.03
SCALES = np.round(np.arange(1.0, 0.745, -0.01), 2)  # fraction of the preview the main image may cover
ACCEPT_NCC = 0.95  # stop the scale search at a match this good
SAME_PICTURE_NCC = 0.5
MIN_DIFF_LEVEL = 24.0  # gray levels; previews are small, low-quality JPEGs
MIN_CHANGED_PIXELS = 12
MIN_CHANGED_FRACTION = 0.005


@dataclass
class ThumbnailCheck:
    """Outcome of comparing the EXIF thumbnail with the main image."""

    verdict: str  # "consistent", "cropped", "content-differs", "different-picture"
    thumb_size: tuple[int, int]  # (width, height) of the preview's picture area
    aspect_main: float
    aspect_thumb: float
    scale: float = 1.0  # fraction of the preview's width the main image covers
    ncc: float = 1.0
    changed_fraction: float = 0.0
    max_difference: float = 0.0
    box: tuple[int, int, int, int] | None = None  # changed region (x0, y0, x1, y1) in main-image pixels
    diff_map: np.ndarray | None = None  # main-image aspect, preview resolution, float32 in [0, 1]


def _gray(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _resize(gray: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(gray.astype(np.float32)).resize((width, height), Image.Resampling.BOX))


def _content_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the preview's picture, without uniform black or white bars."""
    def keep(mean: np.ndarray, std: np.ndarray) -> tuple[int, int]:
        idx = np.flatnonzero(~((std < 3.0) & ((mean < 12) | (mean > 243))))
        return (int(idx[0]), int(idx[-1]) + 1) if len(idx) else (0, len(mean))

    y0, y1 = keep(gray.mean(axis=1), gray.std(axis=1))
    x0, x1 = keep(gray.mean(axis=0), gray.std(axis=0))
    return x0, y0, x1, y1


def _ncc_map(image: np.ndarray, templ: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of `templ` at every position fully inside `image` (FFT + integral images)."""
    H, W = image.shape
    h, w = templ.shape
    t = templ - templ.mean()
    spec = np.fft.rfft2(image, s=(H, W)) * np.fft.rfft2(t[::-1, ::-1], s=(H, W))
    corr = np.fft.irfft2(spec, s=(H, W))[h - 1:, w - 1:]
    ii = np.pad(np.cumsum(np.cumsum(image, 0), 1), ((1, 0), (1, 0)))
    i2 = np.pad(np.cumsum(np.cumsum(image * image, 0), 1), ((1, 0), (1, 0)))

    def window(a: np.ndarray) -> np.ndarray:
        return a[h:, w:] - a[:-h, w:] - a[h:, :-w] + a[:-h, :-w]

    var = window(i2) - window(ii) ** 2 / (h * w)
    return corr / (np.sqrt(np.maximum(var, 1e-6)) * np.sqrt(max(float((t * t).sum()), 1e-6)))


def _register(thumb: np.ndarray, main_small: np.ndarray) -> tuple[float, int, int, float]:
    """(scale, x, y, ncc) of the best placement of the main image inside the preview."""
    th, tw = thumb.shape
    best = (1.0, 0, 0, -1.0)
    for s in SCALES:
        w, h = round(s * tw), round(s * th)
        if w < 16 or h < 16:
            break
        ncc = _ncc_map(thumb, main_small if s == 1.0 else _resize(main_small, w, h))
        y, x = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
        if ncc[y, x] > best[3]:
            best = (float(s), int(x), int(y), float(ncc[y, x]))
        if best[3] >= ACCEPT_NCC:
            break
    return best


def _tolerant_residual(window: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """|window - fitted|, taking the best of the 3x3 one-pixel shifts of `fitted` at every pixel."""
    p = np.pad(fitted, 1, mode="edge")
    h, w = window.shape
    return np.min([np.abs(window - p[i: i + h, j: j + w]) for i in range(3) for j in range(3)], axis=0)


def _robust_fit(m: np.ndarray, target: np.ndarray) -> np.ndarray:
    """a*m + b fitted to `target` by least squares, refitted without outliers (an edit must not bend the fit)."""
    design = np.stack([m.ravel(), np.ones(m.size, dtype=np.float32)], axis=1)
    y = target.ravel()
    keep = np.ones(m.size, dtype=bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(design[keep], y[keep], rcond=None)
        r = np.abs(y - design @ coef)
        keep = r <= max(3.0 * 1.4826 * float(np.median(r)), 4.0)
    return (design @ coef).reshape(m.shape)


def _blur3(x: np.ndarray) -> np.ndarray:
    p = np.pad(x, 1, mode="edge")
    return sum(p[i: i + x.shape[0], j: j + x.shape[1]] for i in range(3) for j in range(3)) / 9.0


def compare_thumbnail(main_rgb: np.ndarray, thumb_rgb: np.ndarray) -> ThumbnailCheck:
    """Compare the EXIF thumbnail with the stored (unrotated) main image."""
    tg = _gray(thumb_rgb)
    x0, y0, x1, y1 = _content_box(tg)
    thumb = tg[y0:y1, x0:x1]
    th, tw = thumb.shape
    h, w = main_rgb.shape[:2]
    check = ThumbnailCheck("consistent", (tw, th), w / h, tw / max(th, 1))
    if tw < 16 or th < 16 or abs(np.log(check.aspect_main / check.aspect_thumb)) > ASPECT_TOLERANCE:
        check.verdict = "cropped"
        return check
    main_small = _resize(_gray(main_rgb), tw, th)
    check.scale, bx, by, check.ncc = _register(thumb, main_small)
    if check.ncc < SAME_PICTURE_NCC:
        check.verdict = "different-picture"
        return check
    ww, wh = round(check.scale * tw), round(check.scale * th)
    window = thumb[by: by + wh, bx: bx + ww]
    m = main_small if check.scale == 1.0 else _resize(main_small, ww, wh)
    window, m = _blur3(window), _blur3(m)  # compare low-passed pictures: resamplers alias fine texture differently
    resid = _blur3(_tolerant_residual(window, _robust_fit(m, window)))
    _judge(check, resid, w / ww, h / wh)
    return check


def _judge(check: ThumbnailCheck, resid: np.ndarray, sx: float, sy: float) -> None:
    noise = float(np.median(resid)) * 1.4826 + 1.0
    level = max(MIN_DIFF_LEVEL, 5.0 * noise)
    changed = resid > level
    check.changed_fraction = float(changed.mean())
    check.max_difference = float(resid.max())
    check.diff_map = np.clip((resid - 2.0 * noise) / (level - 2.0 * noise), 0.0, 1.0).astype(np.float32)
    if changed.sum() >= MIN_CHANGED_PIXELS and check.changed_fraction >= MIN_CHANGED_FRACTION:
        check.verdict = "content-differs"
        ys, xs = np.nonzero(changed)
        check.box = (int(xs.min() * sx), int(ys.min() * sy), int((xs.max() + 1) * sx), int((ys.max() + 1) * sy))
    elif check.scale < 0.98:
        check.verdict = "cropped"
