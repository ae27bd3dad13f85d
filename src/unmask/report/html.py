"""A self-contained HTML report (images inline as data URIs, no external assets) readable by non-experts.

`HtmlWriter` writes the page incrementally, one section per file as soon as its report is ready, so a long
batch keeps its memory bounded and a crash leaves a readable partial page. Every value is HTML-escaped by
Jinja's autoescaping; file metadata is hostile input.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from PIL import Image

from .._version import __version__
from ..detectors.evidence import SegmentModel
from ..detectors.wording import NONE_AT
from .artifacts import resize_map
from .model import EvidenceEntry, Report
from .names import display_names
from .spectrogram import PREVIEW_KEY, clock, speech_entries
from .words import verdict_words

PREVIEW_SIDE = 720
MAX_ITEMS = 1000
MAX_CELLS = 400  # cells per score lane; longer tracks show each stretch's highest score


def _data_uri(im: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **({"quality": 85} if fmt == "JPEG" else {"optimize": True}))
    mime = "image/jpeg" if fmt == "JPEG" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def colormap(values: np.ndarray) -> np.ndarray:
    """A blue-yellow-red ramp as RGBA with alpha rising with the value, so normal areas stay clear."""
    v = np.clip(values, 0, 1)[..., None]
    low, mid, high = np.array([40, 60, 200.0]), np.array([250, 220, 60.0]), np.array([220, 30, 30.0])
    rgb = np.where(v < 0.5, low + (mid - low) * (v * 2), mid + (high - mid) * (v * 2 - 1))
    alpha = np.clip(v * 1.6, 0, 1) * 255
    return np.concatenate([rgb, alpha], axis=-1).astype(np.uint8)


def overlay_image(values: np.ndarray, levels: int = 64) -> Image.Image:
    """The colour-mapped map as a palette PNG with per-entry alpha: a fraction of the size of RGBA."""
    index = np.round(np.clip(values, 0, 1) * (levels - 1)).astype(np.uint8)
    ramp = colormap(np.linspace(0.0, 1.0, levels))
    im = Image.fromarray(index)
    im.putpalette(ramp[:, :3].ravel().tolist())  # turns the 'L' index image into mode 'P'
    im.info["transparency"] = bytes(ramp[:, 3].tolist())
    return im


def _preview_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, PREVIEW_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _overlays(report: Report, part: str | None, size: tuple[int, int]) -> list[dict[str, Any]]:
    """The part's maps as coloured overlays, strongest finding first; `primary` marks the ones to show
    up front (scores above the authentic cut-off, or else the single strongest)."""
    entries = sorted((e for e in report.evidence if e.part == part),
                     key=lambda e: -1.0 if e.score is None else e.score, reverse=True)
    overlays = []
    for entry in entries:
        for ref in (entry.heatmap, entry.mask):
            arr = report.maps.get(ref.name) if ref else None
            if arr is None:
                continue
            small = resize_map(arr.astype(np.float32), *size)
            overlays.append({"detector": entry.detector, "kind": ref.kind, "score": entry.score,
                             "primary": entry.score is not None and entry.score > NONE_AT,
                             "uri": _data_uri(overlay_image(small))})
    if overlays and not any(o["primary"] for o in overlays):
        overlays[0]["primary"] = True
    return overlays


def _parts(report: Report, idx: int) -> list[dict[str, Any]]:
    """One entry per analysed image (the media itself, or a post's images) with its map overlays."""
    parts = []
    for n, (part, rgb) in enumerate((p, rgb) for p, rgb in report.previews.items() if p != PREVIEW_KEY):
        h, w = rgb.shape[:2]
        pw, ph = _preview_size(w, h)
        base = _data_uri(Image.fromarray(rgb).resize((pw, ph), Image.Resampling.BILINEAR), "JPEG")
        overlays = _overlays(report, part, (pw, ph))
        parts.append({"part": part, "css": f"img-{idx}-{n}", "base": base, "width": pw, "height": ph,
                      "primary": [o for o in overlays if o["primary"]],
                      "secondary": [o for o in overlays if not o["primary"]]})
    return parts


def _fill(score: float | None) -> str:
    """Green (0, looks real) to red (1, looks forged); gray for no score."""
    return "#c8ccd4" if score is None else f"hsl({120 * (1 - score):.0f}, 65%, 45%)"


def _lane(times: Sequence[float], scores: Sequence[float | None], step: float, span: float,
          when: Callable[[float, float], str]) -> list[dict[str, Any]]:
    """Coloured cells, one per sample starting at `times` and `step` long, in percent of `span`, each titled
    `when(start, length)` and its score; past MAX_CELLS samples, neighbours are merged into MAX_CELLS cells
    showing their highest score."""
    merged = len(times) > MAX_CELLS
    if merged:
        width = span / MAX_CELLS
        top: dict[int, float | None] = {}
        for t, s in zip(times, scores, strict=True):
            k = min(max(int(t / width), 0), MAX_CELLS - 1)
            top[k] = max((v for v in (top.get(k), s) if v is not None), default=None)
        times, scores, step = [k * width for k in top], list(top.values()), width
    return [{"x": round(100 * t / span, 3), "w": round(max(100 * step / span * 0.9, 0.3), 3), "fill": _fill(s),
             "title": f"{when(t, step)}: " + ("too quiet to judge" if s is None else
                                              f"{'highest ' if merged else ''}{s:.0%}")}
            for t, s in zip(times, scores, strict=True)]


def _bars(segments: Sequence[SegmentModel], span: float) -> list[dict[str, float]]:
    return [{"x": round(100 * g.start_s / span, 3), "w": round(100 * (g.end_s - g.start_s) / span, 3)}
            for g in segments]


def _timelines(report: Report) -> list[dict[str, Any]]:
    """Per face track of a video: coloured cells per sampled frame and bars for the suspicious segments, in
    percent of the duration (the template draws them as SVG)."""
    duration = report.media.duration_s or 0.0
    out = []
    for entry in report.evidence:
        if not entry.tracks:
            continue
        span = duration or max(t for tr in entry.tracks for t in tr.times) or 1.0
        tracks = []
        for tr in entry.tracks:
            step = float(np.median(np.diff(tr.times))) if len(tr.times) > 1 else span / 32
            tracks.append({**tr.model_dump(include={"id", "score", "segments", "flags", "thumbnail"}),
                           "start": tr.times[0], "end": tr.times[-1], "bars": _bars(tr.segments, span),
                           "cells": _lane(tr.times, tr.frame_scores, step, span, lambda t, _: f"{t:.2f} s")})
        out.append({"detector": entry.detector, "duration": span, "tracks": tracks})
    return out


def _speech(report: Report) -> dict[str, Any] | None:
    """The sound as a spectrogram (when the analysis drew one) over a lane per speech detector: a cell per
    window (at its centre, one hop wide) from green to red, bars for the flagged segments, times as m:ss.s."""
    entries = speech_entries(report)
    picture = report.previews.get(PREVIEW_KEY)
    if not entries and picture is None:
        return None
    ends = [s + float(e.details.get("window_s") or 0.0) for e in entries for s in e.details["window_starts"]]
    span = report.media.duration_s or max(ends, default=0.0) or 1.0
    lanes = []
    for entry in entries:
        d = entry.details
        starts = [float(t) for t in d["window_starts"]]
        hop = float(d.get("hop_s") or (starts[1] - starts[0] if len(starts) > 1 else d.get("window_s") or 1.0))
        lefts = [t + float(d.get("window_s") or hop) / 2 - hop / 2 for t in starts]
        lanes.append({"detector": entry.detector, "part": entry.part, "score": entry.score,
                      "summary": entry.summary, "bars": _bars(entry.segments, span),
                      "segments": [{"start": clock(g.start_s), "end": clock(g.end_s), "score": g.score}
                                   for g in entry.segments],
                      "cells": _lane(lefts, d["window_scores"], hop, span,
                                     lambda t, w: f"{clock(t)}–{clock(t + w)}")})
    uri = _data_uri(Image.fromarray(picture), "JPEG") if picture is not None else None
    return {"picture": uri, "start": clock(0.0), "end": clock(span), "lanes": lanes}


def _highlights(report: Report) -> list[dict[str, Any]]:
    """Per text detector with highlighted words: the analysed text as pieces, plain or marked with the
    word's score (a post's image parts have no text here)."""
    text = report.text
    out = []
    for entry in report.evidence:
        if text is None or entry.part is not None or not entry.tokens:
            continue
        pieces, at = [], 0
        for t in sorted(entry.tokens, key=lambda t: t.start):
            if t.start < at or t.end > len(text):
                continue
            pieces += [{"text": text[at:t.start]}, {"text": text[t.start:t.end], "score": t.score}]
            at = t.end
        pieces.append({"text": text[at:at + 4000] + ("…" if len(text) > at + 4000 else "")})
        out.append({"detector": entry.detector, "score": entry.score, "pieces": pieces})
    return out


def _meta(report: Report) -> str:
    m = report.media
    bits = [m.kind] + ([m.format] if m.format else [])
    if m.width and m.height:
        bits.append(f"{m.width}×{m.height} px")
    if m.duration_s:
        bits.append(f"{m.duration_s:.1f} s")
    if m.size_bytes is not None:
        bits.append(f"{m.size_bytes / 1024:.0f} KiB" if m.size_bytes >= 1024 else f"{m.size_bytes} bytes")
    if m.sha256:
        bits.append(f"sha256 {m.sha256[:16]}…")
    return " · ".join(bits)


def _name(report: Report) -> str:
    return (report.media.path or "(uploaded bytes)").replace("\\", "/").rsplit("/", 1)[-1]


def _technical(entry: EvidenceEntry) -> str:
    data = entry.model_dump(include={"segments", "tokens", "boxes", "attribution", "details"})
    return json.dumps({k: v for k, v in data.items() if v}, indent=2, ensure_ascii=False)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("unmask.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["pct"] = lambda x: "-" if x is None else f"{x:.0%}"
    env.filters["technical"] = _technical
    return env


class HtmlWriter:
    """Write one HTML page to a text stream: `add()` each report as it arrives, then `close()`.

    Only the first `max_items` reports get a section; the rest are counted in the page's summary.
    """

    def __init__(self, stream: TextIO, total: int | None = None, title: str = "unmask report",
                 max_items: int = MAX_ITEMS, index: bool = True) -> None:
        self.stream, self.max_items, self.index = stream, max_items, index
        self.macros = _environment().get_template("report.html").module
        self.rows: list[dict[str, Any]] = []
        self.omitted = 0
        self._write(self.macros.page_head(title, __version__, total))

    def _write(self, text: str) -> None:
        self.stream.write(str(text))
        self.stream.flush()

    def add(self, report: Report) -> None:
        idx = len(self.rows)
        if idx >= self.max_items:
            self.omitted += 1
            return
        label = report.verdict.label if report.verdict else "error"
        words = verdict_words(report.verdict.model_dump() if report.verdict else None)
        headline = words["headline"]
        context = {"r": report, "idx": idx, "name": _name(report), "meta": _meta(report),
                   "headline": headline, "explain": words["explanation"], "parts": _parts(report, idx),
                   "timelines": _timelines(report), "speech": _speech(report),
                   "highlights": _highlights(report),
                   "scored": report.verdict is not None and report.verdict.probability is not None,
                   "prob_note": words["probability_note"], "operating": words["operating_point"]}
        self._write(self.macros.item(context))
        self.rows.append({"idx": idx, "name": _name(report), "path": report.media.path, "label": label,
                          "headline": headline,
                          "probability": report.verdict.probability if context["scored"] else None,
                          "reason": report.top_reason()})

    def close(self) -> None:
        if self.index and (len(self.rows) > 1 or self.omitted):
            for row, name in zip(self.rows, display_names([r["path"] for r in self.rows]), strict=True):
                row["name"] = name  # two files called x.jpg read a/x.jpg and b/x.jpg in the summary
            self._write(self.macros.index(self.rows, self.omitted))
        self._write(self.macros.page_foot(__version__))


def render_html(reports: Sequence[Report], title: str = "unmask report") -> str:
    """The whole page for a few reports, as a string."""
    buf = io.StringIO()
    writer = HtmlWriter(buf, total=len(reports), title=title)
    for report in reports:
        writer.add(report)
    writer.close()
    return buf.getvalue()


def write_html(reports: Sequence[Report], path: str | os.PathLike, title: str = "unmask report") -> str:
    """Write the page for a few reports to `path` and return it (the renderer lives here, not on `Report`,
    so the data model never imports its views)."""
    page = render_html(reports, title)
    Path(path).write_text(page, encoding="utf-8")
    return page
