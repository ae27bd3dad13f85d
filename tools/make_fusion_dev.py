"""Build the development set the stacking fusion is fitted on: every kind of edit, made from real
social-media photos that no benchmark in docs/ reports on, plus the real and AI-generated photos of
aigi_photos (dev), so that the fusion learns how far to trust the AI-image detectors on real generators.

    python tools/make_fusion_dev.py OUT_DIR [--data ../shared/data] [--edits 320] [--seed 0]

Edits: hosts are the real images of MediaEval VMU 2016 (dev) whose short side is at least 400 px;
unmask.datasets.synth.generate makes `--edits` items (half authentic, half edited with one of its kinds,
exact masks). aigi_photos: every image is first brought to 512x512 (shortest side resized to 512, Lanczos,
centre crop), which removes that set's size shortcut (every fake is 559 px); each real photo also gives a
512x512 centre crop at its native resolution (camera originals are common in practice, and the AI-image
detectors misread native camera pixels: docs/benchmarks/ai_images.md). Every file, whatever its class
or origin, is then encoded by synth.postprocess (JPEG quality uniform in 70-95, sometimes downscaled), so
format, size and quality carry no label. Writes OUT_DIR/manifest.csv (group = host photo, or for aigi the
generator / the photo). Caveat: `npr` and `spectral_residual` saw the MediaEval photos as reals in training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from unmask.datasets import Item, Manifest, convert
from unmask.datasets.synth import generate, postprocess

MIN_SIDE = 400
SIZE = 384


def host_photos(data: Path) -> list[Path]:
    manifest = convert("mediaeval_vmu", data / "mediaeval_vmu")
    paths = [manifest.resolve(it.path) for it in manifest.items if it.label == "real" and it.path]
    keep = []
    for path in paths:
        try:
            with Image.open(path) as im:
                if min(im.size) >= MIN_SIDE:
                    keep.append(path)
        except OSError:
            continue
    return sorted(keep)


def square(path: Path, side: int = 512, resize: bool = True) -> np.ndarray:
    """A side x side centre crop, after resizing the shortest side to `side` (Lanczos) when `resize`."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = side / min(im.size)
        if resize:
            im = im.resize((max(side, round(im.width * scale)), max(side, round(im.height * scale))),
                           Image.LANCZOS)
        x, y = (im.width - side) // 2, (im.height - side) // 2
        return np.asarray(im.crop((x, y, x + side, y + side)))


def aigi_items(data: Path, out: Path, seed: int) -> list[Item]:
    manifest = Manifest.read(data / "aigi_photos" / "manifest.csv")
    (out / "aigi").mkdir(parents=True, exist_ok=True)
    items = []
    for i, it in enumerate(manifest.items):
        versions = [("", True)] + ([("native_", False)] if it.label == "real" else [])
        for k, (tag, resize) in enumerate(versions):
            rng = np.random.default_rng([seed, 0xA1, i, k])
            encoded, post = postprocess(square(manifest.resolve(it.path), resize=resize), rng)
            name = f"aigi/{tag}{it.label}_{i:03d}.jpg"
            (out / name).write_bytes(encoded)
            source = it.attrs.get("generator") if it.label == "fake" else Path(it.path).stem
            items.append(Item(path=name, label=it.label, label_raw=it.attrs.get("generator") or "real",
                              group=f"aigi:{source}", attrs={"manipulation": "ai-generated" if it.y else "",
                                                             "native": not resize, "post": post}))
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--edits", type=int, default=320)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    photos = host_photos(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    Manifest([Item(path=str(p), label="real") for p in photos], args.out).write(args.out / "hosts.csv")
    edits = generate(photos, args.edits, args.out / "edits", args.seed, size=SIZE)
    root = args.out / "edits"
    edit_items = [Item(**{**it.__dict__, "path": f"edits/{it.path}",
                          "mask": f"edits/{it.mask}" if it.mask else None}) for it in edits]
    items = edit_items + aigi_items(args.data, args.out, args.seed)
    Manifest(items, args.out).write(args.out / "manifest.csv")
    print(f"{len(photos)} host photos; wrote {len(items)} items ({sum(it.y for it in items)} fake) to "
          f"{args.out / 'manifest.csv'} (edits under {root})")


if __name__ == "__main__":
    main()
