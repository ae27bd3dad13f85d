"""Consistency checks between what the metadata says and the image itself (the EXIF thumbnail has its
own module, `unmask.provenance.thumbnail`):
- declared EXIF pixel dimensions vs the actual size (a resize or crop after capture);
- timestamps: modified before taken, digitized long after taken, dates in the future.
Each finding is a fact with its innocent explanations; none alone proves manipulation.
"""

from __future__ import annotations

import datetime as dt
import re


def declared_size_mismatch(exif: dict, width: int, height: int) -> str | None:
    """A sentence when EXIF PixelX/YDimension disagree with the actual size (either orientation)."""
    try:
        ew, eh = int(exif.get("ExifImageWidth") or 0), int(exif.get("ExifImageHeight") or 0)
    except (TypeError, ValueError):
        return None
    if ew <= 0 or eh <= 0 or (ew, eh) in ((width, height), (height, width)):
        return None
    return f"EXIF says the picture is {ew}x{eh} pixels but it is {width}x{height}: resized or cropped since"


_EXIF_DATE = re.compile(r"^\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def parse_date(value: object) -> dt.datetime | None:
    """EXIF 'YYYY:MM:DD HH:MM:SS' or ISO 8601 (XMP) as a naive local datetime; None if unparseable."""
    m = _EXIF_DATE.match(str(value or ""))
    if not m:
        return None
    try:
        return dt.datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None


def timestamp_findings(exif: dict, now: dt.datetime | None = None) -> tuple[list[str], list[str]]:
    """(contradictions, plain facts) about EXIF capture / digitize / modify times."""
    taken = parse_date(exif.get("DateTimeOriginal"))
    digitized = parse_date(exif.get("DateTimeDigitized"))
    modified = parse_date(exif.get("DateTime"))
    now = now or dt.datetime.now()
    bad, facts = [], []
    if taken and modified:
        gap = (modified - taken).total_seconds()
        if gap < -60:
            bad.append(f"the file says it was last modified ({modified}) before it was taken ({taken})")
        elif gap > 60:
            facts.append(f"taken {taken}, saved again {modified}")
    if taken and digitized and abs((digitized - taken).total_seconds()) > 60:
        facts.append(f"digitized {digitized}, long after it was taken {taken} (a scan or a converted file?)")
    for name, when in (("taken", taken), ("modified", modified)):
        if when and when > now + dt.timedelta(days=1):
            bad.append(f"the '{name}' date {when} lies in the future")
    return bad, facts
