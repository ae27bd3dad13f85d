"""Build the development pool the verdict models are fitted and cross-validated on (docs/benchmarks/verdicts.md).

    python tools/make_verdict_dev.py OUT_DIR [--data ../shared/data] [--edits 320] [--seed 0]

Writes three manifests under OUT_DIR, each for one protocol (protocols/verdict_*.yaml):
- `pool.csv`: everything the verdict model learns from, at native resolution where it is a camera file:
  CASIA v1 held-out groups (the 30% no learned model trained on; authentic and tampered files as they are),
  MediaEval VMU real photos (untouched tweet images), synthetic edits of those photos with as many re-saved
  authentic copies (unmask.datasets.synth: every class gets the same final JPEG), and aigi_photos brought to
  512x512 (the set's size shortcut removed) with a native-resolution 512 crop of each real photo;
- `native.csv`: aigi_photos real photos as the camera wrote them (1125-3456 px; slow, so a protocol of its own);
- `clean.csv`: the untouched camera photos of pool.csv (CASIA authentic, MediaEval real), for the social-media
  chain protocol;
- `casia_q.csv`: the same CASIA files decoded and saved again by `synth.postprocess` (JPEG quality uniform in
  70-95, sometimes downscaled, drawn alike for both classes). As distributed, CASIA v1's tampered files are
  saved at lower JPEG qualities than its authentic ones (a shortcut any JPEG detector can read), so the
  verdict models are fitted on these copies and the original files are only reported on;
- `faces.csv`: every dfdc_faces crop of the test fold `face_xray` was trained without (fold 0 of 5 by source
  video, seed 0, as configs/train/face_xray.yaml splits them: 1,408 crops), for the video verdict model,
  which has one detector (`face_xray`; a video's score is its most suspicious track's mean).
Every item carries `source` (casia1, mediaeval, synth, aigi512, aigi) and `clean` (1 for an untouched camera
file) attributes; groups are the source photo, so no photo's edits and original sit in two folds.
Caveat: `npr` and `spectral_residual` saw the MediaEval photos as reals in training (their false-alarm rate
there is optimistic); `forensic_unet` trained on the other 70% of CASIA.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from unmask.datasets import Item, Manifest, convert
from unmask.datasets.synth import generate, postprocess

MIN_SIDE = 400
SIZE = 384


def _short_side(path: Path) -> int:
    try:
        with Image.open(path) as im:
            return min(im.size)
    except OSError:
        return 0


def real_photos(data: Path) -> list[Path]:
    """MediaEval VMU 2016 dev real images that open as images."""
    manifest = convert("mediaeval_vmu", data / "mediaeval_vmu")
    paths = [manifest.resolve(it.path) for it in manifest.items if it.label == "real" and it.path]
    return sorted(p for p in paths if _short_side(p) > 0)


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


def casia_items(data: Path) -> list[Item]:
    """CASIA v1 held-out groups (protocols/casia1_heldout.yaml's split), as they are."""
    from unmask.datasets.split import group_split

    manifest = convert("casia1", data / "casia1")
    held = [it for it in group_split(manifest.items, test_fraction=0.3, seed=0) if it.split == "test"]
    return [replace(it, path=str(manifest.resolve(it.path)), mask=None, split=None,
                    group=f"casia:{it.group}",
                    attrs={"source": "casia1", "clean": int(it.label == "real"),
                           "manipulation": it.attrs.get("manipulation", "") if it.y else ""})
            for it in held]


def reencoded(items: list[Item], out: Path, seed: int) -> list[Item]:
    """Each item decoded and saved again by synth.postprocess under out/casia_q/, same label and group."""
    (out / "casia_q").mkdir(parents=True, exist_ok=True)
    copies = []
    for i, it in enumerate(items):
        with Image.open(it.path) as im:
            rgb = np.asarray(im.convert("RGB"))
        encoded, post = postprocess(rgb, np.random.default_rng([seed, 0xCA, i]))
        name = f"casia_q/{Path(it.path).stem}.jpg"
        (out / name).write_bytes(encoded)
        copies.append(replace(it, path=name, attrs={**it.attrs, "source": "casia1_q", "clean": 0, "post": post}))
    return copies


def face_items(data: Path) -> list[Item]:
    """The dfdc_faces crops of the fold face_xray was not trained on, grouped by source video (its config's
    split: 5 folds, fold 0, seed 0)."""
    from unmask.datasets.split import group_split

    manifest = convert("dfdc_faces", data / "dfdc_faces")
    return [Item(path=str(manifest.resolve(it.path)), label=it.label, group=f"dfdc:{it.group}",
                 attrs={"source": "dfdc_faces", "clean": 0})
            for it in group_split(manifest.items, folds=5, fold=0, seed=0) if it.split == "test"]


def mediaeval_items(photos: list[Path]) -> list[Item]:
    return [Item(path=str(p), label="real", group=p.stem, attrs={"source": "mediaeval", "clean": 1})
            for p in photos]


def aigi_native(data: Path) -> list[Item]:
    manifest = Manifest.read(data / "aigi_photos" / "manifest.csv")
    return [Item(path=str(manifest.resolve(it.path)), label="real", group=f"aigi:{Path(it.path).stem}",
                 attrs={"source": "aigi", "clean": 1}) for it in manifest.items if it.label == "real"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--edits", type=int, default=320)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = real_photos(args.data)
    hosts = [p for p in photos if _short_side(p) >= MIN_SIDE]
    edits = [replace(it, path=f"edits/{it.path}", mask=f"edits/{it.mask}" if it.mask else None,
                     attrs={**it.attrs, "source": "synth", "clean": 0})
             for it in generate(hosts, args.edits, args.out / "edits", args.seed, size=SIZE)]
    aigi = [replace(it, attrs={**it.attrs, "source": "aigi512", "clean": 0})
            for it in aigi_items(args.data, args.out, args.seed)]
    casia, mediaeval = casia_items(args.data), mediaeval_items(photos)
    pool = casia + mediaeval + edits + aigi
    for name, items in (("pool", pool), ("native", aigi_native(args.data)),
                        ("clean", [it for it in casia + mediaeval if it.attrs["clean"]]),
                        ("casia_q", reencoded(casia, args.out, args.seed)),
                        ("faces", face_items(args.data))):
        Manifest(items, args.out).write(args.out / f"{name}.csv")
        print(f"{name}.csv: {len(items)} items ({sum(it.y for it in items)} fake)")


if __name__ == "__main__":
    main()
