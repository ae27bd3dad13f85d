"""Finds a post's pictures in a local index of pictures the user has, by perceptual hash, and compares the
dates: an old photo re-posted as new is the commonest fake of MediaEval's Verifying Multimedia Use set
(Boididou et al. 2018, "Detection and visualization of misleading content on Twitter").

Hashes: pHash (Zauner 2010) and dHash (Krawetz 2013), both within fixed Hamming thresholds, of the picture and
its mirror image (unmask.posts.phash; thresholds and their false-match rate in docs/benchmarks/posts.md). The
index is built with `unmask index add DIR` (unmask.posts.index); its path is this detector's `index` option
(`unmask scan --index PATH`), else the default file in the unmask cache folder.

What the score means: a match is a fact a person can check (the matched file is named). The date of the
matched file is the earliest of its EXIF capture date, its modification time and the time it was indexed:
the picture existed then. A match dated a year or more before the post scores 0.8, one to twelve months
before 0.6, a match with no date to compare (the post has none, or the file is known only from after the
post) 0.5, one dated within a month of the post 0.2. No match gives no score: a picture missing from a
private index says nothing about the post.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import NotApplicable
from ...media import PostMedia
from ...posts import dates, phash
from ...posts.index import ImageIndex, IndexedImage, Match, default_index_path
from .. import wording
from ..base import Detector
from ..evidence import Evidence
from . import _words

SCORE_OLD, SCORE_MONTHS, SCORE_UNDATED, SCORE_RECENT = 0.8, 0.6, 0.5, 0.2
OLD_DAYS, MONTHS_DAYS = 365, 30


@dataclass
class ImageMatches:
    """The matches of one post picture (`part` = images[i])."""

    part: str
    plain: bool
    matches: list[Match]


@dataclass
class ReuseFindings:
    index: Path
    indexed: int
    posted: tuple[dt.datetime, str] | None
    images: list[ImageMatches] = field(default_factory=list)


def known_since(image: IndexedImage) -> tuple[dt.datetime, str]:
    """The earliest date the indexed picture is known to have existed, and what says so."""
    options = [(image.mtime, "file modified"), (image.first_seen, "indexed")]
    if image.taken is not None:
        options.insert(0, (image.taken, "taken"))
    return min(options, key=lambda o: o[0])


class ImageReuse(Detector):
    name = "image_reuse"
    version = "1"
    modalities = ("post",)
    outputs = ("score",)
    paper = ("Zauner 2010 (pHash); Krawetz 2013 (dHash); Boididou et al. 2018, 'Detection and visualization of "
             "misleading content on Twitter' (MediaEval VMU)")
    description = ("Finds the post's pictures in your own index of pictures (unmask index add DIR) by perceptual "
                   "hash and reports a match dated before the post (an old photo re-posted as new).")

    def __init__(self, index: str | os.PathLike | None = None) -> None:
        """`index`: the index file; None = the default one (unmask.posts.index.default_index_path)."""
        self.index_path = Path(index).expanduser() if index is not None else default_index_path()
        self.explicit = index is not None
        self._index: ImageIndex | None = None
        self._stamp: tuple[float, int] | None = None

    def _open(self) -> ImageIndex:
        """The index, opened again when its file changed since the last post."""
        if not self.explicit and not self.index_path.is_file():
            raise NotApplicable(f"no image index to search: build one from pictures you have with `unmask index "
                                f"add DIR` (kept at {self.index_path}), or give one with --index PATH")
        st = self.index_path.stat() if self.index_path.is_file() else None
        stamp = (st.st_mtime, st.st_size) if st else None
        if self._index is None or stamp != self._stamp:
            if self._index is not None:
                self._index.close()
            self._index, self._stamp = ImageIndex(self.index_path), stamp
        return self._index

    def predict(self, media: PostMedia) -> ReuseFindings:
        if not media.images:
            raise NotApplicable("the post has no picture that could be loaded")
        index = self._open()
        if len(index) == 0:
            raise NotApplicable(f"the image index {self.index_path} is empty: add pictures with "
                                f"`unmask index add DIR --index {self.index_path}`")
        out = ReuseFindings(index=self.index_path, indexed=len(index), posted=dates.post_date(media.fields))
        for i, image in enumerate(media.images):
            hashes = phash.image_hashes(image.rgb)
            flipped = phash.image_hashes(phash.mirrored(image.rgb))
            out.images.append(ImageMatches(f"images[{i}]", hashes.plain, index.search(hashes, mirrored=flipped)))
        return out

    def to_evidence(self, native: ReuseFindings, media: PostMedia) -> Evidence:
        best = _strongest(native)
        details = _details(native)
        if best is None:
            return Evidence(score=None, summary=_no_match(native), details=details)
        part, match = best
        score = _score(match, native.posted)
        details["band"] = wording.band(score)
        return Evidence(score=score, summary=_sentence(score, part, match, native, media), details=details)


def _age_days(match: Match, posted: tuple[dt.datetime, str] | None) -> float | None:
    if posted is None:
        return None
    return (posted[0] - known_since(match.image)[0]).total_seconds() / 86400


def _score(match: Match, posted: tuple[dt.datetime, str] | None) -> float:
    age = _age_days(match, posted)
    if age is None or age <= -MONTHS_DAYS:
        return SCORE_UNDATED
    return SCORE_OLD if age >= OLD_DAYS else SCORE_MONTHS if age >= MONTHS_DAYS else SCORE_RECENT


def _strongest(n: ReuseFindings) -> tuple[str, Match] | None:
    """The match that decides the score: the oldest relative to the post, then the closest."""
    pairs = [(im.part, m) for im in n.images for m in im.matches]
    if not pairs:
        return None
    return max(pairs, key=lambda pm: (_score(pm[1], n.posted), _age_days(pm[1], n.posted) or 0.0,
                                      -(pm[1].phash_distance + pm[1].dhash_distance)))


def _sentence(score: float, part: str, match: Match, n: ReuseFindings, media: PostMedia) -> str:
    when, what = known_since(match.image)
    name = Path(match.image.path).name
    mirror = " (mirrored)" if match.mirrored else ""
    photo = _words.picture(part, len(media.images))
    head = f"{photo} matches{mirror} {name} in your image index, {what} {when:%Y-%m-%d}"
    age = _age_days(match, n.posted)
    if score == SCORE_OLD:
        sentence = f"{head}, {dates.gap_words(age or 0)} before the post: an older picture re-posted as new."
    elif score == SCORE_RECENT:
        sentence = f"{head}, within a month of the post's own date, which is no sign of an older picture re-posted."
    else:
        sentence = _unclear(head, age)
    return wording.say(score, **{wording.band(score): sentence})


def _unclear(head: str, age: float | None) -> str:
    if age is None:
        return f"{head}; the post carries no date to compare with, so check whether it presents the picture as new."
    if age < 0:
        return (f"{head}, {dates.gap_words(age)} after the post, so the dates cannot tell which came first: check "
                "the file by hand.")
    return f"{head}, {dates.gap_words(age)} before the post: check whether the post presents it as new."


def _no_match(n: ReuseFindings) -> str:
    plain = sum(im.plain for im in n.images)
    note = f" ({plain} too plain to look up)" if plain else ""
    pictures = "picture matches" if len(n.images) == 1 else f"{len(n.images)} pictures match"
    return (f"The post's {pictures}{note} none of the {n.indexed:,} pictures in your image index; a re-used "
            "photo that is not in your index cannot be found this way.")


def _details(n: ReuseFindings) -> dict[str, Any]:
    return {
        "index": str(n.index),
        "indexed_images": n.indexed,
        "post_date": n.posted[0].isoformat() if n.posted else None,
        "post_date_field": n.posted[1] if n.posted else None,
        "thresholds": {"phash": phash.PHASH_MAX, "dhash": phash.DHASH_MAX},
        "images": [{"part": im.part, "too_plain": im.plain, "matches": [_match_details(m, n) for m in im.matches]}
                   for im in n.images],
    }


def _match_details(m: Match, n: ReuseFindings) -> dict[str, Any]:
    since, what = known_since(m.image)
    age = _age_days(m, n.posted)
    return {"path": m.image.path, "phash_distance": m.phash_distance, "dhash_distance": m.dhash_distance,
            "mirrored": m.mirrored, "size_bytes": m.image.size, "width": m.image.width, "height": m.image.height,
            "taken": m.image.taken.isoformat() if m.image.taken else None, "camera": m.image.camera,
            "file_modified": m.image.mtime.isoformat(), "first_indexed": m.image.first_seen.isoformat(),
            "known_since": since.isoformat(), "known_since_from": what,
            "days_before_post": round(age, 1) if age is not None else None}
