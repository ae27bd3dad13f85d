"""The post checks on MediaEval 2016 VMU (dev set): how the image index's hash thresholds behave on its 412
pictures, how often a tweet's picture also belongs to another event (re-use across events), and what
post_date_check and post_ocr say about its 15,629 tweets, by label.

    python benchmarks/posts.py [--data ../shared/data/mediaeval_vmu] [--work bench-out/posts] [--ocr]

Prints markdown for docs/benchmarks/posts.md and writes the numbers to WORK/posts.json. --ocr reads the text in
all 412 pictures (about 1 s each on one core; cached in WORK/ocr.json) and runs post_ocr on every tweet.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from unmask import perturb
from unmask.errors import NotApplicable, UnmaskError
from unmask.media import ImageMedia, PostMedia, load
from unmask.posts import dates, phash
from unmask.posts.index import ImageIndex

TRANSFORMS = ("jpeg(q=75)", "jpeg(q=50)", "resize(0.5)", "resize(0.25)", "chain:twitter", "crop(frac=0.95)",
              "crop(frac=0.9)", "crop(frac=0.8)", "mirror")


DEV_PICTURES = ("astronaut", "camera", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
                "moon", "page", "text", "clock", "coins", "horse", "brick", "grass", "gravel", "retina", "cat",
                "logo", "colorwheel", "checkerboard")


def dev_thresholds() -> dict:
    """The development measurement the thresholds were fixed on: scikit-image's test pictures (chelsea and cat
    are the same photo), their copies, and every pair of different pictures (max distance of both hashes)."""
    import skimage.data as sd

    pictures = {}
    for name in DEV_PICTURES:
        a = getattr(sd, name)()
        a = (a * 255).astype(np.uint8) if a.dtype == bool else a
        a = (a.astype(float) / a.max() * 255).astype(np.uint8) if a.dtype != np.uint8 else a
        pictures[name] = a[..., :3] if a.ndim == 3 else a
    hashes = {n: phash.image_hashes(a) for n, a in pictures.items()}
    out: dict = {"pictures": len(pictures)}
    for spec in TRANSFORMS:
        d = [hashes[n].distance(phash.image_hashes(_apply(a, spec))) for n, a in pictures.items()]
        out[spec] = {"max_phash": max(x[0] for x in d), "max_dhash": max(x[1] for x in d),
                     "matched": sum(phash.is_match(*x) for x in d)}
    names = [n for n in hashes if n != "cat"]
    pairs = [hashes[a].distance(hashes[b]) for i, a in enumerate(names) for b in names[i + 1:]]
    out["different_pairs"] = {"n": len(pairs), "min_phash": min(p for p, _ in pairs),
                              "min_dhash": min(d for _, d in pairs), "matched": sum(phash.is_match(*p) for p in pairs)}
    return out


def _apply(rgb: np.ndarray, spec: str) -> np.ndarray:
    if spec == "mirror":
        return rgb  # the search tries the mirror image itself; the hashes of a mirror differ by design
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).convert("RGB").save(buf, "PNG")
    media = load(perturb.parse(spec).apply(buf.getvalue()))
    assert isinstance(media, ImageMedia)
    return media.rgb


def images(data: Path) -> list[dict]:
    rows = list(csv.DictReader((data / "devset_image_labels.csv").open(encoding="utf-8")))
    return [{"id": Path(r["path"]).stem, "path": data / r["path"], "label": r["label"], "event": r["event"]}
            for r in rows]


def tweets(data: Path) -> list[dict]:
    out = []
    with (data / "mediaeval2016/devset/posts.txt").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            out.append({"text": row["post_text"], "images": [i.strip() for i in row["image_id(s)"].split(",")],
                        "created_at": row["timestamp"], "label": row["label"]})
    return out


def pair_stats(items: list[dict]) -> dict:
    """Distances over all pairs of different pictures, and which pairs the rule calls a match."""
    ok = [it for it in items if "hashes" in it]
    ph = np.array([it["hashes"].phash for it in ok], dtype=np.uint64)
    dh = np.array([it["hashes"].dhash for it in ok], dtype=np.uint64)
    dp_all, dd_all, matched = [], [], []
    for i, it in enumerate(ok[:-1]):
        dp, dd = phash.hamming_many(ph[i + 1:], it["hashes"].phash), phash.hamming_many(dh[i + 1:], it["hashes"].dhash)
        dp_all.append(dp)
        dd_all.append(dd)
        for j in np.flatnonzero((dp <= phash.PHASH_MAX) & (dd <= phash.DHASH_MAX)):
            other = ok[i + 1 + j]
            matched.append({"a": it["id"], "b": other["id"], "phash": int(dp[j]), "dhash": int(dd[j]),
                            "same_event": it["event"] == other["event"], "labels": [it["label"], other["label"]]})
    dp, dd = np.concatenate(dp_all), np.concatenate(dd_all)
    return {"pictures": len(ok), "pairs": int(dp.size),
            "phash_only": int((dp <= phash.PHASH_MAX).sum()), "dhash_only": int((dd <= phash.DHASH_MAX).sum()),
            "both": int(((dp <= phash.PHASH_MAX) & (dd <= phash.DHASH_MAX)).sum()),
            "phash_percentiles": {p: float(np.percentile(dp, p)) for p in (0.1, 1, 5, 50)},
            "dhash_percentiles": {p: float(np.percentile(dd, p)) for p in (0.1, 1, 5, 50)},
            "matched_pairs": matched}


def transformed(item: dict, spec: str) -> np.ndarray:
    if spec == "mirror":
        return phash.mirrored(item["rgb"])
    data = perturb.parse(spec).apply(item["path"].read_bytes())
    media = load(data)
    assert isinstance(media, ImageMedia)
    return media.rgb


def robustness(items: list[dict], index: ImageIndex) -> dict:
    """Per transform: share of pictures whose copy finds its original (the detector also tries the mirror)."""
    out = {}
    for spec in TRANSFORMS:
        found, dists = 0, []
        for it in items:
            if "hashes" not in it:
                continue
            rgb = transformed(it, spec)
            hits = index.search(phash.image_hashes(rgb), mirrored=phash.image_hashes(phash.mirrored(rgb)))
            mine = [m for m in hits if Path(m.image.path) == it["path"].resolve()]
            found += bool(mine)
            dists.append(it["hashes"].distance(phash.image_hashes(rgb)))
        n = len(dists)
        out[spec] = {"found": found, "n": n, "recall": found / n,
                     "median_phash": float(np.median([d[0] for d in dists])),
                     "median_dhash": float(np.median([d[1] for d in dists]))}
    return out


def _matches(items: list[dict], index: ImageIndex):  # -> Iterator[tuple[dict, list[dict]]]
    """Each hashed picture with the pictures of the collection the index matches it to (itself included)."""
    by_path = {str(it["path"].resolve()): it for it in items}
    for it in items:
        if "hashes" in it:
            yield it, [by_path[m.image.path] for m in index.search(it["hashes"], mirrored=it["mirror"], limit=50)]


def cross_event(items: list[dict], index: ImageIndex, posts: list[dict]) -> dict:
    """Leave-one-event-out: a picture 're-used' when it matches a picture of another event."""
    reused = {}
    for it, hits in _matches(items, index):
        others = [o for o in hits if o["event"] != it["event"]]
        if others:
            reused[it["id"]] = sorted({o["id"] for o in others})
    return {"reused_pictures": reused, **_by_label(items, posts, reused)}


def versions(items: list[dict], index: ImageIndex, posts: list[dict]) -> dict:
    """Any event: a picture that matches another picture of the collection (another version of one photo)."""
    found = {}
    for it, hits in _matches(items, index):
        others = sorted({o["id"] for o in hits} - {it["id"]})
        if others:
            found[it["id"]] = others
    return {"pictures_with_versions": found, **_by_label(items, posts, found)}


def _by_label(items: list[dict], posts: list[dict], flagged: dict) -> dict:
    pictures = Counter((it["label"], it["id"] in flagged) for it in items if "hashes" in it)
    tweets = Counter((p["label"], any(i in flagged for i in p["images"])) for p in posts)
    return {"pictures": {f"{k[0]}:{k[1]}": v for k, v in sorted(pictures.items())},
            "tweets": {f"{k[0]}:{k[1]}": v for k, v in sorted(tweets.items())}}


def as_post(post: dict, loaded: dict[str, ImageMedia]) -> PostMedia:
    pics = [loaded[i] for i in post["images"] if i in loaded]
    return PostMedia(path=None, sha256="", size_bytes=0, format="json", text=post["text"], images=pics,
                     fields={"created_at": post["created_at"]})


def run_detector(detector, posts: list[dict], loaded: dict[str, ImageMedia]) -> dict:
    """Score counts by label: not applicable, no score, and each score."""
    counts: dict[str, Counter] = defaultdict(Counter)
    examples: dict[str, list[str]] = defaultdict(list)
    for post in posts:
        try:
            ev = detector.analyze(as_post(post, loaded))
            key = "no score" if ev.score is None else f"{ev.score:.2f}"
            if ev.score is not None and len(examples[key]) < 3:
                examples[key].append(ev.summary)
        except NotApplicable:
            key = "not applicable"
        counts[post["label"]][key] += 1
    return {"counts": {k: dict(v) for k, v in counts.items()}, "examples": dict(examples)}


class CachedReader:
    """OCR lines per picture, read once and kept in a JSON file (the detector's Reader, memoised by picture)."""

    def __init__(self, path: Path, loaded: dict[str, ImageMedia]) -> None:
        from unmask.posts.ocr import Line, Reader

        self.path, self.reader, self.line = path, Reader(), Line
        self.cache = json.loads(path.read_text()) if path.exists() else {}
        self.by_array = {id(m.rgb): key for key, m in loaded.items()}

    def read(self, rgb: np.ndarray):
        key = self.by_array[id(rgb)]
        if key not in self.cache:
            self.cache[key] = [[ln.text, list(ln.box), ln.confidence] for ln in self.reader.read(rgb)]
            self.path.write_text(json.dumps(self.cache))
        return [self.line(t, tuple(b), c) for t, b, c in self.cache[key]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("UNMASK_DATA", "../shared/data")) / "mediaeval_vmu")
    ap.add_argument("--work", type=Path, default=Path("bench-out/posts"))
    ap.add_argument("--ocr", action="store_true")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    dev = dev_thresholds()
    items, posts = images(args.data), tweets(args.data)
    loaded: dict[str, ImageMedia] = {}
    t = time.perf_counter()
    for it in items:
        try:
            media = load(it["path"])
        except UnmaskError as exc:
            it["error"] = str(exc)
            continue
        if not isinstance(media, ImageMedia):
            it["error"] = f"not a picture: {media.kind} ({media.format})"
            continue
        loaded[it["id"]] = media
        it["rgb"], it["hashes"] = media.rgb, phash.image_hashes(media.rgb)
        it["mirror"] = phash.image_hashes(phash.mirrored(media.rgb))
        it["capture"] = dates.capture(media)
    results: dict = {"dev_thresholds": dev, "load_and_hash_s": time.perf_counter() - t, "load_errors": {it["id"]: it["error"] for it in items if "error" in it}}
    index_path = args.work / "mediaeval.sqlite"
    index_path.unlink(missing_ok=True)
    t = time.perf_counter()
    with ImageIndex(index_path, create=True) as index:
        added = index.add([it["path"] for it in items])
        results["index_build_s"], results["indexed"] = time.perf_counter() - t, len(index)
        results["index_skipped"] = added.skipped
        t = time.perf_counter()
        for it in items[:100]:
            if "hashes" in it:
                index.search(it["hashes"], mirrored=it["mirror"])
        results["search_ms"] = (time.perf_counter() - t) * 10
        results["pairs"] = pair_stats(items)
        results["robustness"] = robustness(items, index)
        results["cross_event"] = cross_event(items, index, posts)
        results["versions"] = versions(items, index, posts)
    results["exif_dates"] = sum(1 for it in items if it.get("capture") and it["capture"].when)
    from unmask.detectors.post.post_date_check import PostDateCheck

    results["post_date_check"] = run_detector(PostDateCheck(), posts, loaded)
    if args.ocr:
        from unmask.detectors.post.post_ocr import PostOcr

        detector = PostOcr()
        detector._reader = CachedReader(args.work / "ocr.json", loaded)
        t = time.perf_counter()
        results["post_ocr"] = run_detector(detector, posts, loaded)
        results["post_ocr"]["seconds"] = time.perf_counter() - t
        cache = detector._reader.cache
        results["post_ocr"]["pictures_with_text"] = sum(1 for v in cache.values() if v)
        results["post_ocr"]["pictures_with_dates"] = sum(
            1 for v in cache.values() if dates.dates_in("\n".join(t for t, _, _ in v)))
    results["when"] = dt.datetime.now().isoformat(timespec="seconds")
    (args.work / "posts.json").write_text(json.dumps(results, indent=1, default=str))
    json.dump({k: v for k, v in results.items() if k not in ("cross_event", "versions")}, sys.stdout, indent=1,
              default=str)
    print()
    print(json.dumps({k: v for k, v in results["cross_event"].items() if k != "reused_pictures"}, indent=1))
    print(len(results["cross_event"]["reused_pictures"]), "pictures match a picture of another event")
    print(json.dumps({k: v for k, v in results["versions"].items() if k != "pictures_with_versions"}, indent=1))


if __name__ == "__main__":
    main()
