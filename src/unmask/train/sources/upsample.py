"""Simulated AI-generated images: real photos re-synthesised through random small up-sampling decoders.

Generators decode images through up-sampling layers, and those layers, not the content, are what detectors
that generalise read: Zhang, Karaman & Chang (WIFS 2019, "Detecting and Simulating Artifacts in GAN Fake
Images") pass real images through an auto-encoder (AutoGAN) to teach a classifier the spectral peaks of
up-sampling without any GAN image; Frank et al. (ICML 2020) trace those peaks to the up-sampling operator
(nearest, bilinear, transposed convolution); Tan et al. (CVPR 2024, NPR) show that the correlation up-sampling
leaves between neighbouring pixels generalises across GANs and diffusion models. A fake here is a real crop
reduced 2x or 4x (box, bilinear or decimation), then brought back to its size by a random decoder: one or two
2x stages of nearest, bilinear, bicubic or transposed-convolution up-sampling (kernel = bilinear plus seeded
noise, the checkerboard of Odena et al. 2016), each followed by a random near-identity 3x3 convolution, and a
final random sharpening (decoders synthesise detail, they do not only blur). A real is a crop of the same
photos after the same host preparation; each sample draws its photo, crop and class independently, so the
classes are content-matched in distribution rather than pair by pair. Hard negatives: a share of reals is mildly blurred, so softness is
not the label. Every sample, real or fake, then gets the same optional JPEG re-save, so compression is not
the label either.

Config keys: `photos:` a manifest spec or a list of them (its real images, unless it names `labels:`), `n:`
samples per epoch, `fake_fraction:` (0.5), `size:` the square crop side (160, a multiple of 4), `factors:`
up-sampling factors to draw from ([2, 2, 4]), `modes:` (all of MODES), `jpeg_p:` (0.6), `jpeg_quality:`
([65, 95]), `blur_p:` share of reals blurred (0.5).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from ...datasets.manifest import Item, Manifest
from . import Context, Sample
from .manifest import read_items, read_rgb

MODES = ("nearest", "bilinear", "bicubic", "transposed")
DOWN = ("box", "bilinear", "decimate")


def prepare_host(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A size x size crop after a Lanczos downscale to a short side uniform in [size, min(2 size, 0.9 x its
    own)]: the downscale weakens the photo's own JPEG grid, which a fake would lose and a real keep. A photo
    with a short side under `size` is upscaled to it (rare: CASIA's is 256)."""
    h, w = image.shape[:2]
    short = min(h, w)
    target = rng.uniform(size, max(size, min(2 * size, 0.9 * short)))
    scale = target / short
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    image = np.asarray(Image.fromarray(image).resize((nw, nh), Image.LANCZOS))
    y, x = int(rng.integers(0, nh - size + 1)), int(rng.integers(0, nw - size + 1))
    return np.ascontiguousarray(image[y:y + size, x:x + size])


def _down2(x: Any, how: str) -> Any:
    from torch.nn import functional as F

    if how == "box":
        return F.avg_pool2d(x, 2)
    if how == "bilinear":
        return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False, antialias=True)
    return x[..., ::2, ::2]


def _near_identity(x: Any, rng: np.random.Generator) -> Any:
    """A random depthwise 3x3 convolution close to identity or to a mild smoothing (a decoder's conv layer)."""
    import torch
    from torch.nn import functional as F

    smooth = np.outer([1, 2, 1], [1, 2, 1]) / 16.0
    delta = np.zeros((3, 3))
    delta[1, 1] = 1.0
    mix = rng.uniform(0, 0.6)
    k = (1 - mix) * delta + mix * smooth + rng.normal(0, rng.uniform(0, 0.05), (3, 3, 3))
    k = k / k.sum(axis=(1, 2), keepdims=True)
    weight = torch.from_numpy(k.astype(np.float32)).unsqueeze(1)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight, groups=3)


def _transposed(x: Any, rng: np.random.Generator) -> Any:
    """Stride-2 transposed convolution whose 4x4 kernel is bilinear plus seeded noise: each output phase sums
    its own weights, so unequal phase gains paint the checkerboard of Odena et al. (Distill 2016)."""
    import torch
    from torch.nn import functional as F

    base = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 16.0
    k = base + rng.normal(0, np.exp(rng.uniform(np.log(0.003), np.log(0.05))), (3, 4, 4))
    weight = torch.from_numpy(k.astype(np.float32)).unsqueeze(1)
    out = F.conv_transpose2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight, stride=2, padding=1, groups=3)
    return out[..., 2:-2, 2:-2]


def up2(x: Any, mode: str, rng: np.random.Generator) -> Any:
    """One 2x up-sampling layer of `mode` (see MODES), then a random near-identity convolution."""
    from torch.nn import functional as F

    if mode == "nearest":
        y = x.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
    elif mode == "transposed":
        y = _transposed(x, rng)
    else:
        y = F.interpolate(x, scale_factor=2, mode=mode, align_corners=False)
    return _near_identity(y, rng)


def _sharpen(x: Any, amount: float) -> Any:
    from torch.nn import functional as F

    blur = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return x + amount * (x - blur)


def decode_fake(image: np.ndarray, factor: int, modes: tuple[str, ...], rng: np.random.Generator
                ) -> tuple[np.ndarray, dict[str, Any]]:
    """`image` (H, W multiples of `factor`) reduced by `factor` and re-synthesised by a random decoder."""
    import torch

    x = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    down = DOWN[int(rng.integers(len(DOWN)))]
    for _ in range(int(np.log2(factor))):
        x = _down2(x, down)
    stages = [modes[int(rng.integers(len(modes)))] for _ in range(int(np.log2(factor)))]
    with torch.no_grad():
        for mode in stages:
            x = up2(x, mode, rng)
        amount = float(rng.uniform(0.0, 2.5))
        x = _sharpen(x, amount)
    out = (x[0].permute(1, 2, 0).clamp(0, 1) * 255.0).round().to(torch.uint8).numpy()
    return out, {"factor": factor, "down": down, "stages": stages, "sharpen": amount}


def blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from PIL import ImageFilter

    radius = float(rng.uniform(0.3, 1.2))
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=int(quality))
    return np.asarray(Image.open(buf).convert("RGB"))


class UpsampleSource:
    def __init__(self, paths: list[Any], n: int, spec: dict[str, Any]) -> None:
        self.paths, self.n = paths, n
        self.fake_fraction = float(spec.get("fake_fraction", 0.5))
        self.size = int(spec.get("size", 160))
        self.factors = [int(f) for f in spec.get("factors", (2, 2, 4))]
        self.modes = tuple(spec.get("modes", MODES))
        self.jpeg_p, self.quality = float(spec.get("jpeg_p", 0.6)), tuple(spec.get("jpeg_quality", (65, 95)))
        self.blur_p = float(spec.get("blur_p", 0.5))
        if self.size % 4 or set(self.factors) - {2, 4} or set(self.modes) - set(MODES):
            raise ValueError(f"upsample source: size must be a multiple of 4, factors 2 or 4 and modes among "
                             f"{MODES}; got size {self.size}, factors {self.factors}, modes {list(self.modes)}")

    def __len__(self) -> int:
        return self.n

    def make(self, host: np.ndarray, fake: bool, rng: np.random.Generator) -> np.ndarray:
        """The real or fake version of a prepared host crop, after the shared final processing."""
        if fake:
            factor = self.factors[int(rng.integers(len(self.factors)))]
            image, _ = decode_fake(host, factor, self.modes, rng)
        else:
            image = blur(host, rng) if rng.random() < self.blur_p else host
        if rng.random() < self.jpeg_p:
            image = jpeg(image, int(rng.integers(self.quality[0], self.quality[1] + 1)))
        return image

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        path = self.paths[int(rng.integers(len(self.paths)))]
        host = prepare_host(read_rgb(path), self.size, rng)
        fake = bool(rng.random() < self.fake_fraction)
        return Sample(self.make(host, fake, rng), int(fake), None)


def _photo_paths(photos: dict[str, Any], ctx: Context) -> list[Any]:
    items: list[Item]
    manifest: Manifest
    items, manifest = read_items({"labels": ["real"], **photos}, ctx)
    return [manifest.resolve(it.path) for it in items]


def build(spec: dict[str, Any], ctx: Context) -> UpsampleSource:
    photos = spec.get("photos") or {}
    specs = photos if isinstance(photos, list) else [photos]
    if not all(isinstance(p, dict) and p for p in specs):
        raise ValueError("an upsample source needs 'photos:' (a manifest spec, or a list of them, of real photos)")
    paths = [p for one in specs for p in _photo_paths(dict(one), ctx)]
    return UpsampleSource(paths, int(spec.get("n", 1000)), spec)
