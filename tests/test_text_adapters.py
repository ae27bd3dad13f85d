"""The news, rumour and image-text adapters (coaid, gossipcop, politifact, twitter15_16, fakeddit, newsclippings),
each on a tiny fake copy of its release layout built in tmp_path: labels, groups, splits, attrs, and the error a
folder of another layout gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unmask.datasets import Item, Manifest, ManifestError, convert
from unmask.datasets.adapters import available


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def write_json(path: Path, data: object) -> Path:
    return write(path, json.dumps(data))


def by_text(manifest: Manifest) -> dict[str, Item]:
    return {item.text: item for item in manifest}


def test_new_layouts_are_registered() -> None:
    names = {a.name for a in available()}
    assert {"coaid", "gossipcop", "politifact", "twitter15_16", "fakeddit", "newsclippings"} <= names


# --- CoAID ---------------------------------------------------------------------------------------------------

COAID_FAKE_NEWS = (
    ",type,fact_check_url,archive,news_url,news_url2,news_url3,news_url4,news_url5,title,newstitle,content,"
    "abstract,publish_date,meta_keywords\n"
    "0,post,https://factcheck.afp.com/x,,https://www.facebook.com/photo.php?fbid=1,,,,,"
    "Posts claim garlic cures COVID-19.,,,,,\n"
    "17,article,https://healthfeedback.org/y,,https://www.gilmorehealth.com/virus-man-made/,,,,,"
    'A Nobel laureate claimed the virus is man-made.,"""The Virus Is Man Made""",the virus was made in a lab. ,,'
    "2020-04-16,\n"
)
COAID_REAL_NEWS = (
    ",type,fact_check_url,news_url,title,newstitle,content,abstract,publish_date,meta_keywords\n"
    '1555,article,healthline.com,https://www.healthline.com/health-news/masks,Masks Work,"""Masks Work""",'
    "experts recommend masks. ,,,\n"
)
COAID_CLAIMS = (
    ",fact_check_url,news_url,title\n"
    '100000,medicalnewstoday.com,https://www.medicalnewstoday.com/articles/myths,"""Hand dryers kill coronavirus"""\n'
    '100001,medicalnewstoday.com,https://www.medicalnewstoday.com/articles/myths,"""Antibiotics kill coronavirus"""\n'
)


def coaid_layout(root: Path) -> Path:
    write(root / "05-01-2020" / "NewsFakeCOVID-19.csv", COAID_FAKE_NEWS)
    write(
        root / "05-01-2020" / "NewsFakeCOVID-19_tweets.csv", "index,tweet_id\n17,1255263076087185413\n17,12\n"
    )
    write(root / "05-01-2020" / "ClaimFakeCOVID-19.csv", COAID_CLAIMS)
    write(root / "07-01-2020" / "NewsRealCOVID-19.csv", COAID_REAL_NEWS)
    return root


def test_coaid(tmp_path: Path) -> None:
    root = coaid_layout(tmp_path / "CoAID")
    manifest = convert("coaid", root)
    items = by_text(manifest)
    assert manifest.counts() == {"real": 1, "fake": 4} and manifest.root == root
    post = items["Posts claim garlic cures COVID-19."]
    article = items["A Nobel laureate claimed the virus is man-made."]
    real = items["Masks Work"]
    assert (post.label, post.group, post.attrs["type"], post.attrs["kind"]) == (
        "fake",
        "facebook.com",
        "post",
        "news",
    )
    assert (article.attrs["n_tweets"], post.attrs["n_tweets"], article.attrs["snapshot"]) == (
        2,
        0,
        "05-01-2020",
    )
    assert (real.label, real.group, real.attrs["snapshot"], real.attrs["topic"]) == (
        "real",
        "healthline.com",
        "07-01-2020",
        "health",
    )
    claim = items["Hand dryers kill coronavirus"]  # the CSV's tripled quotes are stripped
    assert (claim.label, claim.attrs["kind"], claim.group) == ("fake", "claim", "medicalnewstoday.com")

    content = convert("coaid", root, text="content")
    assert "the virus was made in a lab." in by_text(content)
    assert "Hand dryers kill coronavirus" in by_text(content)  # claims keep their only text
    assert len(content) == 4 and content.notes == ["1 row(s) without a content skipped"]
    assert by_text(convert("coaid", root, text="newstitle"))["The Virus Is Man Made"].label == "fake"

    by_url = by_text(convert("coaid", root, group="url"))
    assert by_url["Masks Work"].group == "https://www.healthline.com/health-news/masks"

    one_file = convert("coaid", root / "07-01-2020" / "NewsRealCOVID-19.csv")
    assert [i.attrs["snapshot"] for i in one_file] == ["07-01-2020"]
    with pytest.raises(ManifestError, match="CoAID layout"):
        convert("coaid", write(tmp_path / "other" / "train.tsv", "x\n").parent)
    with pytest.raises(ManifestError, match="text must be one of"):
        convert("coaid", root, text="body")


# --- FakeNewsNet: GossipCop, PolitiFact ----------------------------------------------------------------------

HEADER = "id,news_url,title,tweet_ids\n"


def fnn_layout(root: Path) -> Path:
    write(root / "dataset" / "gossipcop_fake.csv", HEADER + "gossipcop-1,www.gossip.com/a,Star splits,1\t2\n")
    write(root / "dataset" / "gossipcop_real.csv", HEADER + "gossipcop-9,https://people.com/b,Star weds,\n")
    write(root / "dataset" / "politifact_fake.csv", HEADER + "politifact1,https://fake.org/c,Aliens vote,3\n")
    write_json(
        root / "fakenewsnet_dataset" / "gossipcop" / "fake" / "gossipcop-1" / "news content.json",
        {"url": "www.gossip.com/a", "title": "Star splits", "text": "The body of the gossip."},
    )
    return root


def test_gossipcop_and_politifact(tmp_path: Path) -> None:
    root = fnn_layout(tmp_path / "FakeNewsNet")
    manifest = convert("gossipcop", root)
    items = by_text(manifest)
    assert set(items) == {"Star splits", "Star weds"} and manifest.counts() == {"real": 1, "fake": 1}
    fake = items["Star splits"]
    assert (fake.group, fake.attrs["topic"], fake.attrs["domain"], fake.attrs["n_tweets"]) == (
        "gossipcop-1",
        "entertainment",
        "gossip.com",
        2,
    )
    assert fake.attrs["article"] == "fakenewsnet_dataset/gossipcop/fake/gossipcop-1/news content.json"
    assert "article" not in items["Star weds"].attrs

    body = convert("gossipcop", root, text="body")
    assert [(i.text, i.group) for i in body] == [("The body of the gossip.", "gossipcop-1")]
    assert body.notes == ["1 row(s) without a crawled article body skipped"]

    politics = convert("politifact", root).items
    assert [(i.label, i.group, i.attrs["topic"]) for i in politics] == [("fake", "politifact1", "politics")]

    crawled_only = convert("gossipcop", root / "fakenewsnet_dataset")  # no CSVs: the crawl alone
    assert [(i.label, i.text, i.group, i.attrs["domain"]) for i in crawled_only] == [
        ("fake", "Star splits", "gossipcop-1", "gossip.com")
    ]
    one_csv = convert("politifact", root / "dataset" / "politifact_fake.csv")
    assert [i.text for i in one_csv] == ["Aliens vote"]

    generic = by_text(convert("fakenewsnet", root))  # the shared reader also serves `fakenewsnet`
    assert generic["Aliens vote"].attrs["topic"] == "politics" and "article" in generic["Star splits"].attrs
    with pytest.raises(ManifestError, match=r"gossipcop_fake\.csv"):
        convert("gossipcop", write(tmp_path / "liar" / "train.tsv", "x\n").parent)
    with pytest.raises(ManifestError, match="'title' or 'body'"):
        convert("politifact", root, text="summary")


# --- Twitter15/16 --------------------------------------------------------------------------------------------


def twitter_layout(root: Path) -> Path:
    t15, t16 = root / "twitter15", root / "twitter16"
    write(
        t15 / "label.txt",
        "non-rumor:731166399389962242\nfalse:714598641827246081\ntrue:691809004356501505\nunverified:693315824132685824\n",
    )
    write(
        t15 / "source_tweets.txt",
        "731166399389962242\tA new phone is out URL\n714598641827246081\tShark on the highway URL\n"
        "691809004356501505\tThe bridge is closed\n693315824132685824\tSomeone saw a UFO\n",
    )
    write(
        t15 / "tree" / "714598641827246081.txt",
        "['ROOT', 'ROOT', '0.0']->['1', '714598641827246081', '0.0']\n"
        "['1', '714598641827246081', '0.0']->['2', '714598641827246082', '3.5']\n"
        "['1', '714598641827246081', '0.0']->['3', '714598641827246083', '9.0']\n",
    )
    write(t16 / "label.txt", "false:714598641827246081\n")  # the two sets share some source tweets
    write(t16 / "source_tweets.txt", "714598641827246081\tShark on the highway URL\n")
    return root


def test_twitter15_16(tmp_path: Path) -> None:
    root = twitter_layout(tmp_path / "rumor_detection_acl2017")
    manifest = convert("twitter15_16", root)
    rows = [(i.attrs["subset"], i.label, i.label_raw, i.group) for i in manifest]
    assert rows == [
        ("twitter15", "real", "non-rumor", "731166399389962242"),
        ("twitter15", "fake", "false", "714598641827246081"),
        ("twitter15", "real", "true", "691809004356501505"),
        ("twitter16", "fake", "false", "714598641827246081"),
    ]
    assert manifest.notes == ["skipped 1 tweet(s) labelled 'unverified' (neither fake nor real)"]
    shark = manifest.items[1]
    assert (shark.text, shark.attrs["tree_edges"], shark.split) == ("Shark on the highway URL", 2, None)
    assert "tree_edges" not in manifest.items[0].attrs  # no tree file for it
    assert len(convert("twitter15_16", root / "twitter16")) == 1

    (tmp_path / "bare" / "twitter15").mkdir(parents=True)
    write(tmp_path / "bare" / "twitter15" / "label.txt", "false:1\n")
    with pytest.raises(ManifestError, match=r"source_tweets\.txt"):
        convert("twitter15_16", tmp_path / "bare")
    with pytest.raises(ManifestError, match=r"no label\.txt"):
        convert("twitter15_16", coaid_layout(tmp_path / "CoAID"))


# --- Fakeddit ------------------------------------------------------------------------------------------------

FAKEDDIT_HEADER = (
    "\tauthor\tclean_title\tcreated_utc\tdomain\thasImage\tid\timage_url\tlinked_submission_id\tnum_comments"
    "\tscore\tsubreddit\ttitle\tupvote_ratio\t2_way_label\t3_way_label\t6_way_label\n"
)


def fakeddit_row(
    n: int, post_id: str, sub: str, two: int, three: int, six: int, title: str, linked: str = ""
) -> str:
    return (
        f"{n}\tuser{n}\t{title}\t1.5e9\ti.imgur.com\tTrue\t{post_id}\thttps://i.imgur.com/{post_id}.jpg\t{linked}"
        f"\t3.0\t10\t{sub}\t{title.title()}\t0.9\t{two}\t{three}\t{six}\n"
    )


def fakeddit_layout(root: Path) -> Path:
    write(
        root / "multimodal_train.tsv",
        FAKEDDIT_HEADER
        + fakeddit_row(0, "awxhir", "photoshopbattles", 1, 0, 0, "psbattle a cat on a roof")
        + fakeddit_row(1, "c8zd2x", "psbattle_artwork", 0, 2, 5, "the cat is a dragon now", linked="awxhir")
        + fakeddit_row(2, "9ahx1z", "theonion", 0, 2, 1, "area man does the thing"),
    )
    write(
        root / "multimodal_validate.tsv",
        FAKEDDIT_HEADER + fakeddit_row(3, "d1", "upliftingnews", 1, 0, 0, "dog saved"),
    )
    write(
        root / "multimodal_test_public.tsv",
        FAKEDDIT_HEADER + fakeddit_row(4, "e2", "nottheonion", 0, 0, 0, "odd"),
    )
    write(
        root / "all_train.tsv",
        FAKEDDIT_HEADER + fakeddit_row(5, "t9", "neutralnews", 1, 0, 0, "text only post"),
    )
    for post_id in ("awxhir", "c8zd2x"):
        (root / "public_image_set").mkdir(exist_ok=True)
        (root / "public_image_set" / f"{post_id}.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    return root


def test_fakeddit(tmp_path: Path) -> None:
    root = fakeddit_layout(tmp_path / "fakeddit")
    manifest = convert("fakeddit", root)
    items = {i.attrs["id"]: i for i in manifest}
    assert [(i.attrs["id"], i.split) for i in manifest] == [
        ("e2", "test"),
        ("awxhir", "train"),
        ("c8zd2x", "train"),
        ("9ahx1z", "train"),
        ("d1", "val"),
    ]
    original, edit, onion = items["awxhir"], items["c8zd2x"], items["9ahx1z"]
    assert (original.label, original.label_raw, original.path) == (
        "real",
        "true",
        "public_image_set/awxhir.jpg",
    )
    assert (edit.label, edit.label_raw, edit.text) == (
        "fake",
        "manipulated content",
        "the cat is a dragon now",
    )
    assert edit.group == original.group == "awxhir"  # a photoshop stays with the photo it edits
    assert (onion.label, onion.label_raw, onion.path, onion.group) == (
        "fake",
        "satire/parody",
        None,
        "9ahx1z",
    )
    assert (onion.attrs["subreddit"], onion.attrs["domain"], onion.attrs["6_way_label"]) == (
        "theonion",
        "i.imgur.com",
        1,
    )
    # e2: 2-way fake but 6-way 'true' -> kept by the 2-way label, and said so
    assert items["e2"].label == "fake"
    assert (
        "1 row(s) whose 2_way_label disagrees with the 6-way label (kept, by the 2-way label)"
        in manifest.notes
    )

    with_images = convert("fakeddit", root, require_image="yes")
    assert [i.path for i in with_images] == ["public_image_set/awxhir.jpg", "public_image_set/c8zd2x.jpg"]
    assert [i.text for i in convert("fakeddit", root, files="all")] == ["text only post"]
    with pytest.raises(ManifestError, match="Fakeddit layout"):
        convert("fakeddit", twitter_layout(tmp_path / "rumours"))
    with pytest.raises(ManifestError, match="no such image folder"):
        convert("fakeddit", root, images="pics")


# --- NewsCLIPpings -------------------------------------------------------------------------------------------


def clippings_layout(root: Path) -> Path:
    annotations = [
        {"id": 11, "image_id": 11, "similarity_score": 0.0, "falsified": False, "source_dataset": 0},
        {
            "id": 11,
            "image_id": 22,
            "similarity_score": "clip_text_image",
            "falsified": True,
            "source_dataset": 0,
        },
        {
            "id": 33,
            "image_id": 44,
            "similarity_score": "resnet_place",
            "falsified": True,
            "source_dataset": 1,
        },
    ]
    sources = ["semantics_clip_text_image", "scene_resnet_place"]
    write_json(
        root / "news_clippings" / "data" / "merged_balanced" / "val.json",
        {"annotations": annotations, "source_datasets": sources},
    )
    write_json(
        root / "news_clippings" / "data" / "scene_resnet_place" / "test.json",
        {"annotations": annotations[2:]},
    )
    write_json(
        root / "visual_news" / "origin" / "data.json",
        [
            {
                "id": 11,
                "caption": "Ministers meet in Paris",
                "image_path": "./bbc/images/0001/11.jpg",
                "source": "bbc",
                "topic": "politics",
                "article_path": "./bbc/articles/11.txt",
            },
            {
                "id": 22,
                "caption": "Floods in the north",
                "image_path": "./guardian/images/0002/22.jpg",
                "source": "guardian",
                "topic": "environment",
            },
            {
                "id": 33,
                "caption": "A match in Rome",
                "image_path": "./usa_today/images/33.jpg",
                "source": "usa_today",
            },
        ],
    )
    return root


def test_newsclippings(tmp_path: Path) -> None:
    root = clippings_layout(tmp_path / "work")
    manifest = convert("newsclippings", root / "news_clippings")
    assert manifest.root == root / "visual_news" / "origin"
    pristine, falsified = manifest.items
    assert (pristine.label, pristine.label_raw, pristine.path, pristine.text) == (
        "real",
        "pristine",
        "bbc/images/0001/11.jpg",
        "Ministers meet in Paris",
    )
    assert (falsified.label, falsified.label_raw, falsified.path, falsified.text) == (
        "fake",
        "clip_text_image",
        "guardian/images/0002/22.jpg",
        "Ministers meet in Paris",
    )
    assert pristine.group == falsified.group == "11" and pristine.split == falsified.split == "val"
    assert falsified.attrs["source_dataset"] == "semantics_clip_text_image"
    assert (falsified.attrs["source"], falsified.attrs["topic"], falsified.attrs["image_id"]) == (
        "bbc",
        "politics",
        22,
    )
    assert "similarity_score" not in pristine.attrs
    assert manifest.notes == ["1 annotation(s) whose caption or image is not in VisualNews data.json skipped"]

    scene = convert("newsclippings", root, subset="scene_resnet_place")
    assert len(scene) == 0 and scene.notes[0].startswith("1 annotation(s)")  # image 44 is not in data.json
    assert len(convert("newsclippings", root, subset="all").items) == 2
    hydrated = tmp_path / "hydrated" / "val.json"
    write_json(
        hydrated,
        {
            "annotations": [
                {"id": 1, "image_id": 2, "falsified": True, "caption": "C", "image_path": "/abs/2.jpg"}
            ]
        },
    )
    only = convert("newsclippings", hydrated).items
    assert [(i.label, i.text, i.path, i.split) for i in only] == [("fake", "C", "/abs/2.jpg", "val")]

    with pytest.raises(ManifestError, match="no subset 'semantics_clip_text_text'"):
        convert("newsclippings", root, subset="semantics_clip_text_text")
    bare = tmp_path / "bare"
    write_json(bare / "data" / "merged_balanced" / "val.json", {"annotations": [{"id": 1, "image_id": 1}]})
    with pytest.raises(ManifestError, match="visual_news"):
        convert("newsclippings", bare)
    with pytest.raises(ManifestError, match="NewsCLIPpings layout"):
        convert("newsclippings", coaid_layout(tmp_path / "CoAID"))
