"""Per-track video results: frame scores -> track score, suspicious segments, thumbnail.

The track score is the mean of its frame probabilities (the DeepfakeBench video-level convention). A segment
is a run of consecutive sampled frames at or above the threshold; it spans from halfway to the previous
sample to halfway to the next one (the first and last samples extend half a sampling step), so segments of
neighbouring runs never overlap and a single flagged frame still has a width.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from ..detectors.evidence import Segment

THRESHOLD = 0.5


def segments(times: list[float], scores: list[float], threshold: float = THRESHOLD,
             duration: float | None = None) -> list[Segment]:
    """Runs of `scores` >= threshold as time segments (see the module docstring), score = the run's mean."""
    t = np.asarray(times, np.float64)
    if len(t) == 0:
        return []
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    edges = np.concatenate([[t[0] - step / 2], (t[1:] + t[:-1]) / 2, [t[-1] + step / 2]])
    edges = np.clip(edges, 0.0, duration if duration else np.inf)
    out, start = [], None
    for i, s in enumerate([*scores, -np.inf]):
        if s >= threshold and start is None:
            start = i
        elif s < threshold and start is not None:
            out.append(Segment(float(edges[start]), float(edges[i]), float(np.mean(scores[start:i])), "face"))
            start = None
    return out


def thumbnail(crop: np.ndarray, side: int = 96) -> str:
    """A small JPEG of an aligned face crop as a data: URI (a few kB), for reports and the web page."""
    buf = io.BytesIO()
    Image.fromarray(crop).resize((side, side), Image.BILINEAR).save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
