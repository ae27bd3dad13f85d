"""Seeded synthetic image manipulations with exact masks, for training localisers and for tests.

```python
rng = np.random.default_rng(0)
edit = make_edit(host, donor, "copy_move", rng)      # edit.image (HxWx3 uint8), edit.mask (HxW bool)
data, post = postprocess(edit.image, rng)            # final JPEG bytes, {"quality", "size", ...}
items = generate(photos, n=200, out_dir=Path("synth"), seed=0)   # images + PNG masks + manifest
```

Each kind edits one region (rectangle, ellipse or an "object-like" smooth blob, 2-20% of the image):
splice (from a donor; hard, feathered or Poisson blending, Perez et al. 2003), copy_move (rotated and scaled
copy of the host's own content, non-overlapping; the mask marks the target only, as in CoMoFoD/CASIA),
blur, noise, sharpen (filters confined to the region), resample (the region rescaled in place, the trace
Popescu & Farid 2005 look for) and recompress (a region from a JPEG re-save at another quality, on or off
the 8x8 grid: the aligned / non-aligned double compression of Bianchi & Piva 2012) and inpaint (object
removal: the region erased and filled from its surroundings by OpenCV's Telea 2004 fast-marching or
Bertalmio et al. 2001 Navier-Stokes inpainting). Every image, edited or not, then gets the same final JPEG
distribution (`postprocess`), so compression alone never gives the label.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .manifest import Item, Manifest

KINDS = ("splice", "copy_move", "blur", "noise", "sharpen", "resample", "recompress", "inpaint")
FORMS = ("rect", "ellipse", "blob")
BLOBS_FILL = 0.6  # share of its box a blob covers
MARGIN = 8  # regions keep this far from the border
FINAL_QUALITY = (70, 95)  # final JPEG quality, uniform, for every image (real or fake)
RESIZE_P = 0.2  # chance the final image is also downscaled
PRE_JPEG_P = 0.5  # chance a host is JPEG-compressed once before editing (double compression hard negatives)


@dataclass
class SynthEdit:
    """An edited image, the exact mask of the edited pixels, the kind and the settings drawn."""

    image: np.ndarray
    mask: np.ndarray
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


def _jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """The pixels of a JPEG re-save at `quality`."""
    return np.asarray(Image.open(io.BytesIO(_jpeg_bytes(rgb, quality))).convert("RGB"))


def _box(shape: tuple[int, int], rng: np.random.Generator, frac: tuple[float, float],
         aspect: tuple[float, float]) -> tuple[int, int, int, int]:
    """A random (y, x, h, w) box covering `frac` of the image, at least MARGIN pixels from the border."""
    height, width = shape
    area = rng.uniform(*frac) * height * width
    ratio = rng.uniform(*aspect)  # h / w
    h = int(min(height - 2 * MARGIN - 1, max(8, np.sqrt(area * ratio))))
    w = int(min(width - 2 * MARGIN - 1, max(8, area / h)))
    y = int(rng.integers(MARGIN, height - MARGIN - h + 1))
    x = int(rng.integers(MARGIN, width - MARGIN - w + 1))
    return y, x, h, w


def _blob(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """An object-like shape: low-pass noise plus a centred bump, thresholded to cover BLOBS_FILL of the box."""
    from scipy.ndimage import gaussian_filter

    noise = gaussian_filter(rng.standard_normal((h, w)), sigma=max(1.0, min(h, w) / 6))
    noise /= noise.std() + 1e-9
    yy, xx = np.mgrid[-1:1:h * 1j, -1:1:w * 1j]
    field_ = 0.6 * noise + 2.0 * (1.0 - yy**2 - xx**2)
    return field_ > np.quantile(field_, 1.0 - BLOBS_FILL)


def _region(shape: tuple[int, int], rng: np.random.Generator, frac: tuple[float, float] = (0.04, 0.2),
            aspect: tuple[float, float] = (0.5, 2.0)) -> tuple[np.ndarray, tuple[int, int, int, int], str]:
    """A random region mask (rectangle, ellipse or blob), its bounding box (y, x, h, w) and its form."""
    y, x, h, w = _box(shape, rng, frac, aspect)
    form = FORMS[int(rng.integers(len(FORMS)))]
    mask = np.zeros(shape, bool)
    if form == "blob":
        mask[y:y + h, x:x + w] = _blob(h, w, rng)
    else:
        im = Image.new("L", (shape[1], shape[0]), 0)
        draw = ImageDraw.Draw(im)
        (draw.rectangle if form == "rect" else draw.ellipse)((x, y, x + w - 1, y + h - 1), fill=255)
        mask = np.asarray(im) > 127
    return mask, (y, x, h, w), form


def _paste(host: np.ndarray, layer: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask[..., None], layer, host).astype(np.uint8)


def _region_params(box: tuple[int, int, int, int], form: str) -> dict[str, Any]:
    y, x, h, w = box
    return {"form": form, "box": [x, y, x + w, y + h]}


def _fit(donor: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The donor scaled to cover `shape` (1-1.3x) and cropped there at a random offset."""
    height, width = shape
    im = Image.fromarray(np.ascontiguousarray(donor[..., :3]))
    scale = rng.uniform(1.0, 1.3) * max(height / im.height, width / im.width)
    im = im.resize((max(width, round(im.width * scale)), max(height, round(im.height * scale))),
                   Image.BICUBIC)
    y, x = int(rng.integers(0, im.height - height + 1)), int(rng.integers(0, im.width - width + 1))
    return np.asarray(im)[y:y + height, x:x + width]


def _poisson(host: np.ndarray, layer: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Poisson (seamless) cloning of `layer` into `host` over `mask`, in place (Perez et al. 2003)."""
    import cv2

    ys, xs = np.nonzero(mask)
    y0, x0 = ys.min(), xs.min()
    h, w = ys.max() - y0 + 1, xs.max() - x0 + 1
    center = (int(x0 + w // 2), int(y0 + h // 2))  # OpenCV puts the mask's bounding box at center - size // 2
    m = mask.astype(np.uint8) * 255
    out = cv2.seamlessClone(np.ascontiguousarray(layer), np.ascontiguousarray(host), m, center,
                            cv2.NORMAL_CLONE)
    return _paste(host, out, mask)  # keep the outside bit-exact


def _splice(host: np.ndarray, donor: np.ndarray | None, rng: np.random.Generator) -> SynthEdit:
    """A region of another photo pasted in, blended hard, feathered (mask = alpha > 0.5) or by Poisson."""
    from scipy.ndimage import gaussian_filter

    if donor is None:
        raise ValueError("splice needs a donor image")
    mask, box, form = _region(host.shape[:2], rng)
    layer = _fit(donor, host.shape[:2], rng)
    blend = ("hard", "feather", "poisson")[int(rng.integers(3))]
    params = {**_region_params(box, form), "blend": blend}
    if blend == "hard":
        image = _paste(host, layer, mask)
    elif blend == "feather":
        sigma = float(rng.uniform(1.5, 4.0))
        alpha = gaussian_filter(mask.astype(np.float64), sigma)[..., None]
        image = np.rint(alpha * layer + (1 - alpha) * host).astype(np.uint8)
        mask, params["sigma"] = alpha[..., 0] > 0.5, sigma
    else:
        image = _poisson(host, layer, mask)
    return SynthEdit(image, mask, "splice", params)


def _copy_move_geometry(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, Any, dict]:
    """Source region, 2x3 affine matrix (rotation -45..45 deg, scale 0.8..1.25) and params, with the
    target's bounding box inside the image and clear of the source box."""
    import cv2

    height, width = shape
    for _ in range(200):
        mask, (y, x, h, w), form = _region(shape, rng, frac=(0.05, 0.12), aspect=(0.6, 1.6))
        angle, scale = float(rng.uniform(-45, 45)), float(rng.uniform(0.8, 1.25))
        matrix = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), angle, scale)
        corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], float) @ matrix[:, :2].T
        span = corners.max(0) - corners.min(0)
        lo, hi = span / 2 + MARGIN, np.array([width, height]) - span / 2 - MARGIN
        if np.any(lo >= hi):
            continue
        target = rng.uniform(lo, hi)
        matrix[:, 2] = target - (corners.min(0) + corners.max(0)) / 2
        tx0, ty0 = target - span / 2
        tx1, ty1 = target + span / 2
        if tx1 + MARGIN <= x or tx0 >= x + w + MARGIN or ty1 + MARGIN <= y or ty0 >= y + h + MARGIN:
            params = {**_region_params((y, x, h, w), form), "angle": angle, "scale": scale,
                      "matrix": matrix.tolist(), "target_box": [float(tx0), float(ty0), float(tx1), float(ty1)]}
            return mask, matrix, params
    raise RuntimeError(f"no room for a copy-move in a {width}x{height} image")


def _copy_move(host: np.ndarray, rng: np.random.Generator) -> SynthEdit:
    """A region of the host rotated, scaled and pasted elsewhere (no overlap); the mask marks the target only,
    `params["box"]` is the source box and `params["matrix"]` maps source to target pixel coordinates."""
    import cv2

    height, width = host.shape[:2]
    source, matrix, params = _copy_move_geometry((height, width), rng)
    warped = cv2.warpAffine(np.ascontiguousarray(host), matrix, (width, height), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT)
    target = cv2.warpAffine(source.astype(np.uint8) * 255, matrix, (width, height),
                            flags=cv2.INTER_LINEAR) > 127
    return SynthEdit(_paste(host, warped, target), target, "copy_move", params)


def _filtered(host: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """The whole image blurred, noised or sharpened (unsharp mask), with the settings drawn."""
    from scipy.ndimage import gaussian_filter

    img = host.astype(np.float64)
    if kind == "blur":
        sigma = float(rng.uniform(1.5, 4.0))
        return gaussian_filter(img, (sigma, sigma, 0)), {"sigma": sigma}
    if kind == "noise":
        std = float(rng.uniform(4.0, 12.0))
        return img + rng.normal(0.0, std, img.shape), {"std": std}
    sigma, amount = float(rng.uniform(1.0, 2.5)), float(rng.uniform(1.0, 2.5))
    return img + amount * (img - gaussian_filter(img, (sigma, sigma, 0))), {"sigma": sigma, "amount": amount}


def _filter_edit(host: np.ndarray, kind: str, rng: np.random.Generator) -> SynthEdit:
    """Blur, noise or sharpening confined to one region."""
    mask, box, form = _region(host.shape[:2], rng)
    layer, params = _filtered(host, kind, rng)
    layer = np.clip(np.rint(layer), 0, 255).astype(np.uint8)
    return SynthEdit(_paste(host, layer, mask), mask, kind, {**_region_params(box, form), **params})


def _resample(host: np.ndarray, rng: np.random.Generator) -> SynthEdit:
    """A region rescaled by 0.6-0.9 or 1.1-1.6 about its centre: the window of size box / factor around the
    region's centre is resized to the box and pasted back through the region mask."""
    height, width = host.shape[:2]
    mask, (y, x, h, w), form = _region((height, width), rng, frac=(0.04, 0.15), aspect=(0.6, 1.6))
    factor = float(rng.uniform(0.6, 0.9) if rng.random() < 0.5 else rng.uniform(1.1, 1.6))
    sh, sw = min(height, round(h / factor)), min(width, round(w / factor))
    sy = int(np.clip(round(y + h / 2 - sh / 2), 0, height - sh))
    sx = int(np.clip(round(x + w / 2 - sw / 2), 0, width - sw))
    patch = Image.fromarray(np.ascontiguousarray(host[sy:sy + sh, sx:sx + sw])).resize((w, h), Image.BICUBIC)
    layer = host.copy()
    layer[y:y + h, x:x + w] = np.asarray(patch)
    params = {**_region_params((y, x, h, w), form), "factor": factor, "window": [sx, sy, sx + sw, sy + sh]}
    return SynthEdit(_paste(host, layer, mask), mask, "resample", params)


def _recompress(host: np.ndarray, rng: np.random.Generator) -> SynthEdit:
    """A region taken from a JPEG re-save of the host at quality 50-95, its 8x8 grid aligned with the
    image's (shift 0) or shifted by `shift` pixels down and right (non-aligned double compression)."""
    mask, box, form = _region(host.shape[:2], rng)
    quality = int(rng.integers(50, 96))
    shift = int(rng.integers(1, 8)) if rng.random() < 0.5 else 0
    moved = np.roll(host, (-shift, -shift), axis=(0, 1))
    layer = np.roll(_jpeg(moved, quality), (shift, shift), axis=(0, 1))
    params = {**_region_params(box, form), "quality": quality, "shift": shift}
    return SynthEdit(_paste(host, layer, mask), mask, "recompress", params)


def _inpaint(host: np.ndarray, rng: np.random.Generator) -> SynthEdit:
    """Object removal: the region filled by OpenCV inpainting from its border inwards, with Telea's fast
    marching method (Telea 2004) or the Navier-Stokes method (Bertalmio et al. 2001) at random, radius 3-8."""
    import cv2

    mask, box, form = _region(host.shape[:2], rng)
    method = ("telea", "ns")[int(rng.integers(2))]
    radius = int(rng.integers(3, 9))
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    filled = cv2.inpaint(host, mask.astype(np.uint8) * 255, radius, flag)
    params = {**_region_params(box, form), "method": method, "radius": radius}
    return SynthEdit(_paste(host, filled, mask), mask, "inpaint", params)  # outside kept bit-exact


def make_edit(host: np.ndarray, donor: np.ndarray | None, kind: str, rng: np.random.Generator) -> SynthEdit:
    """Apply one manipulation `kind` (see KINDS) to an RGB uint8 `host`; `donor` is needed for splice only.

    Pixels outside the returned mask are unchanged, except the faint feathered rim (alpha <= 0.5) of a
    feathered splice.
    """
    host = np.ascontiguousarray(host[..., :3], dtype=np.uint8)
    if kind == "splice":
        return _splice(host, donor, rng)
    if kind == "copy_move":
        return _copy_move(host, rng)
    if kind in ("blur", "noise", "sharpen"):
        return _filter_edit(host, kind, rng)
    if kind == "resample":
        return _resample(host, rng)
    if kind == "recompress":
        return _recompress(host, rng)
    if kind == "inpaint":
        return _inpaint(host, rng)
    raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")


def postprocess(image: np.ndarray, rng: np.random.Generator) -> tuple[bytes, dict[str, Any]]:
    """Encode the final JPEG at a quality uniform in 70-95, after an optional downscale (chance RESIZE_P, by
    0.6-0.95). Edited and authentic images get the same distribution so that a model cannot learn
    "compression = fake". `params["size"]` is the final [width, height]: resize masks to it."""
    im = Image.fromarray(np.ascontiguousarray(image[..., :3], dtype=np.uint8))
    params: dict[str, Any] = {"quality": int(rng.integers(FINAL_QUALITY[0], FINAL_QUALITY[1] + 1)),
                              "resize": 1.0}
    if rng.random() < RESIZE_P:
        params["resize"] = float(rng.uniform(0.6, 0.95))
        im = im.resize((max(1, round(im.width * params["resize"])), max(1, round(im.height * params["resize"]))),
                       Image.LANCZOS)
    params["size"] = [im.width, im.height]
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=params["quality"])
    return buf.getvalue(), params


def _prepare(path: Path, rng: np.random.Generator, size: int) -> np.ndarray:
    """A size x size crop of the photo downscaled 1.1-1.6x past `size` (the downscale erases the camera's
    own JPEG traces)."""
    im = Image.open(path).convert("RGB")
    scale = size * rng.uniform(1.1, 1.6) / min(im.size)
    im = im.resize((max(size, round(im.width * scale)), max(size, round(im.height * scale))), Image.LANCZOS)
    x, y = int(rng.integers(0, im.width - size + 1)), int(rng.integers(0, im.height - size + 1))
    return np.asarray(im.crop((x, y, x + size, y + size)))


def _pre_jpeg(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """With chance PRE_JPEG_P, a first JPEG at quality 60-95 (same odds for every class); 0 = none."""
    if rng.random() >= PRE_JPEG_P:
        return image, 0
    quality = int(rng.integers(60, 96))
    return _jpeg(image, quality), quality


def _one(photos: list[Path], index: int, out_dir: Path, seed: int, size: int) -> Item:
    """Item `index`: odd ones fake (a random kind), even ones authentic; its own rng from (seed, index)."""
    rng = np.random.default_rng([seed, index])
    fake = index % 2 == 1
    host_i = int(rng.integers(len(photos)))
    host, pre_q = _pre_jpeg(_prepare(photos[host_i], rng, size), rng)
    attrs: dict[str, Any] = {"manipulation": "", "pre_quality": pre_q, "host": photos[host_i].name}
    mask = None
    name = f"{'fake' if fake else 'real'}_{index:05d}"
    if fake:
        kind = KINDS[int(rng.integers(len(KINDS)))]
        donor = None
        if kind == "splice":
            others = [i for i in range(len(photos)) if i != host_i] or [host_i]
            donor_i = others[int(rng.integers(len(others)))]
            donor, attrs["donor"] = _prepare(photos[donor_i], rng, size), photos[donor_i].name
        edit = make_edit(host, donor, kind, rng)
        host, mask = edit.image, edit.mask
        attrs.update(manipulation=kind, params=edit.params)
    data, post = postprocess(host, rng)
    attrs["post"] = post
    (out_dir / "img" / f"{name}.jpg").write_bytes(data)
    mask_rel = None
    if mask is not None:
        mask_rel = f"mask/{name}.png"
        Image.fromarray(mask.astype(np.uint8) * 255).resize(tuple(post["size"]), Image.NEAREST).save(
            out_dir / mask_rel)
    return Item(path=f"img/{name}.jpg", label="fake" if fake else "real",
                label_raw=attrs["manipulation"] or "authentic", mask=mask_rel,
                group=photos[host_i].stem, attrs=attrs)


def generate(photos: list[Path], n: int, out_dir: Path, seed: int, size: int = 512) -> list[Item]:
    """Write `n` images (half authentic, half edited with a random kind) as JPEGs under out_dir/img, PNG masks
    under out_dir/mask, and out_dir/manifest.jsonl + manifest.csv (kind in label_raw and attrs.manipulation,
    settings in attrs; group = host photo). Item i depends only on (seed, i), so runs extend reproducibly."""
    if not photos:
        raise ValueError("generate needs at least one photo")
    out_dir = Path(out_dir)
    (out_dir / "img").mkdir(parents=True, exist_ok=True)
    (out_dir / "mask").mkdir(parents=True, exist_ok=True)
    items = [_one([Path(p) for p in photos], i, out_dir, seed, size) for i in range(n)]
    manifest = Manifest(items, out_dir)
    manifest.write(out_dir / "manifest.jsonl")
    manifest.write(out_dir / "manifest.csv")
    return items
