"""Compares the capture date and camera a post's pictures carry (EXIF / XMP, read by unmask.provenance)
with the post's own date (its `date`, `created_at` or `timestamp` field) and with what its text claims (the
years it names, words such as "today" or "breaking"): a photo taken years before the post, or a "today" post
with a photo from 2015, is the re-use the MediaEval Verifying Multimedia Use task is about (Boididou et al.
2018). The capture time is EXIF DateTimeOriginal or DateTimeDigitized, or XMP's exif:DateTimeOriginal or
photoshop:DateCreated; never xmp:CreateDate (an editor's export time), and never a time in the first hour of
1 January (a camera clock never set), see unmask.posts.dates.capture.

These are facts the file states, compared at fixed scores: a capture a year or more before the post (or
before a "today" claim) 0.75; one to twelve months before, a capture after the post, a capture before every
year the text names, or a "today" claim without a post date to compare with 0.55; a capture within a month
of the post 0.15. Camera clocks can be wrong and metadata can be copied, so a finding is a reason to look,
and the dates are always shown. Most platforms strip EXIF: a picture without a capture date makes the check
not applicable, which proves nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ...errors import NotApplicable
from ...media import PostMedia
from ...posts import dates
from .. import wording
from ..base import Detector
from ..evidence import Evidence, TokenModel
from . import _words

SCORE_OLD, SCORE_ODD, SCORE_CONSISTENT = 0.75, 0.55, 0.15
OLD_DAYS, MONTH_DAYS, NOW_DAYS = 365, 30, 2


@dataclass
class Finding:
    """One comparison: its score, the sentence that explains it, and the claim's span in the text."""

    score: float
    kind: str
    sentence: str
    part: str
    span: dates.Found | None = None


@dataclass
class DateFindings:
    posted: tuple[dt.datetime, str] | None
    now_word: str | None
    years: list[dates.Found]
    captures: list[tuple[str, dates.Capture]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class PostDateCheck(Detector):
    name = "post_date_check"
    version = "1"
    modalities = ("post",)
    outputs = ("score", "tokens")
    paper = ("EXIF 2.32 (CIPA DC-008) capture dates; Boididou et al. 2018, 'Detection and visualization of "
             "misleading content on Twitter' (MediaEval VMU: re-posted old pictures)")
    description = ("Compares the capture date and camera in the post's pictures with the post's date and the "
                   "years or 'today' its text claims.")

    def predict(self, media: PostMedia) -> DateFindings:
        if not media.images:
            raise NotApplicable("the post has no picture that could be loaded")
        out = DateFindings(posted=dates.post_date(media.fields), now_word=dates.says_now(media.text),
                           years=dates.years_in(media.text))
        out.captures = [(f"images[{i}]", dates.capture(im)) for i, im in enumerate(media.images)]
        if not any(c.when for _, c in out.captures):
            raise NotApplicable(_no_date(out.captures))
        for part, shot in out.captures:
            if shot.when is not None:
                out.findings += _compare(part, shot.when, out, len(media.images))
        return out

    def to_evidence(self, native: DateFindings, media: PostMedia) -> Evidence:
        details = _details(native)
        if not native.findings:
            taken = next(c.when for _, c in native.captures if c.when)
            return Evidence(score=None, details=details, summary=f"The post's picture says it was taken on "
                            f"{taken:%Y-%m-%d}; the post carries no date or claim to compare it with."
                            + _camera_note(native))
        top = max(native.findings, key=lambda f: f.score)
        details["band"] = wording.band(top.score)
        summary = wording.say(top.score, **{wording.band(top.score): top.sentence})
        return Evidence(score=top.score, summary=summary + _camera_note(native), details=details,
                        tokens=[TokenModel(start=f.span.start, end=f.span.end, text=f.span.text, score=f.score)
                                for f in native.findings if f.span is not None and f.score > SCORE_CONSISTENT])


def _compare(part: str, taken: dt.datetime, n: DateFindings, count: int) -> list[Finding]:
    photo, day = _words.picture(part, count), f"{taken:%Y-%m-%d}"
    found = []
    if n.posted is not None:
        found.append(_against_post(part, photo, taken, n.posted))
        if n.now_word and (n.posted[0] - taken).days >= OLD_DAYS:
            found.append(Finding(SCORE_OLD, "now-claim", f"The post says \"{n.now_word}\" but {photo.lower()} "
                                 f"was taken on {day}, {dates.gap_words((n.posted[0] - taken).days)} before the "
                                 "post.", part))
    elif n.now_word:
        found.append(Finding(SCORE_ODD, "now-claim", f"The post says \"{n.now_word}\" but {photo.lower()} was "
                             f"taken on {day}; the post carries no date, so check when it was posted.", part))
    later = [y for y in n.years if y.when.year > taken.year]
    if later and len(later) == len(n.years):
        named = ", ".join(dict.fromkeys(y.text for y in n.years))
        found += [Finding(SCORE_ODD, "year-claim", f"The post speaks of {named} but {photo.lower()} was taken "
                          f"on {day}, before any year it names.", part, y) for y in n.years]
    return found


def _against_post(part: str, photo: str, taken: dt.datetime, posted: tuple[dt.datetime, str]) -> Finding:
    days = (posted[0] - taken).total_seconds() / 86400
    when = f"{photo} was taken on {taken:%Y-%m-%d}"
    post = f"the post ({posted[1]} {posted[0]:%Y-%m-%d})"
    if days >= OLD_DAYS:
        return Finding(SCORE_OLD, "old", f"{when}, {dates.gap_words(days)} before {post}: an older picture "
                       "re-posted as new, or a camera clock set wrong.", part)
    if days >= MONTH_DAYS:
        return Finding(SCORE_ODD, "months", f"{when}, {dates.gap_words(days)} before {post}: check whether the "
                       "post presents it as new.", part)
    if days <= -NOW_DAYS:
        return Finding(SCORE_ODD, "after", f"{when}, {dates.gap_words(days)} after {post}: a camera clock set "
                       "wrong, or a post date that is not the post's own.", part)
    return Finding(SCORE_CONSISTENT, "consistent", f"{when}, within a month of {post}: the dates are "
                   "consistent.", part)


def _no_date(captures: list[tuple[str, dates.Capture]]) -> str:
    cams = [c.camera for _, c in captures if c.camera]
    unset = [c.unset_clock for _, c in captures if c.unset_clock]
    if unset:
        why = (f"the only capture time, {unset[0]:%Y-%m-%d %H:%M}, is what a camera whose clock was never set "
               "writes, so it says nothing about when the photo was taken")
    else:
        why = "the post's pictures carry no capture date (most platforms strip it, so this proves nothing)"
    return why + (f"; camera: {cams[0]}" if cams else "")


def _camera_note(n: DateFindings) -> str:
    cams = list(dict.fromkeys(c.camera for _, c in n.captures if c.camera))
    return f" Camera: {', '.join(cams)}." if cams else ""


def _details(n: DateFindings) -> dict[str, Any]:
    return {
        "post_date": n.posted[0].isoformat() if n.posted else None,
        "post_date_field": n.posted[1] if n.posted else None,
        "now_word": n.now_word,
        "years_named": [y.text for y in n.years],
        "captures": [{"part": part, "taken": c.when.isoformat() if c.when else None, "source": c.source,
                      "camera": c.camera, "unset_clock": c.unset_clock.isoformat() if c.unset_clock else None}
                     for part, c in n.captures],
        "findings": [{"part": f.part, "kind": f.kind, "score": f.score, "sentence": f.sentence}
                     for f in n.findings],
    }
