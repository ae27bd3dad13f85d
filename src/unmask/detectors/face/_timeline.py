"""Per-track video results: frame scores -> track score, suspicious segments, thumbnail.

The track score is the mean of its frame probabilities (the DeepfakeBench video-level convention); its
segments are the runs of frames at or above the threshold (unmask.detectors.segments). What both face detectors
share when they turn per-frame scores into evidence (it lived in unmask.faces, which sits below the detectors
and so cannot build their evidence types).
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..evidence import TrackModel
from ..segments import THRESHOLD, segments

if TYPE_CHECKING:
    from ...faces.video import Track



def thumbnail(crop: np.ndarray, side: int = 96) -> str:
    """A small JPEG of an aligned face crop as a data: URI (a few kB), for reports and the web page."""
    buf = io.BytesIO()
    Image.fromarray(crop).resize((side, side), Image.BILINEAR).save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def track_result(track: Track, scores: list[float], duration: float | None = None) -> TrackModel:
    """The report's view of a face track (unmask.faces.video.Track) given P(forged) at each of its points:
    mean score, segments, boxes, the quality flags seen, and its most suspicious face as the thumbnail."""
    points = track.points
    scores = [float(s) for s in scores]
    worst = points[int(np.argmax(scores))][1]
    return TrackModel(id=track.id, score=float(np.mean(scores)), times=[t for t, _ in points],
                      frame_scores=scores, boxes=[tuple(float(v) for v in r.box) for _, r in points],
                      segments=segments([t for t, _ in points], scores, THRESHOLD, duration, "face"),
                      flags=sorted({flag for _, r in points for flag in r.flags}), thumbnail=thumbnail(worst.crop))
