"""Image layouts: CASIA v1/v2 folders, image+mask pairs by file stem (Columbia, Coverage, NIST16-style), and
the real/fake folder convention of CNNDetection, GenImage and UniversalFakeDetect."""

from __future__ import annotations

from pathlib import Path

from ..manifest import Item, Manifest, ManifestError
from ._util import IMAGE_EXTS, files, options_list, rel, split_name
from .registry import adapter

MASK_DIR_NAMES = {"mask", "masks", "gt", "groundtruth", "ground_truth", "ground-truth", "edgemask"}
# The 20 LSUN object categories CNNDetection (Wang et al. 2020) trained ProGAN on and tests per category.
LSUN_CATEGORIES = {"airplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
                   "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
                   "train", "tvmonitor"}


def _casia_keys(stem: str) -> list[str]:
    """Keys to match a CASIA image with its mask, strictest first. Names are
    '<Sp|Tp>_<D|S>_<codes>_<id1>_<id2>_<n>' (Sp_D_CND_A_pla0005_pla0023_0281, mask '..._gt'); the corrected
    masks sometimes differ in the D/S letter, swap the two ids or name another donor id, so looser keys drop
    those parts in turn."""
    parts = stem.removesuffix("_gt").split("_")
    codes, ids, number = parts[2:-3], parts[-3:-1], parts[-1:]
    return ["_".join(parts), "_".join([*codes, *sorted(ids), *number]), "_".join([*codes, *number])]


class _MaskIndex:
    """Masks by each of `_casia_keys`; a key is used only when exactly one mask has it."""

    def __init__(self, masks: list[Path]) -> None:
        self.tiers: list[dict[str, list[Path]]] = [{}, {}, {}]
        for mask in masks:
            for tier, key in zip(self.tiers, _casia_keys(mask.stem), strict=True):
                tier.setdefault(key, []).append(mask)

    def find(self, stem: str) -> Path | None:
        for tier, key in zip(self.tiers, _casia_keys(stem), strict=True):
            if len(tier.get(key, [])) == 1:
                return tier[key][0]
        return None


def _casia_masks(root: Path, option: str) -> _MaskIndex:
    names = options_list(option)
    words = ("gt", "mask", "groundtruth")
    dirs = (
        [root / n for n in names]
        if names
        else [d for d in sorted(root.iterdir()) if d.is_dir() and any(w in d.name.lower() for w in words)]
    )
    return _MaskIndex([p for d in dirs for p in files(d, IMAGE_EXTS)])


def _casia_manipulation(image: Path, mask: Path | None) -> str:
    """The mask's folder (CM / Sp) when it says, else the name's letter: Sp_S_ / Tp_S_ = same image."""
    folder = mask.parent.name.lower() if mask else ""
    if folder in ("cm", "copy-move", "copymove"):
        return "copy-move"
    if folder in ("sp", "splicing"):
        return "splicing"
    parts = image.stem.split("_")
    return "copy-move" if len(parts) > 1 and parts[1].upper() == "S" else "splicing"


@adapter(
    "casia",
    "image",
    "CASIA v1/v2 folders: Au/ (authentic), Sp/ or Tp/ (tampered), masks under gt*/",
    "CASIA TIDE v1.0/v2.0 (Dong et al. 2013) naming; masks of Pham et al. 2019 ('<name>_gt.png')",
)
def casia(root: Path, *, masks: str = "") -> Manifest:
    """Authentic Au_<cat>_<n> -> group '<cat><n>'; tampered '<Sp|Tp>_<D|S>_..._<id1>_<id2>_<n>' -> fake with
    group id1 (the first source photo, as in the shared casia1 manifest); both ids in attrs['source_ids']."""
    tampered = next((root / n for n in ("Tp", "Sp") if (root / n).is_dir()), None)
    if not (root / "Au").is_dir() or tampered is None:
        raise ManifestError(f"{root}: a CASIA folder has Au/ and Sp/ (v1) or Tp/ (v2)")
    index = _casia_masks(root, masks)
    items = []
    for path in files(root / "Au", IMAGE_EXTS):
        parts = path.stem.split("_")
        items.append(Item(path=rel(path, root), label="real", group="".join(parts[1:3]) or path.stem))
    no_mask = 0
    for path in files(tampered, IMAGE_EXTS):
        mask = index.find(path.stem)
        no_mask += mask is None
        ids = path.stem.split("_")[-3:-1]
        items.append(
            Item(
                path=rel(path, root),
                label="fake",
                mask=rel(mask, root) if mask else None,
                group=ids[0] if ids else path.stem,
                attrs={"manipulation": _casia_manipulation(path, mask), "source_ids": ids},
            )
        )
    notes = [f"{no_mask} tampered image(s) have no mask"] if no_mask else []
    return Manifest(items, root, notes)


def _strip_suffix(stem: str, suffixes: list[str]) -> str:
    for suffix in sorted(suffixes, key=len, reverse=True):
        if suffix and stem.lower().endswith(suffix.lower()) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def _under(path: Path, root: Path, names: set[str]) -> bool:
    return any(part.lower() in names for part in path.relative_to(root).parts[:-1])


@adapter(
    "image_mask_pairs",
    "image",
    "images and binary masks matched by file stem (Columbia/Coverage/NIST16-style)",
    "the image+mask-folder layout IMDL-BenCo and PhotoHolmes read; suffixes per dataset",
)
def image_mask_pairs(
    root: Path,
    *,
    masks: str = "",
    mask_suffix: str = "_gt,_mask,-mask,_edgemask,_forged",
    image_suffix: str = "",
    fake_dirs: str = "",
    real_dirs: str = "",
    unmatched: str = "real",
) -> Manifest:
    """An image whose stem (minus `image_suffix`; when set, only images with it are matched) equals a mask's
    stem (minus one of `mask_suffix`) is fake with that mask. Images in `real_dirs` are real, in `fake_dirs`
    fake even without a mask; other unmatched images are real (`unmatched=real`) or left out
    (`unmatched=skip`)."""
    mask_names = {n.lower() for n in options_list(masks)} or MASK_DIR_NAMES
    fakes, reals = {n.lower() for n in options_list(fake_dirs)}, {n.lower() for n in options_list(real_dirs)}
    all_images = list(files(root, IMAGE_EXTS))
    mask_files = [p for p in all_images if _under(p, root, mask_names)]
    index = {_strip_suffix(p.stem, options_list(mask_suffix)): p for p in mask_files}
    used: set[Path] = set()
    items = []
    for path in (p for p in all_images if not _under(p, root, mask_names)):
        key = (
            path.stem
            if not image_suffix
            else (path.stem[: -len(image_suffix)] if path.stem.endswith(image_suffix) else None)
        )
        mask = index.get(key) if key is not None and not _under(path, root, reals) else None
        if mask is not None:
            used.add(mask)
            items.append(Item(path=rel(path, root), label="fake", mask=rel(mask, root), group=key))
        elif _under(path, root, fakes):
            items.append(Item(path=rel(path, root), label="fake", group=path.stem))
        elif unmatched == "real" or _under(path, root, reals):
            items.append(Item(path=rel(path, root), label="real", group=path.stem))
    notes = [f"{len(mask_files) - len(used)} mask(s) matched no image"] if len(used) < len(mask_files) else []
    return Manifest(items, root, notes)


@adapter(
    "coverage",
    "image",
    "COVERAGE copy-move: image/<n>.tif real, image/<n>t.tif fake, mask/<n>forged.tif",
    "COVERAGE (Wen et al. 2016) release layout",
)
def coverage(root: Path) -> Manifest:
    return image_mask_pairs(root, masks="mask", mask_suffix="forged", image_suffix="t")


@adapter(
    "columbia",
    "image",
    "Columbia uncompressed splicing: 4cam_auth/ real, 4cam_splc/ fake, edgemask/ masks",
    "Columbia Image Splicing Detection Evaluation Dataset (Hsu & Chang 2006) release layout",
)
def columbia(root: Path) -> Manifest:
    """Note: Columbia's edge masks are colour-coded region maps, not binary masks; binarise before scoring."""
    return image_mask_pairs(
        root, masks="edgemask", mask_suffix="_edgemask", fake_dirs="4cam_splc", real_dirs="4cam_auth"
    )


def _folder_fields(dirs: list[str], genimage: bool) -> dict[str, str | None]:
    """split / category / generator from the folders between the root and the label folder."""
    dirs = list(dirs)
    split = category = None
    if genimage:  # GenImage: <generator>/<train|val>/<ai|nature>
        if dirs and split_name(dirs[-1]):
            split = split_name(dirs.pop())
    else:  # CNNDetection: [<split>/][<generator>/][<lsun category>/]<0_real|1_fake>
        if dirs and dirs[-1].lower() in LSUN_CATEGORIES:
            category = dirs.pop()
        if dirs and split_name(dirs[0]):
            split = split_name(dirs.pop(0))
    return {"split": split, "category": category, "subset": dirs[-1] if dirs else None}


@adapter(
    "real_fake_folders",
    "image",
    "0_real/1_fake folders (CNNDetection, UniversalFakeDetect) or nature/ai "
    "(GenImage); generator = the folder above",
    "Wang et al. 2020 CNNDetection; Ojha et al. 2023 UniversalFakeDetect; Zhu et al. 2023 GenImage",
)
def real_fake_folders(
    root: Path, *, real: str = "0_real,nature,real", fake: str = "1_fake,ai,fake"
) -> Manifest:
    """The deepest folder named in `real`/`fake` labels an image; the folder above it (skipping an LSUN
    category or a split name) is the subset, also attrs['generator'] for fakes (for reals: their source)."""
    reals, fakes = {w.lower() for w in options_list(real)}, {w.lower() for w in options_list(fake)}
    items, unlabelled = [], 0
    for path in files(root, IMAGE_EXTS):
        parts = path.relative_to(root).parts[:-1]
        idx = next((i for i in range(len(parts) - 1, -1, -1) if parts[i].lower() in reals | fakes), None)
        if idx is None:
            unlabelled += 1
            continue
        word = parts[idx].lower()
        info = _folder_fields(list(parts[:idx]), genimage=word in ("ai", "nature"))
        label = "fake" if word in fakes else "real"
        attrs = {k: v for k, v in (("subset", info["subset"]), ("category", info["category"])) if v}
        if label == "fake" and info["subset"]:
            attrs["generator"] = info["subset"]
        items.append(
            Item(path=rel(path, root), label=label, label_raw=parts[idx], split=info["split"], attrs=attrs)
        )
    notes = [f"{unlabelled} image(s) outside any real/fake folder left out"] if unlabelled else []
    return Manifest(items, root, notes)
