"""A job's HTML page, rendered by the project's own report renderer (Jinja2 with autoescaping, so file
names and metadata from hostile files appear as text) from the stored report, map PNGs and upload."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UnmaskError
from .store import attachments_of
from .worker import SPECTROGRAM, artifact_file

if TYPE_CHECKING:
    from .service import Service

# the page needs its own inline styles and the opacity slider's inline handler, nothing from elsewhere
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def _preview(service: Service, sha256: str) -> np.ndarray | None:
    from ..media import ImageMedia, load

    path = service.data.media_path(sha256)
    if not path.is_file():
        return None
    try:
        media = load(path, limits=service.settings.limits)
    except UnmaskError:
        return None
    return media.rgb if isinstance(media, ImageMedia) else None


def _spectrogram(folder: Path) -> np.ndarray | None:
    """The worker's picture of the sound (a PNG it wrote itself), if there is one."""
    from PIL import Image

    path = folder / SPECTROGRAM
    if not path.is_file():
        return None
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except OSError:
        return None


def render(service: Service, job: dict[str, Any]) -> str:
    """The page for a done job; maps and images are left out once the job's upload was deleted."""
    from ..report.artifacts import read_heatmap, read_mask
    from ..report.html import render_html
    from ..report.model import Report
    from ..report.spectrogram import PREVIEW_KEY

    report = Report.model_validate(service.report_of(job))
    if not job["deleted"]:
        folder = service.data.job_artifacts(job["id"])
        for entry in report.evidence:
            for ref in (entry.heatmap, entry.mask):
                path = folder / artifact_file(ref.name) if ref else None
                if path is not None and path.is_file():
                    report.maps[ref.name] = read_heatmap(path) if ref.kind == "heatmap" else read_mask(path)
        parts = [(None, job["sha256"])] + [(f"images[{i}]", sha) for i, sha in enumerate(attachments_of(job))]
        for part, sha in parts:
            rgb = _preview(service, sha) if report.media.kind in ("image", "post") else None
            if rgb is not None:
                report.previews[part] = rgb
        picture = _spectrogram(folder) if report.media.kind in ("audio", "video") else None
        if picture is not None:
            report.previews[PREVIEW_KEY] = picture
    return render_html([report], title="unmask report")


def cached_page(service: Service, job: dict[str, Any]) -> str:
    """The rendered page, kept next to the report after the first request."""
    path = service.data.html_path(job["id"])
    if path.is_file():
        return path.read_text(encoding="utf-8")
    page = render(service, job)
    if not job["deleted"]:
        service.data.write_atomic(path, page.encode("utf-8"))
        if (service.store.get(job["id"]) or job)["deleted"]:  # deleted meanwhile: keep no images of it
            path.unlink(missing_ok=True)
    return page
