"""Face-video layouts: FaceForensics++, Celeb-DF, the DFDC metadata.json and DeepfakeBench's dataset JSON.

Groups tie a fake to the real video it altered (see `_util.video_group`), so `unmask data check` can tell
when a fake in one split was made from a real video in another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..manifest import Item, Manifest, ManifestError
from ._util import (
    IMAGE_EXTS,
    VIDEO_EXTS,
    files,
    options_list,
    read_json,
    rel,
    require,
    split_name,
    video_group,
)
from .registry import adapter


def _ff_splits(root: Path) -> dict[str, str]:
    """FaceForensics++ splits/{train,val,test}.json list [target, source] pairs; every video of a pair
    (a, b, a_b, b_a) belongs to that split."""
    out: dict[str, str] = {}
    for split in ("train", "val", "test"):
        found = next(
            (p for p in (root / "splits" / f"{split}.json", root / f"{split}.json") if p.is_file()), None
        )
        for pair in read_json(found) if found else []:
            a, b = (str(x) for x in pair)
            for name in (a, b, f"{a}_{b}", f"{b}_{a}"):
                out[name] = split
    return out


def _ff_media(folder: Path, media: str) -> list[tuple[str, Path]]:
    """(video name, file) for each video file, or for each frame of each per-video frame folder."""
    if media == "videos":
        return [(p.stem, p) for p in files(folder / "videos", VIDEO_EXTS)]
    frames = next((folder / n for n in ("frames", "images") if (folder / n).is_dir()), folder / "frames")
    return [(p.parent.name, p) for p in files(frames, IMAGE_EXTS)]


def _ff_sources(root: Path) -> list[tuple[str, str, Path]]:
    """(label, method, folder) for each original/manipulated source folder that exists."""
    out = []
    originals, manipulated = root / "original_sequences", root / "manipulated_sequences"
    for sub in sorted(originals.iterdir()) if originals.is_dir() else []:
        if sub.is_dir():
            out.append(("real", "original" if sub.name == "youtube" else f"original_{sub.name}", sub))
    for sub in sorted(manipulated.iterdir()) if manipulated.is_dir() else []:
        if sub.is_dir():
            out.append(("fake", sub.name, sub))
    return out


@adapter(
    "faceforensics",
    "video",
    "FaceForensics++: original_sequences/<youtube|actors>/<c0|c23|c40|raw>/videos, "
    "manipulated_sequences/<method>/<comp>/videos (+ masks/videos)",
    "ondyari/FaceForensics download script layout (Rössler et al. 2019); splits/*.json pairs",
)
def faceforensics(root: Path, *, compression: str = "", media: str = "videos") -> Manifest:
    """One row per video (`media=videos`) or per extracted frame (`media=frames`, from
    <comp>/frames|images/<v>/); method as attrs['manipulation'] and ['generator'], compression level in attrs;
    mask = the method's mask video when present; split from the official pair lists when found."""
    if media not in ("videos", "frames"):
        raise ManifestError(f"faceforensics: media must be 'videos' or 'frames', not {media!r}")
    sources = _ff_sources(root)
    if not sources:
        raise ManifestError(
            f"{root}: no original_sequences/ or manipulated_sequences/ (FaceForensics++ layout)"
        )
    wanted, splits, items = set(options_list(compression)), _ff_splits(root), []
    for label, method, folder in sources:
        for comp in sorted(d for d in folder.iterdir() if d.is_dir() and d.name != "masks"):
            if wanted and comp.name not in wanted:
                continue
            for name, path in _ff_media(comp, media):
                mask = folder / "masks" / "videos" / f"{name}.mp4"
                attrs: dict[str, Any] = {"manipulation": method, "compression": comp.name, "video": name}
                if label == "fake":
                    attrs["generator"] = method
                items.append(
                    Item(
                        path=rel(path, root),
                        label=label,
                        group=video_group(name),
                        split=splits.get(name),
                        mask=rel(mask, root)
                        if label == "fake" and media == "videos" and mask.is_file()
                        else None,
                        attrs=attrs,
                    )
                )
    return Manifest(items, root)


def _celeb_test_list(root: Path) -> dict[str, str]:
    """List_of_testing_videos.txt: '<1|0> <folder>/<name>.mp4' with 1 = real, 0 = fake."""
    listed = root / "List_of_testing_videos.txt"
    out = {}
    if listed.is_file():
        for line in listed.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2:
                out[parts[1]] = "real" if parts[0] == "1" else "fake"
    return out


@adapter(
    "celebdf",
    "video",
    "Celeb-DF v1/v2: Celeb-real/, YouTube-real/, Celeb-synthesis/ + List_of_testing_videos.txt",
    "yuezunli/celeb-deepfakeforensics release (Li et al. 2020)",
)
def celebdf(root: Path) -> Manifest:
    """Videos listed in List_of_testing_videos.txt are split 'test', the rest 'train'. A fake
    id<a>_id<b>_<n> is grouped with Celeb-real/id<a>_<n>, the video it altered."""
    folders = {"Celeb-real": "real", "YouTube-real": "real", "Celeb-synthesis": "fake"}
    if not any((root / f).is_dir() for f in folders):
        raise ManifestError(f"{root}: no Celeb-real/, YouTube-real/ or Celeb-synthesis/ (Celeb-DF layout)")
    tested, items, conflicts = _celeb_test_list(root), [], 0
    for folder, label in folders.items():
        for path in files(root / folder, VIDEO_EXTS):
            key = rel(path, root)
            conflicts += key in tested and tested[key] != label
            group = f"yt{path.stem}" if folder == "YouTube-real" else video_group(path.name)
            items.append(
                Item(
                    path=key,
                    label=label,
                    split="test" if key in tested else "train",
                    group=group,
                    attrs={"source": folder},
                )
            )
    notes = (
        [f"{conflicts} test-list label(s) disagree with the folder; the folder was used"] if conflicts else []
    )
    return Manifest(items, root, notes)


def _dfdc_metadata(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found = sorted(root.rglob("metadata.json"))
    if not found:
        raise ManifestError(f"{root}: no metadata.json (DFDC parts: dfdc_train_part_N/metadata.json)")
    return found


@adapter(
    "dfdc",
    "video",
    "DFDC: <part>/metadata.json {video: {label: REAL|FAKE, split, original}}",
    "Deepfake Detection Challenge (Dolhansky et al. 2020) Kaggle release",
)
def dfdc(root: Path) -> Manifest:
    """Every metadata.json under the root; group = the original (real) video of each fake."""
    base = root.parent if root.is_file() else root
    items = []
    for meta in _dfdc_metadata(root):
        entries = read_json(meta)
        if not isinstance(entries, dict):
            raise ManifestError(f"{meta}: expected an object of video name -> entry")
        for name, entry in sorted(entries.items()):
            label = str(entry.get("label", "")).lower()
            if label not in ("real", "fake"):
                raise ManifestError(
                    f"{meta}: video {name!r} has label {entry.get('label')!r}, not REAL or FAKE"
                )
            original = entry.get("original") or name
            attrs = {"part": meta.parent.name, **({"original": original} if original != name else {})}
            items.append(
                Item(
                    path=rel(meta.parent / name, base),
                    label=label,
                    label_raw=entry.get("label"),
                    group=Path(original).stem,
                    split=entry.get("split"),
                    attrs=attrs,
                )
            )
    return Manifest(items, base)


def _dfb_videos(node: Any, trail: list[str]) -> list[tuple[list[str], str, dict]]:
    """Walk DeepfakeBench's nesting (label/split/[compression/]video) to its {label, frames} entries."""
    if not isinstance(node, dict):
        return []
    if "frames" in node and isinstance(node["frames"], list):
        return [(trail[:-1], trail[-1], node)]
    out = []
    for key, child in node.items():
        out.extend(_dfb_videos(child, [*trail, str(key)]))
    return out


def _dfb_entry_items(dataset: str, trail: list[str], video: str, entry: dict, per: str) -> list[Item]:
    subset = trail[0] if trail else ""
    split = next((split_name(t) for t in trail[1:] if split_name(t)), None)
    comp = next((t for t in trail[1:] if t in ("c23", "c40", "raw", "c0")), None)
    label = "real" if "real" in str(entry.get("label", subset)).lower() else "fake"
    attrs = {"dataset": dataset, "subset": subset, "video": video, **({"compression": comp} if comp else {})}
    frames = [str(f).replace("\\", "/") for f in entry["frames"]]
    masks = [str(f).replace("\\", "/") for f in entry.get("masks") or []]
    common = {"label": label, "label_raw": str(entry.get("label", subset)), "split": split,
              "group": video_group(video)}
    if per == "video":
        folder = str(Path(frames[0]).parent) if frames else video
        return [Item(path=folder, attrs={**attrs, "n_frames": len(frames)}, **common)]
    by_name = {Path(m).name: m for m in masks}
    return [Item(path=f, mask=by_name.get(Path(f).name), attrs=attrs, **common) for f in frames]


@adapter(
    "deepfakebench",
    "video",
    "DeepfakeBench dataset JSON {dataset: {label: {split: {[comp:] {video: {label, frames, masks}}}}}}",
    "SCLBD/DeepfakeBench preprocessing/rearrange.py output (Yan et al. 2023)",
)
def deepfakebench(root: Path, *, data_root: str = "", per: str = "frame") -> Manifest:
    """ROOT is one dataset JSON or a folder of them. One row per frame (`per=frame`) or per video
    (`per=video`, path = the frame folder). A label name containing 'real' (FF-real, CelebDFv2_real,
    DFDC_Real) is real, others fake. Frame paths resolve from `data_root` (default: the JSON's folder)."""
    if per not in ("frame", "video"):
        raise ManifestError(f"deepfakebench: per must be 'frame' or 'video', not {per!r}")
    jsons = [root] if root.is_file() else sorted(root.glob("*.json"))
    if not jsons:
        raise ManifestError(f"{root}: no DeepfakeBench dataset JSON here")
    base = Path(data_root) if data_root else (root.parent if root.is_file() else root)
    items: list[Item] = []
    for path in jsons:
        data = read_json(path)
        for dataset, tree in data.items() if isinstance(data, dict) else []:
            for trail, video, entry in _dfb_videos(tree, []):
                items.extend(_dfb_entry_items(dataset, trail, video, entry, per))
    if not items:
        raise ManifestError(f"{root}: no {{label, frames}} video entries found in the JSON")
    return Manifest(items, require(base, "the folder the frame paths are relative to"))
