"""Reads the text in a post's pictures (RapidOCR, PP-OCRv4; unmask.posts.ocr) and compares the dates written
there with the post's date and the years its text names: a screenshot or poster dated years before the post,
or a date after the post was published, is worth a look.

A "worth a look" signal, not a measurement of fakeness: the text found is reported in full so a person can
read it, and only a date contradiction gives a score, always 0.5 (the unclear band, which neither the
fallback verdict rule nor a reader takes as "manipulated"). Pictures often carry unrelated text (signs, logos,
captions, an old article discussed in the post); that never raises the score, and text that agrees or says
nothing about dates gives no score at all. OCR misreads digits now and then, which is one more reason the
score stays at 0.5.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ...errors import NotApplicable
from ...media import PostMedia
from ...posts import dates
from ...posts.ocr import Line, Reader, missing_rapidocr
from .. import wording
from ..base import Detector
from ..evidence import Evidence, TokenModel
from . import _words

SCORE_LOOK = 0.5
OLD_DAYS, AFTER_DAYS, CURRENT_DAYS = 365, 2, 30
MAX_TEXT = 2000  # characters of found text kept per picture in the details
_WORD = re.compile(r"\w{3,}", re.UNICODE)
_BIRTH = re.compile(r"(d\.?o\.?b\.?|born|birth)\W*$", re.IGNORECASE)


@dataclass
class PictureText:
    part: str
    lines: list[Line]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class OcrFindings:
    posted: tuple[dt.datetime, str] | None
    pictures: list[PictureText] = field(default_factory=list)
    contradictions: list[tuple[str, dates.Found | None, str]] = field(default_factory=list)  # part, span, why


class PostOcr(Detector):
    name = "post_ocr"
    version = "1"
    modalities = ("post",)
    outputs = ("score", "tokens")
    extra = "ocr"
    requires = ("rapidocr_onnxruntime",)
    profiles = ("default", "thorough")
    paper = ("Du et al. 2020, 'PP-OCR: A practical ultra lightweight OCR system' (PP-OCRv4 models via "
             "RapidOCR)")
    description = ("Reads text in the post's pictures (OCR) and flags dates there that contradict the post's "
                   "date or the years it names; a 'worth a look' signal at a fixed 0.5.")

    def __init__(self) -> None:
        self._reader = Reader()

    @classmethod
    def ensure_installed(cls) -> None:
        if cls.missing():
            raise missing_rapidocr()

    def predict(self, media: PostMedia) -> OcrFindings:
        if not media.images:
            raise NotApplicable("the post has no picture that could be loaded")
        out = OcrFindings(posted=dates.post_date(media.fields))
        out.pictures = [PictureText(f"images[{i}]", self._reader.read(im.rgb)) for i, im in enumerate(media.images)]
        years = dates.years_in(media.text)
        for pic in out.pictures:
            out.contradictions += _contradictions(pic, _words.picture(pic.part, len(out.pictures)), out.posted,
                                                  years)
        return out

    def to_evidence(self, native: OcrFindings, media: PostMedia) -> Evidence:
        details = _details(native, media.text)
        if not native.contradictions:
            return Evidence(score=None, summary=_quiet_summary(native), details=details)
        details["band"] = wording.band(SCORE_LOOK)
        first = native.contradictions[0][2]
        more = len(native.contradictions) - 1
        sentence = first + (f" ({more} more such date{'s' if more > 1 else ''} in the details.)" if more else "")
        spans = {(s.start, s.end): s for _, s, _ in native.contradictions if s is not None}
        return Evidence(score=SCORE_LOOK, summary=wording.say(SCORE_LOOK, unclear=sentence), details=details,
                        tokens=[TokenModel(start=s.start, end=s.end, text=s.text, score=SCORE_LOOK)
                                for s in spans.values()])


def _contradictions(pic: PictureText, name: str, posted: tuple[dt.datetime, str] | None,
                    years: list[dates.Found]) -> list[tuple[str, dates.Found | None, str]]:
    """Dates in the picture's text long before, or after, the post; or none in any year the post names.
    Birth dates ("DOB: 7/22/1993", "born ...") are not event dates and are left out, and a picture that also
    shows a date within a month of the post (a poster dated the day of the post) raises no "old date"."""
    shown = [d for d in dates.dates_in(pic.text) if not _BIRTH.search(pic.text[max(0, d.start - 16):d.start])]
    out: list[tuple[str, dates.Found | None, str]] = []
    if posted is not None:
        gaps = {d: [(posted[0].date() - when).days for when in d.readings] for d in shown}  # every reading counts
        current = any(min(abs(g) for g in gap) <= CURRENT_DAYS for gap in gaps.values())
        for d, gap in gaps.items():
            if min(gap) >= OLD_DAYS and not current:
                out.append((pic.part, None, f"{name} shows the date \"{d.text}\", {dates.gap_words(min(gap))} "
                            f"before the post ({posted[0]:%Y-%m-%d}): worth a look whether it is an old picture "
                            "re-posted."))
            elif max(gap) <= -AFTER_DAYS:
                out.append((pic.part, None, f"{name} shows the date \"{d.text}\", after the post was "
                            f"published ({posted[0]:%Y-%m-%d}): worth a look (or an OCR misreading)."))
    named = {y.when.year for y in years}
    if shown and named and not named & {d.when.year for d in shown}:
        written = ", ".join(dict.fromkeys(d.text for d in shown))
        out += [(pic.part, y, f"The post names {y.text} but {name.lower()} shows the date \"{written}\": worth a "
                 "look whether the picture belongs to another time.") for y in years]
    return out


def _quiet_summary(n: OcrFindings) -> str:
    texts = [p.text.replace("\n", " / ") for p in n.pictures if p.lines]
    if not texts:
        return "No text was found in the post's pictures."
    quoted = "; ".join(f"\"{t[:120]}{'...' if len(t) > 120 else ''}\"" for t in texts[:3])
    return (f"Text found in the post's pictures: {quoted}. No date in it contradicts the post's date or the "
            "years its text names (unrelated text in a picture is common and counts for nothing).")


def _details(n: OcrFindings, post_text: str) -> dict[str, Any]:
    post_words = {w.lower() for w in _WORD.findall(post_text)}
    pictures = []
    for p in n.pictures:
        words = {w.lower() for w in _WORD.findall(p.text)}
        pictures.append({
            "part": p.part, "text": p.text[:MAX_TEXT],
            "lines": [{"text": ln.text[:500], "box": [round(v, 1) for v in ln.box],
                       "confidence": round(ln.confidence, 3)} for ln in p.lines[:200]],
            "dates": [d.text for d in dates.dates_in(p.text)],
            "words_shared_with_post": sorted(words & post_words)[:50],
            "word_overlap": round(len(words & post_words) / len(words), 3) if words else None,
        })
    return {"post_date": n.posted[0].isoformat() if n.posted else None, "pictures": pictures,
            "contradictions": [{"part": part, "post_span": s.text if s else None, "sentence": why}
                               for part, s, why in n.contradictions]}
