"""Scores sampled over time -> the report's segments, for every detector with a timeline (face tracks, speech).

A segment is a run of consecutive samples at or above the threshold; it spans from halfway to the previous
sample to halfway to the next one (the first and last samples extend half a sampling step), so segments of
neighbouring runs never overlap and a single flagged sample still has a width.
"""

from __future__ import annotations

import numpy as np

from .evidence import SegmentModel

THRESHOLD = 0.5


def segments(times: list[float], scores: list[float], threshold: float = THRESHOLD,
             duration: float | None = None, label: str = "") -> list[SegmentModel]:
    """Runs of `scores` >= threshold (NaN never counts) as time segments, score = the run's mean."""
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
        elif not s >= threshold and start is not None:  # NaN (an unscored sample) ends a run too
            out.append(SegmentModel(start_s=float(edges[start]), end_s=float(edges[i]),
                                    score=float(np.mean(scores[start:i])), label=label))
            start = None
    return out
