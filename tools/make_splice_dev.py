"""Build a synthetic splicing development set from real photos, for tuning image detectors without touching
the benchmark data (CASIA stays held out from design decisions).

    python tools/make_splice_dev.py SOURCE_MANIFEST OUT_DIR [--n 200] [--seed 0]

SOURCE_MANIFEST is a manifest.csv whose rows with label `real` are camera photos (e.g.
../shared/data/aigi_photos/manifest.csv). Each output image is a 512x512 crop of a downscaled photo (the
downscale erases the camera's own JPEG traces), saved as JPEG at quality q1; a fake then gets a region
(rectangle or ellipse, 3-20% of the area) pasted from another photo, either never compressed, or JPEG at
another quality, on or off the 8x8 grid, and every image is saved again at q2. Half the authentic images are
re-saved too (double compression without an edit: the hard negative); the final quality is drawn from the
same set for every class, so the file header does not give the label away. Writes OUT_DIR/manifest.csv with the
columns of the shared data manifests (path, label, manipulation, mask, group) and the settings per image.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 512


def _crop(path: Path, rng: np.random.Generator) -> np.ndarray:
    im = Image.open(path).convert("RGB")
    scale = SIZE * rng.uniform(1.1, 1.6) / min(im.size)
    im = im.resize((max(SIZE, round(im.width * scale)), max(SIZE, round(im.height * scale))), Image.LANCZOS)
    x, y = rng.integers(0, im.width - SIZE + 1), rng.integers(0, im.height - SIZE + 1)
    return np.asarray(im.crop((x, y, x + SIZE, y + SIZE)))


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _region(rng: np.random.Generator) -> np.ndarray:
    area = rng.uniform(0.03, 0.20) * SIZE * SIZE
    aspect = rng.uniform(0.5, 2.0)
    h = int(np.sqrt(area / aspect))
    w = int(min(SIZE - 16, area / max(h, 1)))
    h = min(h, SIZE - 16)
    y, x = rng.integers(8, SIZE - h - 8), rng.integers(8, SIZE - w - 8)
    mask = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(mask)
    (draw.rectangle if rng.random() < 0.5 else draw.ellipse)((x, y, x + w, y + h), fill=255)
    return np.asarray(mask) > 127


def make_item(host: Path, donor: Path, fake: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray,
                                                                                      dict]:
    """Pixels to save as the final JPEG, the mask, and the settings (the final quality is `final_q`)."""
    q1, q2 = int(rng.choice([60, 70, 75, 80, 85, 90])), int(rng.choice([75, 80, 85, 90, 95]))
    crop = _crop(host, rng)
    mask = np.zeros((SIZE, SIZE), bool)
    if not fake and rng.random() < 0.5:  # authentic, compressed once (at the same final qualities as the rest)
        return crop, mask, {"q1": 0, "final_q": q2, "donor": "", "shift": 0}
    image = _jpeg(crop, q1)
    settings = {"q1": q1, "final_q": q2, "donor": "", "shift": 0}
    if fake:
        mask = _region(rng)
        donor_rgb = _crop(donor, rng)
        kind = str(rng.choice(["raw", "jpeg"]))
        if kind == "jpeg":
            donor_rgb = _jpeg(donor_rgb, int(rng.choice([50, 65, 80, 95])))
        shift = int(rng.integers(1, 8)) if rng.random() < 0.5 else 0
        donor_rgb = np.roll(donor_rgb, (shift, shift), axis=(0, 1))
        image = np.where(mask[..., None], donor_rgb, image)
        settings.update({"donor": kind, "shift": shift})
    return image, mask, settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with args.source.open(newline="") as f:
        photos = [args.source.parent / r["path"] for r in csv.DictReader(f) if r["label"] == "real"]
    rng = np.random.default_rng(args.seed)
    (args.out / "img").mkdir(parents=True, exist_ok=True)
    (args.out / "gt").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(args.n):
        fake = i % 2 == 1
        host, donor = rng.choice(len(photos), 2, replace=False)
        image, mask, settings = make_item(photos[host], photos[donor], fake, rng)
        name = f"{'fake' if fake else 'real'}_{i:04d}"
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "JPEG", quality=settings["final_q"])
        (args.out / "img" / f"{name}.jpg").write_bytes(buf.getvalue())
        mask_path = ""
        if fake:
            mask_path = f"gt/{name}.png"
            Image.fromarray((mask * 255).astype(np.uint8)).save(args.out / mask_path)
        rows.append({"path": f"img/{name}.jpg", "label": "fake" if fake else "real",
                     "manipulation": "splicing" if fake else "", "mask": mask_path,
                     "group": photos[host].stem, **settings})
    with (args.out / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} images to {args.out}")


if __name__ == "__main__":
    main()
