"""Text and image-text layouts: LIAR TSVs, FakeNewsNet (CSV release and 2018 JSON release), DGM4 metadata."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..manifest import Item, Manifest, ManifestError
from ._util import options_list, read_csv, read_json, rel, split_name
from .registry import adapter

LIAR_COLUMNS = (
    "id",
    "label",
    "statement",
    "subject",
    "speaker",
    "job",
    "state",
    "party",
    "barely_true_count",
    "false_count",
    "half_true_count",
    "mostly_true_count",
    "pants_on_fire_count",
    "context",
)
LIAR_FAKE = "pants-fire,false,barely-true"


def _liar_item(row: list[str], split: str, fakes: set[str]) -> Item:
    values = dict(zip(LIAR_COLUMNS, [*row, *[""] * (len(LIAR_COLUMNS) - len(row))], strict=False))
    attrs: dict[str, Any] = {
        k: values[k] for k in ("id", "subject", "speaker", "job", "state", "party", "context") if values[k]
    }
    attrs["credit_history"] = [values[k] for k in LIAR_COLUMNS[8:13]]
    return Item(
        label="fake" if values["label"] in fakes else "real",
        label_raw=values["label"],
        text=values["statement"],
        split=split,
        attrs=attrs,
    )


@adapter(
    "liar",
    "text",
    "LIAR: train.tsv / valid.tsv / test.tsv, 14 columns, no header; six labels -> binary",
    "LIAR v1.0 (Wang 2017) release README",
)
def liar(root: Path, *, fake: str = LIAR_FAKE) -> Manifest:
    """pants-fire, false and barely-true -> fake; half-true, mostly-true and true -> real (the common
    binarisation; LIAR has no official binary label). The six-way label is kept in label_raw. The credit
    history counts include the statement's own label (a known leak): they stay in attrs, not as features."""
    fakes = set(options_list(fake))
    tsvs = [root] if root.is_file() else [root / f"{n}.tsv" for n in ("train", "valid", "test")]
    tsvs = [p for p in tsvs if p.is_file()]
    if not tsvs:
        raise ManifestError(f"{root}: no train.tsv, valid.tsv or test.tsv (LIAR layout)")
    items, short = [], 0
    for tsv in tsvs:
        for row in read_csv(tsv, delimiter="\t", header=False):
            if len(row) < 3:
                short += bool(row)
                continue
            items.append(_liar_item(row, split_name(tsv.stem) or tsv.stem, fakes))
    return Manifest(items, tsvs[0].parent, [f"{short} line(s) with under 3 columns skipped"] if short else [])


def _domain(url: str) -> str:
    return re.sub(r"^(https?://)?(www\.)?", "", url or "").split("/")[0].lower()


def _fnn_csv(root: Path, csvs: list[Path]) -> Manifest:
    items = []
    for path in csvs:
        subset, label = path.stem.rsplit("_", 1)
        for row in read_csv(path):
            tweets = [t for t in re.split(r"\s+", row.get("tweet_ids") or "") if t]
            items.append(
                Item(
                    label=label,
                    text=row.get("title") or "",
                    group=row.get("id") or None,
                    attrs={
                        "id": row.get("id"),
                        "subset": subset,
                        "news_url": row.get("news_url"),
                        "domain": _domain(row.get("news_url", "")),
                        "n_tweets": len(tweets),
                    },
                )
            )
    return Manifest(
        [i for i in items if i.text],
        root,
        [f"{sum(not i.text for i in items)} row(s) without a title skipped"]
        if any(not i.text for i in items)
        else [],
    )


def _fnn_json(root: Path, folders: list[Path]) -> Manifest:
    items, bad = [], 0
    for folder in folders:
        label = "fake" if folder.name.lower().startswith("fake") else "real"
        for path in sorted(folder.glob("*.json")):
            try:
                article = read_json(path)
            except ManifestError:
                bad += 1
                continue
            items.append(
                Item(
                    path=rel(path, root),
                    label=label,
                    text=str(article.get("text") or "") or None,
                    group=path.stem.removesuffix("-Webpage"),
                    attrs={
                        "subset": folder.parent.name,
                        "title": article.get("title"),
                        "source": _domain(str(article.get("source") or "")),
                        "n_images": len(re.findall(r"https?://", str(article.get("images") or ""))),
                    },
                )
            )
    return Manifest(items, root, [f"{bad} unreadable article file(s) skipped"] if bad else [])


@adapter(
    "fakenewsnet",
    "text",
    "FakeNewsNet: <politifact|gossipcop>_<fake|real>.csv (id,news_url,title,"
    "tweet_ids) or the 2018 Data/<site>/<Fake|Real>NewsContent/*.json",
    "KaiDMML/FakeNewsNet (Shu et al. 2020)",
)
def fakenewsnet(root: Path) -> Manifest:
    """CSV release: one text item per row (text = title, the only text it ships), group = news id. 2018 JSON
    release (../shared/data/fakenewsnet): one item per article file, text = body, publisher = attrs['source'].
    """
    csvs = sorted(p for p in root.rglob("*.csv") if re.search(r"_(fake|real)$", p.stem))
    if csvs:
        return _fnn_csv(root, csvs)
    folders = sorted(p for p in root.rglob("*NewsContent") if p.is_dir())
    if folders:
        return _fnn_json(root, folders)
    raise ManifestError(f"{root}: no *_fake.csv / *_real.csv nor *NewsContent/ folders (FakeNewsNet layouts)")


def _dgm4_item(entry: dict, base: Path, split: str) -> Item:
    image = str(entry.get("image", ""))
    if image.startswith(base.name + "/"):
        image = image[len(base.name) + 1 :]
    kind = str(entry.get("fake_cls", ""))
    box = entry.get("fake_image_box") or []
    has_box = len(box) == 4 and any(float(v) for v in box)
    return Item(
        path=image or None,
        label="real" if kind == "orig" else "fake",
        label_raw=kind,
        text=entry.get("text"),
        boxes=[[float(v) for v in box]] if has_box else None,
        tokens=[int(t) for t in entry.get("fake_text_pos") or []] or None,
        group=str(entry["id"]) if "id" in entry else None,
        split=split,
        attrs={"manipulation": kind},
    )


@adapter(
    "dgm4",
    "image+text",
    "DGM4: metadata/{train,val,test}.json lists {id, image, text, fake_cls, fake_image_box, fake_text_pos}",
    "rshaojimmy/MultiModal-DeepFake (Shao et al. 2023, HAMMER)",
)
def dgm4(root: Path) -> Manifest:
    """fake_cls 'orig' -> real, anything else (face_swap, face_attribute, text_swap, text_attribute and their
    '&' combinations) -> fake with fake_cls in label_raw; fake_image_box [x0, y0, x1, y1] pixels -> boxes;
    fake_text_pos word indices -> tokens. Image paths 'DGM4/...' resolve from the DGM4 folder."""
    if root.is_file():
        jsons, base = [root], root.parent.parent if root.parent.name == "metadata" else root.parent
    else:
        jsons, base = sorted((root / "metadata").glob("*.json")) or sorted(root.glob("*.json")), root
    if not jsons:
        raise ManifestError(f"{root}: no metadata/*.json (DGM4 layout)")
    items = []
    for path in jsons:
        entries = read_json(path)
        if not isinstance(entries, list):
            raise ManifestError(f"{path}: expected a JSON list of samples")
        items.extend(_dgm4_item(e, base, split_name(path.stem) or path.stem) for e in entries)
    return Manifest(items, base)
