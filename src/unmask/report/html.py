"""A self-contained HTML report (images inline as data URIs, no external assets) readable by non-experts."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from PIL import Image

from .. import __version__
from .artifacts import resize_map
from .model import Report

PREVIEW_SIDE = 960
_EXPLAIN = {
    "authentic": "No detector found signs of manipulation.",
    "inconclusive": "The evidence is mixed or weak; a person should look at the maps below.",
    "manipulated": "At least one detector found strong signs that the content was edited.",
    "ai-generated": "The evidence indicates the content was produced by an AI generator.",
}


def _data_uri(im: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    mime = "image/jpeg" if fmt == "JPEG" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def colormap(values: np.ndarray) -> np.ndarray:
    """A perceptually ordered blue-yellow-red ramp as RGBA, alpha rising with the value."""
    v = np.clip(values, 0, 1)[..., None]
    low, mid, high = np.array([40, 60, 200.0]), np.array([250, 220, 60.0]), np.array([220, 30, 30.0])
    rgb = np.where(v < 0.5, low + (mid - low) * (v * 2), mid + (high - mid) * (v * 2 - 1))
    alpha = np.clip(v * 1.6, 0, 1) * 255
    return np.concatenate([rgb, alpha], axis=-1).astype(np.uint8)


def _preview_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, PREVIEW_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _figures(report: Report) -> tuple[str | None, list[dict[str, str]]]:
    if report.preview is None:
        return None, []
    h, w = report.preview.shape[:2]
    pw, ph = _preview_size(w, h)
    base = _data_uri(Image.fromarray(report.preview).resize((pw, ph), Image.Resampling.BILINEAR), "JPEG")
    figures = []
    for entry in report.evidence:
        for ref in (entry.heatmap, entry.mask):
            arr = report.maps.get(ref.name) if ref else None
            if arr is None or entry.part:
                continue
            small = resize_map(arr.astype(np.float32) if arr.dtype == bool else arr, pw, ph)
            figures.append({"name": ref.name, "detector": entry.detector, "kind": ref.kind,
                            "overlay": _data_uri(Image.fromarray(colormap(small), "RGBA"))})
    return base, figures


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("unmask.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["pct"] = lambda x: "-" if x is None else f"{x:.0%}"
    return env


def render_html(reports: Sequence[Report], title: str = "unmask report", omitted: int = 0) -> str:
    items = []
    for i, report in enumerate(reports):
        base, figures = _figures(report)
        items.append({"r": report, "idx": i, "base": base, "figures": figures,
                      "explain": _EXPLAIN.get(report.verdict.label, "") if report.verdict else ""})
    return _environment().get_template("report.html").render(
        title=title, items=items, version=__version__, omitted=omitted)
