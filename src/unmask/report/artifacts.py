"""Write a report's maps as PNG files the size of the input: heatmaps 16-bit gray, masks 8-bit 0/255."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from .model import Report


def resize_map(arr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear for heatmaps, nearest for masks (METRICS.md convention), only when sizes differ."""
    if arr.shape == (height, width):
        return arr
    if arr.dtype == bool:
        im = Image.fromarray(arr.astype(np.uint8) * 255).resize((width, height), Image.Resampling.NEAREST)
        return np.asarray(im) > 127
    im = Image.fromarray(arr.astype(np.float32), mode="F").resize((width, height), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(im), 0.0, 1.0)


def heatmap_png(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(np.clip(arr, 0, 1) * 65535).astype(np.uint16))


def mask_png(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(arr.astype(np.uint8) * 255, mode="L")


def artifact_dir(report: Report, root: Path) -> Path:
    stem = Path(report.media.path).stem if report.media.path else "input"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:80] or "input"
    return root / f"{stem}-{(report.media.sha256 or '0' * 8)[:8]}"


def write_artifacts(report: Report, root: Path) -> list[Path]:
    """Save every map and record its path in the evidence entry. Returns the files written."""
    written: list[Path] = []
    width, height = report.media.width, report.media.height
    refs = [r for e in report.evidence for r in (e.heatmap, e.mask) if r is not None]
    if not refs:
        return written
    folder = artifact_dir(report, root)
    folder.mkdir(parents=True, exist_ok=True)
    for ref in refs:
        arr = report.maps.get(ref.name)
        if arr is None:
            continue
        if width and height and not ref.name.startswith("images["):
            arr = resize_map(arr, width, height)
        image = mask_png(arr) if ref.kind == "mask" else heatmap_png(arr)
        target = folder / f"{ref.name}.png"
        image.save(target)
        ref.path, ref.width, ref.height = str(target), arr.shape[1], arr.shape[0]
        written.append(target)
    return written
