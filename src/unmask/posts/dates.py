"""Dates a post and its pictures carry: the post's own time, a picture's capture time and camera, the years
and "today"-like words of a claim, dates written in text found in a picture, and gaps in plain words.

All datetimes are naive: a post's time zone is converted to UTC and dropped, and EXIF capture times have no
zone at all (camera local time), so a comparison is good to a day, which is all the checks here need.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from ..media import ImageMedia
from ..provenance import consistency, xmp

POST_DATE_FIELDS = ("date", "created_at", "timestamp", "time", "published", "posted_at")
_FORMATS = ("%a %b %d %H:%M:%S %z %Y",  # Twitter's created_at: "Wed Apr 17 18:57:37 +0000 2013"
            "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d %B %Y", "%B %d, %Y", "%d/%m/%Y")
_YEAR = re.compile(r"(?<![\d/.:-])(19[0-9]{2}|20[0-9]{2})(?![\d/.:])")
_NOW_WORDS = re.compile(r"\b(today|tonight|this (morning|afternoon|evening)|right now|just now|happening now|"
                        r"live now|minutes ago|an hour ago|breaking)\b", re.IGNORECASE)
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_TEXT_DATES = (
    (re.compile(r"\b((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})\b"), "ymd"),
    (re.compile(r"\b(\d{1,2})[-/.](\d{1,2})[-/.]((?:19|20)\d{2})\b"), "dmy"),
    (re.compile(rf"\b(\d{{1,2}})\s*({_MONTHS})[a-z]*\.?,?\s*((?:19|20)\d{{2}})\b", re.IGNORECASE), "d-mon-y"),
    (re.compile(rf"\b({_MONTHS})[a-z]*\.?\s*(\d{{1,2}})(?:st|nd|rd|th)?,?\s*((?:19|20)\d{{2}})\b", re.IGNORECASE),
     "mon-d-y"),
)


@dataclass(frozen=True)
class Found:
    """A date or year found in text, with where it is (character offsets) and how it was written.
    `readings` holds every date the text can mean (03/12/2019: 3 December or 12 March), `when` the first."""

    when: dt.date
    start: int
    end: int
    text: str
    year_only: bool = False
    readings: tuple[dt.date, ...] = ()

    def __post_init__(self) -> None:
        if not self.readings:
            object.__setattr__(self, "readings", (self.when,))


@dataclass(frozen=True)
class Capture:
    """When and with what a picture says it was taken (EXIF/XMP), and which field said so. `unset_clock`
    holds a capture time that was left out because it looks like a camera clock never set."""

    when: dt.datetime | None
    source: str
    camera: str
    unset_clock: dt.datetime | None = None


def post_date(fields: dict[str, Any]) -> tuple[dt.datetime, str] | None:
    """The post's own time from its first date field that parses, and the field's name."""
    for name in POST_DATE_FIELDS:
        if name in fields:
            when = parse_when(fields[name])
            if when is not None:
                return when, name
    return None


def parse_when(value: object) -> dt.datetime | None:
    """A date from a post field: Twitter's created_at, ISO 8601, a few written forms, or Unix seconds or
    milliseconds. None when it does not parse or lies outside 1990-2100."""
    when = _epoch(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if isinstance(value, str):
        text = value.strip()[:100]
        when = _epoch(float(text)) if re.fullmatch(r"\d{9,13}(\.\d+)?", text) else _parse_text(text)
    if when is None or not 1990 <= when.year <= 2100:
        return None
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo else when


def _epoch(seconds: float) -> dt.datetime | None:
    seconds = seconds / 1000 if seconds > 1e11 else seconds  # milliseconds
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_text(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def capture(image: ImageMedia) -> Capture:
    """The picture's capture time (EXIF DateTimeOriginal, then DateTimeDigitized, then XMP's
    exif:DateTimeOriginal and photoshop:DateCreated) and camera. XMP's xmp:CreateDate is not used: an editor
    writes there when it created the file, which for an exported or edited copy is not when the photo was
    taken. A time within the first hour of 1 January is what a camera whose clock was never set (or was reset
    with its battery) writes, so it is set aside as `unset_clock` rather than used."""
    exif = image.exif
    candidates = [("EXIF DateTimeOriginal", exif.get("DateTimeOriginal")),
                  ("EXIF DateTimeDigitized", exif.get("DateTimeDigitized"))]
    packet = xmp.parse_xmp(image.xmp) if image.xmp else None
    if packet is not None:
        candidates += [(f"XMP {k}", packet.first(k)) for k in ("exif:DateTimeOriginal", "photoshop:DateCreated")]
    when, source, unset = None, "", None
    for where, value in candidates:
        parsed = consistency.parse_date(value)
        if parsed is None or not 1990 <= parsed.year <= 2100:
            continue
        if (parsed.month, parsed.day, parsed.hour) == (1, 1, 0):
            unset = unset or parsed
            continue
        when, source = parsed, where
        break
    return Capture(when=when, source=source, camera=_camera(exif, packet), unset_clock=unset)


def _camera(exif: dict[str, Any], packet: xmp.Xmp | None) -> str:
    make = str(exif.get("Make") or (packet.first("tiff:Make") if packet else "") or "").strip()[:100]
    model = str(exif.get("Model") or (packet.first("tiff:Model") if packet else "") or "").strip()[:100]
    return model if make and model.lower().startswith(make.lower()) else " ".join(x for x in (make, model) if x)


def years_in(text: str) -> list[Found]:
    """Years 1900-2099 written as words of their own (not parts of longer numbers, times or dates)."""
    return [Found(dt.date(int(m.group(1)), 1, 1), m.start(1), m.end(1), m.group(1), year_only=True)
            for m in _YEAR.finditer(text)]


def dates_in(text: str) -> list[Found]:
    """Full dates written in text (2019-03-12, 12/03/2019, 12 March 2019, March 12, 2019). 03/12/2019 has two
    readings (3 December and 12 March) unless one number cannot be a month (25/03/2019, 03/25/2019)."""
    found: list[Found] = []
    for pattern, order in _TEXT_DATES:
        for m in pattern.finditer(text):
            readings = _readings(m.groups(), order)
            if readings and not any(f.start <= m.start() < f.end for f in found):
                found.append(Found(readings[0], m.start(), m.end(), m.group(0), readings=readings))
    return sorted(found, key=lambda f: f.start)


def _readings(groups: tuple[str, ...], order: str) -> tuple[dt.date, ...]:
    a, b, c = groups
    months = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    if order == "ymd":
        options = [(int(a), int(b), int(c))]
    elif order == "dmy":
        options = [(int(c), int(b), int(a)), (int(c), int(a), int(b))]
    elif order == "d-mon-y":
        options = [(int(c), months.index(b.lower()[:3]) + 1, int(a))]
    else:
        options = [(int(c), months.index(a.lower()[:3]) + 1, int(b))]
    out = []
    for year, month, day in options:
        try:
            out.append(dt.date(year, month, day))
        except ValueError:
            continue
    return tuple(dict.fromkeys(out))


def says_now(text: str) -> str | None:
    """The first word of the claim that presents it as happening now ("today", "just now", ...), if any."""
    m = _NOW_WORDS.search(text)
    return m.group(0) if m else None


_UNITS = ((365.25, "year"), (30.44, "month"), (7, "week"), (1, "day"))
_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve")


def gap_words(days: float) -> str:
    """A gap in plain words, rounded down to its largest unit: 'four years', 'a month', '15 days'."""
    days = abs(days)
    for size, unit in _UNITS:
        if days >= size:
            n = int(days // size)
            count = "a" if n == 1 else _NUMBERS[n] if n < len(_NUMBERS) else str(n)
            return f"{count} {unit}{'s' if n != 1 else ''}"
    return "less than a day"
