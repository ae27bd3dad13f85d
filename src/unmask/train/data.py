"""Training batches: samples from the config's sources, the same augmentations for every class, a crop.

An epoch is every sample of every source (generators contribute their `n`), shuffled by a permutation drawn
from (seed, epoch); sample i of epoch e draws all its randomness from rng(seed, epoch, i).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from .sources import Sample, Source


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=int(quality))
    return np.asarray(Image.open(buf).convert("RGB"))


def augment(sample: Sample, spec: dict[str, Any], rng: np.random.Generator) -> Sample:
    """Label-blind augmentations: optional downscale (`resize_p`, `resize: [lo, hi]`; with `resize_back:
    true` scaled back up to the original size, a loss of detail without a change of size), JPEG re-save
    (`jpeg_p`, `jpeg_quality: [lo, hi]`), horizontal flip (`flip: true`) and, with chance `color_p`, a change
    of lighting and camera look (`photometric`)."""
    image, mask = sample.image, sample.mask
    if rng.random() < spec.get("resize_p", 0.0):
        f = rng.uniform(*spec.get("resize", (0.5, 0.9)))
        size = (max(16, round(image.shape[1] * f)), max(16, round(image.shape[0] * f)))
        small = Image.fromarray(image).resize(size, Image.BILINEAR)
        if spec.get("resize_back", False):
            image = np.asarray(small.resize((image.shape[1], image.shape[0]), Image.BILINEAR))
        else:
            image = np.asarray(small)
            mask = np.asarray(Image.fromarray(mask).resize(size, Image.NEAREST)) if mask is not None else None
    if rng.random() < spec.get("jpeg_p", 0.0):
        lo, hi = spec.get("jpeg_quality", (60, 95))
        image = jpeg(image, int(rng.integers(lo, hi + 1)))
    if spec.get("flip", False) and rng.random() < 0.5:
        image = image[:, ::-1]
        mask = mask[:, ::-1] if mask is not None else None
    if rng.random() < spec.get("color_p", 0.0):
        image = photometric(image, spec, rng)
    return Sample(image, sample.label, mask)


def photometric(image: np.ndarray, spec: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation factors (`brightness`, `contrast`, `saturation`: [lo, hi]), a blur
    or a sharpen (a quarter of the time each), grey with chance `grey_p`, then a gamma (`gamma`: [lo, hi]).
    Given to every class alike, so that one source's look (DFDC's dim, flat indoor video) cannot stand in for
    its label: a face lit or photographed differently is not thereby forged."""
    im = Image.fromarray(image)
    for enhance, key, default in ((ImageEnhance.Brightness, "brightness", (0.6, 1.5)),
                                  (ImageEnhance.Contrast, "contrast", (0.6, 1.5)),
                                  (ImageEnhance.Color, "saturation", (0.5, 1.6))):
        im = enhance(im).enhance(rng.uniform(*spec.get(key, default)))
    r = rng.random()
    if r < 0.25:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    elif r < 0.5:
        im = im.filter(ImageFilter.UnsharpMask(radius=2, percent=int(rng.integers(40, 160))))
    if rng.random() < spec.get("grey_p", 0.0):
        im = im.convert("L").convert("RGB")
    x = (np.asarray(im, np.float32) / 255.0) ** rng.uniform(*spec.get("gamma", (0.7, 1.4)))
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def crop(sample: Sample, size: int, rng: np.random.Generator) -> Sample:
    """A random size x size crop, reflect-padded when the image is smaller. A crop of a fake that misses
    every tampered pixel keeps the image label (the mask then says where it is not)."""
    image, mask = sample.image, sample.mask
    h, w = image.shape[:2]
    if h < size or w < size:
        pad = ((0, max(0, size - h)), (0, max(0, size - w)))
        image = np.pad(image, (*pad, (0, 0)), mode="reflect")
        mask = np.pad(mask, pad, mode="constant") if mask is not None else None
        h, w = image.shape[:2]
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    cut = (slice(y, y + size), slice(x, x + size))
    return Sample(image[cut], sample.label, mask[cut] if mask is not None else None)


class EpochSet:
    """A torch-style dataset over the sources for one epoch (index -> tensors)."""

    def __init__(self, sources: list[Source], size: int, aug: dict[str, Any], seed: int, epoch: int,
                 limit: int | None = None) -> None:
        self.index = [(s, i) for s, src in enumerate(sources) for i in range(len(src))]
        order = np.random.default_rng([seed, epoch, 0xE]).permutation(len(self.index))
        self.index = [self.index[k] for k in order[:limit]]
        self.sources, self.size, self.aug, self.seed, self.epoch = sources, size, aug, seed, epoch

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> dict[str, Any]:
        import torch

        rng = np.random.default_rng([self.seed, self.epoch, k])
        s, i = self.index[k]
        sample = crop(augment(self.sources[s].get(i, rng), self.aug, rng), self.size, rng)
        has_mask = sample.mask is not None
        mask = sample.mask if has_mask else np.zeros(sample.image.shape[:2], bool)
        return {"image": torch.from_numpy(np.array(sample.image, np.uint8, copy=True)).permute(2, 0, 1).float() / 255.0,
                "mask": torch.from_numpy(np.array(mask, dtype=bool, copy=True)).float().unsqueeze(0),
                "has_mask": torch.tensor(float(has_mask)), "label": torch.tensor(float(sample.label))}
