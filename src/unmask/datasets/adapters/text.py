"""Text and image-text layouts: LIAR TSVs, FakeNewsNet (CSV release, its crawled articles, the 2018 JSON release;
GossipCop and PolitiFact on their own), CoAID, Twitter15/16, Fakeddit, NewsCLIPpings and DGM4 metadata.

Attribute names shared by these adapters: `domain` = the web host a text came from (news_url's, or Fakeddit's own
domain column), `topic` = the subject area where the dataset fixes or records it (politics, entertainment, health:
what multi-domain models call the domain), `source` = the outlet (a VisualNews newspaper)."""

from __future__ import annotations

import os
import re
from collections import Counter
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


FNN_TOPICS = {"politifact": "politics", "gossipcop": "entertainment"}
FNN_ARTICLE = "news content.json"


def _fnn_crawled(root: Path, subsets: set[str]) -> dict[tuple[str, str, str], Path]:
    """The FakeNewsNet crawler's `<subset>/<fake|real>/<news id>/news content.json` files, in ROOT or one folder
    down (`fakenewsnet_dataset/`): (subset, label, id) -> file. Depth is bounded: a crawl holds millions of tweet
    files, which a recursive walk would visit."""
    if not root.is_dir():
        return {}
    found: dict[tuple[str, str, str], Path] = {}
    for base in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        for subset in sorted(subsets):
            for label in ("fake", "real"):
                for path in sorted((base / subset / label).glob(f"*/{FNN_ARTICLE}")):
                    found.setdefault((subset, label, path.parent.name), path)
    return found


def _fnn_manifest(
    root: Path, csvs: list[Path], crawled: dict[tuple[str, str, str], Path], text: str
) -> Manifest:
    """Items from the `<subset>_<fake|real>.csv` rows (or, without CSVs, from the crawled folders alone), with the
    crawled article attached when there is one. text='title' (the CSV's; the article's title without CSVs) or
    'body' (the crawled article's text: rows without one are skipped, not given their title, so the two kinds
    of text never mix)."""
    rows: list[tuple[str, str, dict[str, str]]] = []
    for path in csvs:
        subset, label = path.stem.rsplit("_", 1)
        rows.extend((subset, label, row) for row in read_csv(path))
    if not csvs:
        rows = [(subset, label, {"id": news_id}) for subset, label, news_id in sorted(crawled)]
    items, bad, empty = [], 0, 0
    for subset, label, row in rows:
        news_id = (row.get("id") or "").strip()
        article = crawled.get((subset, label, news_id))
        content: dict[str, Any] = {}
        if article is not None and (text == "body" or not csvs):
            try:
                loaded = read_json(article)
                content = loaded if isinstance(loaded, dict) else {}
            except ManifestError:
                bad += 1
        url = row.get("news_url") or str(content.get("url") or "")
        attrs: dict[str, Any] = {
            "id": news_id or None,
            "subset": subset,
            "topic": FNN_TOPICS.get(subset),
            "news_url": url or None,
            "domain": _domain(url) or None,
            "article": rel(article, root) if article is not None else None,
        }
        if "tweet_ids" in row:
            attrs["n_tweets"] = len([t for t in re.split(r"\s+", row.get("tweet_ids") or "") if t])
        body = (
            str(content.get("text") or "")
            if text == "body"
            else row.get("title") or str(content.get("title") or "")
        )
        if not body.strip():
            empty += 1
            continue
        attrs = {k: v for k, v in attrs.items() if v is not None}
        items.append(Item(label=label, text=body, group=news_id or None, attrs=attrs))
    notes = [f"{bad} unreadable article file(s)"] if bad else []
    if empty:
        what = "a crawled article body" if text == "body" else "a title"
        notes.append(f"{empty} row(s) without {what} skipped")
    return Manifest(items, root, notes)


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
    """CSV release: one text item per row (text = title, the only text it ships), group = news id, topic politics
    (PolitiFact) or entertainment (GossipCop); a crawled `news content.json` found beside it is named in
    attrs['article'] (`gossipcop` / `politifact` can use its body). 2018 JSON release (../shared/data/fakenewsnet):
    one item per article file, text = body, publisher = attrs['source'].
    """
    csvs = sorted(p for p in root.rglob("*.csv") if re.search(r"_(fake|real)$", p.stem))
    if csvs:
        return _fnn_manifest(
            root, csvs, _fnn_crawled(root, {p.stem.rsplit("_", 1)[0] for p in csvs}), "title"
        )
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


def _fnn_site(root: Path, subset: str, text: str) -> Manifest:
    if text not in ("title", "body"):
        raise ManifestError(f"{subset}: text must be 'title' or 'body', not {text!r}")
    names = {f"{subset}_fake.csv", f"{subset}_real.csv"}
    if root.is_file():
        if root.name not in names:
            raise ManifestError(f"{root}: not {' or '.join(sorted(names))} (FakeNewsNet {subset} layout)")
        return _fnn_manifest(root.parent, [root], {}, text)
    csvs = sorted(
        p for pattern in ("*.csv", "*/*.csv", "*/*/*.csv") for p in root.glob(pattern) if p.name in names
    )
    crawled = _fnn_crawled(root, {subset})
    if not csvs and not crawled:
        raise ManifestError(
            f"{root}: no {subset}_fake.csv / {subset}_real.csv (FakeNewsNet dataset/) nor "
            f"{subset}/<fake|real>/<id>/{FNN_ARTICLE} (its crawler's output) here or one folder down"
        )
    return _fnn_manifest(root, csvs, crawled, text)


@adapter(
    "gossipcop",
    "text",
    "FakeNewsNet GossipCop: gossipcop_<fake|real>.csv (id,news_url,title,tweet_ids) and/or the crawled "
    "gossipcop/<fake|real>/<id>/news content.json",
    "KaiDMML/FakeNewsNet README (Shu et al. 2020)",
)
def gossipcop(root: Path, *, text: str = "title") -> Manifest:
    """Entertainment news checked by GossipCop. Label from the file or folder name; group = news id
    ('gossipcop-123', shared by a row and its crawled article); attrs topic 'entertainment', news_url, domain
    (the publisher's host), n_tweets, article (the crawled file, when there). `text=title` (default: every row has
    one) or `text=body` (the crawled article text; rows whose article was not crawled or is empty are skipped and
    counted, since dead links are not spread evenly over the classes)."""
    return _fnn_site(root, "gossipcop", text)


@adapter(
    "politifact",
    "text",
    "FakeNewsNet PolitiFact: politifact_<fake|real>.csv (id,news_url,title,tweet_ids) and/or the crawled "
    "politifact/<fake|real>/<id>/news content.json",
    "KaiDMML/FakeNewsNet README (Shu et al. 2020)",
)
def politifact(root: Path, *, text: str = "title") -> Manifest:
    """Political news checked by PolitiFact; as `gossipcop` with topic 'politics' and ids 'politifact123'."""
    return _fnn_site(root, "politifact", text)


COAID_FILE = re.compile(r"(News|Claim)(Fake|Real)COVID-19")
COAID_TEXT = ("title", "newstitle", "content", "abstract")


def _coaid_tweets(path: Path) -> Counter[str]:
    """Tweets per news/claim row from a `*_tweets.csv` (columns index,tweet_id; the index is the row's id)."""
    if not path.is_file():
        return Counter()
    rows = read_csv(path)
    key = next((k for k in ("index", "news_id", "id") if rows and k in rows[0]), None)
    return Counter((row.get(key) or "").strip() for row in rows) if key else Counter()


@adapter(
    "coaid",
    "text",
    "CoAID: <MM-DD-YYYY>/{News,Claim}{Fake,Real}COVID-19.csv (+ _tweets.csv): news_url, title, newstitle, "
    "content; group = the publishing site",
    "cuilimeng/CoAID (Cui & Lee 2020)",
)
def coaid(root: Path, *, text: str = "title", group: str = "site") -> Manifest:
    """COVID-19 health news and claims, labelled by the file name (Fake -> fake, Real -> real); one text item
    per row of every News*/Claim* CSV in ROOT or its snapshot folders (05-01-2020 ... 11-01-2020).

    `text`: the column used, `title` (default; every row has one), `newstitle`, `content` or `abstract` (news
    rows without it are skipped and counted; claims have only `title`, which they keep). Beware: in the fake
    News files `title` is the fact-checker's wording of the claim ("Posts claim ..."), in the real ones the
    headline, so a title model may learn the wording; `newstitle`/`content` are the scraped article's.
    `group=site` (default) puts every item of one publishing site (news_url's host, else fact_check_url's) in
    one fold: real news come from a few health sites and fake ones from social posts, so a random split lets a
    model learn the site; `group=url` groups by news_url only (claims that share a myth-list page stay together).
    attrs: kind (news, claim), type (article, post), snapshot (the folder), domain, news_url, fact_check_url,
    n_tweets (from the _tweets.csv), topic 'health'."""
    if text not in COAID_TEXT:
        raise ManifestError(f"coaid: text must be one of {', '.join(COAID_TEXT)}, not {text!r}")
    if group not in ("site", "url"):
        raise ManifestError(f"coaid: group must be 'site' or 'url', not {group!r}")
    base = root.parent if root.is_file() else root
    found = [root] if root.is_file() else [*root.glob("*.csv"), *root.glob("*/*.csv")]
    csvs = sorted(p for p in found if COAID_FILE.fullmatch(p.stem))
    if not csvs:
        raise ManifestError(
            f"{root}: no NewsFakeCOVID-19.csv, NewsRealCOVID-19.csv, ClaimFakeCOVID-19.csv or ClaimRealCOVID-19.csv "
            "here or in a snapshot folder (CoAID layout)"
        )
    items, skipped = [], 0
    for path in csvs:
        match = COAID_FILE.fullmatch(path.stem)
        kind, label = ("news" if match.group(1) == "News" else "claim"), match.group(2).lower()
        tweets = _coaid_tweets(path.with_name(f"{path.stem}_tweets.csv"))
        snapshot = path.parent.name if re.fullmatch(r"\d{1,2}\D\d{1,2}\D\d{4}", path.parent.name) else None
        for row in read_csv(path):
            row_id = (row.get("") or row.get("id") or row.get("Unnamed: 0") or "").strip()
            body = (row.get(text if kind == "news" else "title") or "").strip().strip('"')
            if not body:
                skipped += 1
                continue
            url, check = (row.get("news_url") or "").strip(), (row.get("fact_check_url") or "").strip()
            site = _domain(url) or _domain(check)
            attrs = {
                "id": row_id,
                "kind": kind,
                "type": (row.get("type") or "").strip(),
                "snapshot": snapshot,
                "domain": site,
                "news_url": url,
                "fact_check_url": check,
                "n_tweets": tweets.get(row_id, 0),
                "topic": "health",
            }
            items.append(
                Item(
                    label=label,
                    text=body,
                    group=(site if group == "site" else url or check) or None,
                    attrs={k: v for k, v in attrs.items() if v not in (None, "")},
                )
            )
    notes = [f"{skipped} row(s) without a {text} skipped"] if skipped else []
    return Manifest(items, base, notes)


RUMOUR_LABELS = {"false": "fake", "true": "real", "non-rumor": "real", "non-rumour": "real"}


def _rumour_tree_edges(path: Path) -> int | None:
    """Reply/retweet edges in a tree file (lines "['uid', 'tid', 'delay']->['uid', 'tid', 'delay']") minus the
    ROOT line; None when there is no tree file."""
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return sum(1 for line in lines if "->" in line and not line.startswith("['ROOT'"))


@adapter(
    "twitter15_16",
    "text",
    "Twitter15/16 rumour trees: twitter15/ and twitter16/ with label.txt (label:tweet_id), source_tweets.txt "
    "(tweet_id<TAB>text), tree/<id>.txt",
    "Ma, Gao & Wong 2017 (rumor_detection_acl2017 release)",
)
def twitter15_16(root: Path) -> Manifest:
    """Source tweets of the Twitter15 and Twitter16 rumour sets, four labels kept in label_raw: **false -> fake;
    true and non-rumor -> real; unverified -> skipped** (counted in a note: no veracity was established, so
    neither binary label is right). Note that 'true' is a rumour later confirmed and 'non-rumor' not a rumour at
    all; both are real news. group = the tweet id: the two sets share some source tweets, which must stay in one
    fold when pooled. No official split (papers use 5-fold CV). attrs: tweet_id, subset (twitter15, twitter16),
    tree_edges (replies and retweets in tree/<id>.txt, when present)."""
    folders = (
        [root]
        if (root / "label.txt").is_file()
        else sorted(p.parent for pattern in ("*/label.txt", "*/*/label.txt") for p in root.glob(pattern))
    )
    if not folders:
        raise ManifestError(f"{root}: no label.txt here or in twitter15/, twitter16/ (Twitter15/16 layout)")
    items, skipped, no_text = [], Counter(), 0
    for folder in folders:
        source = folder / "source_tweets.txt"
        if not source.is_file():
            raise ManifestError(f"{source}: not found (Twitter15/16 layout: tweet_id<TAB>text per line)")
        texts = {}
        for line in source.read_text(encoding="utf-8", errors="replace").splitlines():
            tweet_id, _, tweet = line.partition("\t")
            texts[tweet_id.strip()] = tweet.strip()
        for line in (folder / "label.txt").read_text(encoding="utf-8").splitlines():
            if ":" not in line:
                continue
            raw, _, tweet_id = (part.strip() for part in line.partition(":"))
            label = RUMOUR_LABELS.get(raw.lower())
            if label is None:
                skipped[raw] += 1
                continue
            if not texts.get(tweet_id):
                no_text += 1
                continue
            attrs: dict[str, Any] = {"tweet_id": tweet_id, "subset": folder.name}
            edges = _rumour_tree_edges(folder / "tree" / f"{tweet_id}.txt")
            if edges is not None:
                attrs["tree_edges"] = edges
            items.append(Item(label=label, label_raw=raw, text=texts[tweet_id], group=tweet_id, attrs=attrs))
    notes = [
        f"skipped {n} tweet(s) labelled {raw!r} (neither fake nor real)" for raw, n in sorted(skipped.items())
    ]
    if no_text:
        notes.append(f"{no_text} labelled tweet(s) missing from source_tweets.txt skipped")
    return Manifest(items, root, notes)


FAKEDDIT_6WAY = (
    "true",
    "satire/parody",
    "misleading content",
    "imposter content",
    "false connection",
    "manipulated content",
)
FAKEDDIT_FILE = re.compile(r"(multimodal|all)_(train|validate|test_public)")
FAKEDDIT_SPLITS = {"train": "train", "validate": "val", "test_public": "test"}


def _label_int(value: str) -> int | None:
    """A class number written '2' or '2.0' (pandas wrote the TSVs); None otherwise."""
    value = value.strip()
    return int(float(value)) if re.fullmatch(r"\d+(\.0)?", value) else None


def _fakeddit_images(root: Path, images: str) -> tuple[Path | None, dict[str, str]]:
    """The image folder (`--opt images=DIR`, else public_image_set/ or images/) and id -> file name in it."""
    candidates = [root / images] if images else [root / "public_image_set", root / "images"]
    folder = next((c for c in candidates if c.is_dir()), None)
    if folder is None:
        if images:
            raise ManifestError(f"{root / images}: no such image folder (fakeddit --opt images)")
        return None, {}
    with_ext = {".jpg", ".jpeg", ".png", ".gif", ".webp"}
    return folder, {
        Path(e.name).stem: e.name for e in os.scandir(folder) if Path(e.name).suffix.lower() in with_ext
    }


@adapter(
    "fakeddit",
    "image+text",
    "Fakeddit: multimodal_{train,validate,test_public}.tsv (clean_title, id, 2_way_label, 6_way_label, "
    "subreddit, ...), images public_image_set/<id>.jpg",
    "entitize/Fakeddit (Nakamura, Levy & Wang 2020, LREC)",
)
def fakeddit(
    root: Path, *, files: str = "multimodal", images: str = "", require_image: str = "no"
) -> Manifest:
    """Reddit posts labelled by distant supervision (each subreddit is all one class). **2_way_label 1 = true
    (real), 0 = fake**; the release README does not state it: it follows the paper's order (true first, 6-way
    label 0 = 'true') and the loaders that use the data, and every row is checked against the 6-way label (0 =
    true, 1-5 satire/parody, misleading, imposter, false connection, manipulated content), disagreements noted.
    label_raw = the 6-way class name; text = clean_title; path = the image when its file is there
    (`require_image=yes` skips posts without one, for the paper's image+text setting). `files=multimodal`
    (default, the paper's samples with an image) or `all` (all_*.tsv, text-only posts too); split from the file
    name (validate -> val, test_public -> test).

    group = the submission a post belongs to: its own id, or for a r/photoshopbattles edit (comment-based rows,
    6-way 'manipulated content') its `linked_submission_id`, so a photoshop and the photo it edits stay in one
    fold. Not the subreddit: it fixes the label, so subreddit groups would hold one class each; hold subreddits
    out through attrs['subreddit'] to test that shortcut. attrs: id, subreddit, domain, author, image_url,
    3_way_label, 6_way_label, linked_submission_id."""
    kind = files.strip().lower()
    if kind not in ("multimodal", "all"):
        raise ManifestError(f"fakeddit: files must be 'multimodal' or 'all', not {files!r}")
    if require_image not in ("yes", "no"):
        raise ManifestError(f"fakeddit: require_image must be 'yes' or 'no', not {require_image!r}")
    if root.is_file():
        base, tsvs = root.parent, [root] if FAKEDDIT_FILE.fullmatch(root.stem) else []
    else:
        base = root
        tsvs = sorted(
            p
            for pattern in ("*.tsv", "*/*.tsv")
            for p in root.glob(pattern)
            if (m := FAKEDDIT_FILE.fullmatch(p.stem)) and m.group(1) == kind
        )
    if not tsvs:
        raise ManifestError(
            f"{root}: no {kind}_train.tsv, {kind}_validate.tsv or {kind}_test_public.tsv (Fakeddit layout)"
        )
    folder, found = _fakeddit_images(base, images)
    items, bad_label, disagree, no_image = [], 0, 0, 0
    for tsv in tsvs:
        split = FAKEDDIT_SPLITS[FAKEDDIT_FILE.fullmatch(tsv.stem).group(2)]
        for row in read_csv(tsv, delimiter="\t"):
            two, six = (row.get("2_way_label") or "").strip(), (row.get("6_way_label") or "").strip()
            if two.split(".")[0] not in ("0", "1"):
                bad_label += 1
                continue
            label = "real" if two.startswith("1") else "fake"
            six_i = _label_int(six)
            if six_i is not None and (six_i == 0) != (label == "real"):
                disagree += 1
            post_id = (row.get("id") or "").strip()
            image = found.get(post_id)
            if image is None and require_image == "yes":
                no_image += 1
                continue
            linked = (row.get("linked_submission_id") or "").strip()
            linked = "" if linked.lower() in ("nan", "none", "null") else linked
            attrs = {
                "id": post_id,
                "subreddit": (row.get("subreddit") or "").strip(),
                "domain": (row.get("domain") or "").strip(),
                "author": (row.get("author") or "").strip(),
                "image_url": (row.get("image_url") or "").strip(),
                "3_way_label": _label_int(row.get("3_way_label") or ""),
                "6_way_label": six_i,
                "linked_submission_id": linked,
            }
            items.append(
                Item(
                    path=rel(folder / image, base) if image and folder else None,
                    label=label,
                    label_raw=FAKEDDIT_6WAY[six_i]
                    if six_i is not None and six_i < len(FAKEDDIT_6WAY)
                    else None,
                    text=(row.get("clean_title") or "").strip() or None,
                    group=linked or post_id or None,
                    split=split,
                    attrs={k: v for k, v in attrs.items() if v not in (None, "")},
                )
            )
    empty = sum(1 for i in items if i.path is None and i.text is None)
    items = [i for i in items if i.path is not None or i.text is not None]
    notes = []
    if bad_label:
        notes.append(f"{bad_label} row(s) without a 0/1 2_way_label skipped")
    if disagree:
        notes.append(
            f"{disagree} row(s) whose 2_way_label disagrees with the 6-way label (kept, by the 2-way label)"
        )
    if no_image:
        notes.append(f"{no_image} post(s) without an image file skipped (require_image=yes)")
    if empty:
        notes.append(f"{empty} post(s) with neither a clean_title nor an image file skipped")
    if folder is None:
        notes.append("no public_image_set/ or images/ folder: text items only")
    return Manifest(items, base, notes)


def _visual_news(root: Path, option: str) -> Path | None:
    """VisualNews' origin/data.json: `--opt visual_news=` (data.json, origin/, or the folder holding origin/), else
    visual_news/, visualnews/ or VisualNews/ beside or above ROOT (the NewsCLIPpings README layout)."""
    if option:
        given = Path(option)
        for path in (given, given / "data.json", given / "origin" / "data.json"):
            if path.is_file():
                return path
        raise ManifestError(f"{given}: no VisualNews data.json (newsclippings --opt visual_news)")
    start = root.parent if root.is_file() else root
    for base in [start, *list(start.parents)[:3]]:
        for name in ("visual_news", "visualnews", "VisualNews"):
            if (base / name / "origin" / "data.json").is_file():
                return base / name / "origin" / "data.json"
        if (base / "origin" / "data.json").is_file():
            return base / "origin" / "data.json"
    return None


def _clippings_files(root: Path, subset: str) -> list[Path]:
    if root.is_file():
        return [root]
    if any((root / f"{s}.json").is_file() for s in ("train", "val", "test")):
        return sorted(root.glob("*.json"))
    data = next(
        (
            d
            for d in (
                root / "data",
                root / "news_clippings" / "data",
                root / "news_clippings" / "news_clippings" / "data",
            )
            if d.is_dir()
        ),
        None,
    )
    if data is None:
        raise ManifestError(
            f"{root}: no data/<subset>/{{train,val,test}}.json (NewsCLIPpings layout: news_clippings/data/...)"
        )
    subsets = sorted(d.name for d in data.iterdir() if d.is_dir() and any(d.glob("*.json")))
    chosen = subsets if subset == "all" else [subset]
    if not set(chosen) <= set(subsets):
        raise ManifestError(
            f"{data}: no subset {subset!r}; found {', '.join(subsets) or 'none'} (or subset=all)"
        )
    return sorted(p for s in chosen for p in (data / s).glob("*.json"))


@adapter(
    "newsclippings",
    "image+text",
    "NewsCLIPpings: news_clippings/data/<subset>/{train,val,test}.json annotations {id, image_id, "
    "similarity_score, falsified}; captions and images from VisualNews origin/data.json",
    "g-luo/news_clippings README (Luo, Darrell & Rohrbach 2021)",
)
def newsclippings(root: Path, *, subset: str = "merged_balanced", visual_news: str = "") -> Manifest:
    """Out-of-context image-caption pairs. **falsified true -> fake** (a caption paired with another story's image,
    retrieved by `similarity_score`: clip_text_image, clip_text_text, sbert_text_text, resnet_place), false ->
    real (VisualNews' own pair). label_raw = the similarity method, or 'pristine'. text = the caption of VisualNews
    sample `id`, path = the image of sample `image_id` (data.json's image_path, relative to origin/, the manifest's
    root); annotations that already carry `caption` / `image_path` are used as they are. group = `id`, the
    caption's story: a pristine pair and its falsified twin share the caption and stay in one fold. split = the
    file (train, val, test). `subset`: merged_balanced (default, the paper's benchmark), another folder of data/,
    or all (the subsets overlap). attrs: id, image_id, subset, similarity_score, source_dataset (merged subsets),
    source (the newspaper) and topic from VisualNews."""
    paths = _clippings_files(root, subset)
    if not paths:
        raise ManifestError(f"{root}: no annotation JSON (NewsCLIPpings layout)")
    data_json = _visual_news(root, visual_news)
    by_id: dict[str, dict] = {}
    if data_json is not None:
        entries = read_json(data_json)
        if not isinstance(entries, list):
            raise ManifestError(f"{data_json}: expected the VisualNews list of samples")
        by_id = {str(e.get("id")): e for e in entries if isinstance(e, dict)}
    base = data_json.parent if data_json is not None else paths[0].parent
    items, missing = [], 0
    for path in paths:
        data = read_json(path)
        annotations = data.get("annotations") if isinstance(data, dict) else None
        if not isinstance(annotations, list):
            raise ManifestError(f"{path}: expected {{'annotations': [...]}} (NewsCLIPpings layout)")
        names = data.get("source_datasets") or []
        for ann in annotations:
            caption_of, image_of = by_id.get(str(ann.get("id")), {}), by_id.get(str(ann.get("image_id")), {})
            caption = ann.get("caption") or caption_of.get("caption")
            image = str(ann.get("image_path") or image_of.get("image_path") or "").removeprefix("./") or None
            if not caption and data_json is None:
                raise ManifestError(
                    f"{path}: annotations carry no caption and no VisualNews origin/data.json was found; "
                    "give it with --opt visual_news=DIR"
                )
            if not caption or not image:
                missing += 1
                continue
            falsified = str(ann.get("falsified")).strip().lower() in ("true", "1")
            method = str(ann.get("similarity_score") or "") or None
            index = ann.get("source_dataset")
            attrs = {
                "id": ann.get("id"),
                "image_id": ann.get("image_id"),
                "subset": path.parent.name,
                "similarity_score": method if falsified else None,
                "source_dataset": names[index]
                if isinstance(index, int) and 0 <= index < len(names)
                else index,
                "source": caption_of.get("source"),
                "topic": caption_of.get("topic"),
            }
            items.append(
                Item(
                    path=image,
                    label="fake" if falsified else "real",
                    label_raw=(method or "falsified") if falsified else "pristine",
                    text=str(caption),
                    group=str(ann.get("id")),
                    split=split_name(path.stem) or path.stem,
                    attrs={k: v for k, v in attrs.items() if v not in (None, "")},
                )
            )
    notes = (
        [f"{missing} annotation(s) whose caption or image is not in VisualNews data.json skipped"]
        if missing
        else []
    )
    return Manifest(items, base, notes)
