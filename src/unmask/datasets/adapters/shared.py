"""Any labelled table (`table`), and the project's ../shared/data folders, most of which ship a manifest.csv.

The shared folders' READMEs give their columns: casia1 (path,label,manipulation,mask,group), aigi_photos
(path,label,generator), dfdc_faces (path,label,video,source_video), speech_demos (path,label,system,source),
speech_more (path,label,system,source_repo,commit,language,speaker,corpus,licence,duration_s), weibo_ced
(path,label; each path a JSON post) and mediaeval_vmu (devset_image_labels.csv: path,label,label_source,event,
plus posts.txt). `liar` and `fakenewsnet` live in `text.py` (they read the raw release).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..manifest import Item, Manifest, ManifestError, item_from_row
from ._util import options_list, read_csv, read_json, require
from .registry import adapter


def _table_rows(file: Path) -> list[dict[str, Any]]:
    if file.suffix.lower() == ".jsonl":
        lines = file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    if file.suffix.lower() == ".json":
        data = read_json(file)
        if not isinstance(data, list):
            raise ManifestError(f"{file}: expected a JSON list of rows")
        return data
    return read_csv(file, delimiter="\t" if file.suffix.lower() in (".tsv", ".txt") else ",")


def _label_of(value: Any, fake: list[str], real: list[str]) -> str | None:
    word = str(value).strip().lower()
    if word in fake:
        return "fake"
    if word in real:
        return "real"
    return None


@adapter(
    "table",
    "any",
    "any CSV/TSV/JSONL with a path (or text) and a label column; columns mapped by options",
    "unmask's own manifest convention; the shared data's manifest.csv files",
)
def table(
    root: Path,
    *,
    file: str = "manifest.csv",
    path: str = "path",
    label: str = "label",
    fake: str = "fake,1,true,spoof,manipulated,tampered",
    real: str = "real,0,false,bonafide,authentic,original",
    group: str = "group",
    split: str = "split",
    text: str = "text",
    mask: str = "mask",
) -> Manifest:
    """Map a table's columns onto the manifest; rows whose label is neither in `fake` nor `real` are skipped
    (counted in the notes). Manifest columns (label_raw, segments, boxes, tokens, attrs) are decoded and
    validated as `Manifest.read` does; other columns become attrs; another label word stays in label_raw."""
    source = root if root.is_file() else require(root / file, "the table to convert")
    fakes, reals = [w.lower() for w in options_list(fake)], [w.lower() for w in options_list(real)]
    mapping = {"path": path, "group": group, "split": split, "text": text, "mask": mask}
    renamed = {col for col in (*mapping.values(), label) if col}
    items: list[Item] = []
    skipped: Counter[str] = Counter()
    for number, row in enumerate(_table_rows(source), 1):
        value = row.get(label)
        y = _label_of(value, fakes, reals)
        if y is None:
            skipped[str(value)] += 1
            continue
        fields = {k: v for k, v in row.items() if k not in renamed and k not in mapping}
        fields.update({name: row.get(col) for name, col in mapping.items() if col})
        fields["label"] = y
        if str(value).strip().lower() != y and not fields.get("label_raw"):
            fields["label_raw"] = str(value)
        try:
            items.append(item_from_row(fields))
        except ValueError as exc:
            raise ManifestError(f"{source}: row {number}: {exc}") from None
    notes = [f"skipped {n} row(s) labelled {v!r} (neither fake nor real)" for v, n in sorted(skipped.items())]
    return Manifest(items, source.parent, notes)


@adapter(
    "casia1",
    "image",
    "../shared/data/casia1: manifest.csv (path,label,manipulation,mask,group)",
    "CASIA TIDE v1.0 with the corrected masks of Pham et al. 2019, as packed in ../shared/data",
)
def casia1(root: Path) -> Manifest:
    return table(root)


@adapter(
    "aigi_photos",
    "image",
    "../shared/data/aigi_photos: manifest.csv (path,label,generator)",
    "GitHub ML72/AI-Image-Classifier-Playground, as packed in ../shared/data",
)
def aigi_photos(root: Path) -> Manifest:
    return table(root)


@adapter(
    "dfdc_faces",
    "image",
    "../shared/data/dfdc_faces: face crops, group = the real source video",
    "DFDC (Dolhansky et al. 2020) Kaggle face crops, as packed in ../shared/data",
)
def dfdc_faces(root: Path) -> Manifest:
    return table(root, group="source_video")


# speech_demos' `source` values name the demo pages its README cites
_DEMO_REPOS = {"vits_demo": "jaywalnut310/vits-demo", "hifigan_demo": "jik876/hifi-gan-demo"}


@adapter(
    "speech_demos",
    "audio",
    "../shared/data/speech_demos: manifest.csv (path,label,system,source)",
    "VITS and HiFi-GAN demo pages, as packed in ../shared/data",
)
def speech_demos(root: Path) -> Manifest:
    """`system` -> generator for fakes; the `source` demo page also as attrs['source_repo'] (the repository it
    came from), the attribute speech_more uses, so the two folders pool."""
    manifest = table(root)
    for item in manifest:
        if item.label == "fake" and "system" in item.attrs:
            item.attrs.setdefault("generator", item.attrs["system"])
        if item.attrs.get("source"):
            item.attrs.setdefault("source_repo", _DEMO_REPOS.get(item.attrs["source"], item.attrs["source"]))
    return manifest


@adapter(
    "speech_more",
    "audio",
    "../shared/data/speech_more: manifest.csv (path,label,system,source_repo,commit,language,speaker,corpus,"
    "licence,duration_s)",
    "public TTS / vocoder / voice-conversion demo repositories on GitHub, as packed in ../shared/data",
)
def speech_more(root: Path) -> Manifest:
    """group = source_repo: a vocoder demo holds a real recording and its resyntheses (same words, same
    speaker), so a repository stays in one fold. Fakes get generator = system (real clips have system
    bona_fide); speaker, corpus, language, source_repo, commit and licence stay in attrs, duration_s as a
    number."""
    manifest = table(root)
    for item in manifest:
        repo = item.attrs.get("source_repo")
        if not repo:
            raise ManifestError(
                f"{root}: {item.path} has no source_repo: not the speech_more layout "
                "(manifest.csv with path,label,system,source_repo,...)"
            )
        item.group = repo
        if item.label == "fake" and item.attrs.get("system"):
            item.attrs.setdefault("generator", item.attrs["system"])
        if "duration_s" in item.attrs:
            with contextlib.suppress(ValueError):
                item.attrs["duration_s"] = float(item.attrs["duration_s"])
    return manifest


@adapter(
    "weibo_ced",
    "text",
    "../shared/data/weibo_ced: manifest.csv of JSON posts; text read from each post",
    "thunlp/Chinese_Rumor_Dataset (Song et al. 2018), as packed in ../shared/data",
)
def weibo_ced(root: Path) -> Manifest:
    manifest = table(root)
    unreadable = 0
    for item in manifest:
        item.group = Path(item.path or "").stem or None
        try:
            post = json.loads(manifest.resolve(item.path).read_text(encoding="utf-8"))
            item.text = str(post.get("text") or "") or None
        except (OSError, ValueError, AttributeError):
            unreadable += 1
    if unreadable:
        manifest.notes.append(f"{unreadable} post file(s) could not be read; their text is left empty")
    return manifest


def _event_of(image_id: str) -> str:
    """MediaEval image ids are '<event>_<fake|real>_<n>' (boston_fake_03): the event part."""
    for word in ("_fake", "_real"):
        if word in image_id:
            return image_id.split(word)[0]
    return image_id.rsplit("_", 1)[0]


def _mediaeval_posts(root: Path) -> Manifest:
    found = sorted(root.rglob("posts.txt"))
    if not found:
        raise ManifestError(f"{root}: no posts.txt (MediaEval 2016 tweets) under this folder")
    items, skipped = [], 0
    for posts in found:
        for row in read_csv(posts, delimiter="\t"):
            label = (row.get("label") or "").strip().lower()
            if label not in ("real", "fake"):
                skipped += 1
                continue
            images = options_list(row.get("image_id(s)"))
            items.append(
                Item(
                    label=label,
                    label_raw=row.get("label"),
                    text=row.get("post_text") or "",
                    group=_event_of(images[0]) if images else None,
                    attrs={
                        "post_id": row.get("post_id"),
                        "user_id": row.get("user_id"),
                        "image_ids": images,
                        "file": posts.relative_to(root).as_posix(),
                    },
                )
            )
    return Manifest(items, root, [f"skipped {skipped} post(s) with another label"] if skipped else [])


@adapter(
    "mediaeval_vmu",
    "image",
    "../shared/data/mediaeval_vmu: images (devset_image_labels.csv) or "
    "tweets (--opt items=posts); group = event",
    "MediaEval 2016 Verifying Multimedia Use, MKLab-ITI/image-verification-corpus",
)
def mediaeval_vmu(root: Path, *, items: str = "images") -> Manifest:
    """`items=images`: one row per labelled image (the 4 'unknown' ones skipped); `items=posts`: one text row
    per tweet of posts.txt, group = the event of its first image. MediaEval splits are by event."""
    if items == "posts":
        return _mediaeval_posts(root)
    if items != "images":
        raise ManifestError(f"mediaeval_vmu: items must be 'images' or 'posts', not {items!r}")
    return table(root, file="devset_image_labels.csv", group="event")
