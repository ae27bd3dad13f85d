"""Temporal consistency of each face track: the frame-to-frame changes real faces rarely show.

At every sampled time of a track (the tracks face_xray also uses, computed once per video), the face is
followed to the next frame (landmarks refitted in the same box, no new detection) and three changes are
measured over that one frame step, where true motion is small:
- landmark jitter: the landmarks' movement that a similarity transform (head motion) does not explain, per
  face side, as generated faces re-synthesise their shape each frame (Li & Lyu 2019; the "LRNet" idea of
  Sun et al. CVPR 2021 reads the same signal with a learned model);
- identity drift: the distance of the face's identity descriptor from the track's median descriptor, as a
  swapped identity wavers (measured at the sampled frame only: a descriptor costs about 0.1 s);
- boundary flicker: the pixel change in a band around the face outline over the change inside the face, as a
  blended face's border is re-blended every frame (Face X-ray, Li et al. CVPR 2020).
Training-free and self-referenced: each signal becomes a robust z-score against the track's own median
(floors fixed in advance keep a perfectly still track from turning noise into alarms), a frame's probability
is sigmoid(max z - 3), and the track score is the mean of those. It therefore finds a face that changes for
part of a track, not a track that is forged throughout; it is not validated on real video (none in the
project's data) and runs in the thorough profile only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import NotApplicable
from .. import wording
from ..base import Detector
from ..evidence import Evidence
from ._sampling import FaceSampling
from ._timeline import track_result

SIGNALS = ("jitter", "drift", "flicker")
# Scale floors of the robust z-scores (fixed before any evaluation): 1% of the face side for landmark jitter,
# 0.05 descriptor units (same-person distances are about 0.2-0.4) and 0.1 for the flicker ratio.
FLOORS = {"jitter": 0.01, "drift": 0.05, "flicker": 0.1}
Z_OFFSET = 3.0
MIN_POINTS = 4


@dataclass
class TrackSignals:
    """Native output for one track: the three changes at each sampled time (NaN where unmeasurable)."""

    track: Any
    values: dict[str, np.ndarray]


class FaceTemporalDetector(FaceSampling, Detector):
    name = "face_temporal"
    version = "1"
    modalities = ("video",)
    outputs = ("score", "segments", "tracks")
    extra = "faces"
    requires = ("dlib", "cv2")
    profiles = ("thorough",)
    paper = "Li & Lyu 2019; Sun et al. CVPR 2021 (LRNet); Li et al. CVPR 2020 (Face X-ray)"
    description = ("Training-free temporal consistency of each face track (landmark jitter, identity drift, "
                   "boundary flicker over one frame step), scored against the track's own median; finds "
                   "faces that change for part of a video, not videos forged throughout; not validated on real "
                   "video.")

    def predict(self, media: Any) -> list[TrackSignals]:
        found = self.tracks(media)
        tracks = [tr for tr in found.tracks if len(tr.points) >= MIN_POINTS]
        if not tracks:
            raise NotApplicable(f"no face was seen in {MIN_POINTS} or more of the {len(found.times)} sampled frames")
        step = 1.0 / media.fps if media.fps > 0 else 0.04
        wanted = sorted({round(t + d, 6) for tr in tracks for t in tr.times for d in (0.0, step)})
        frames = dict(_frames(media, wanted))
        return [self._signals(tr, frames, step) for tr in tracks]

    def _signals(self, track: Any, frames: dict[float, np.ndarray], step: float) -> TrackSignals:
        values = {s: np.full(len(track.points), np.nan) for s in SIGNALS}
        for i, (t, result) in enumerate(track.points):
            now, nxt = frames.get(round(t, 6)), frames.get(round(t + step, 6))
            if now is None or nxt is None:
                continue
            later = self.finder().refit(nxt, result.box)
            if later is None:
                continue
            values["jitter"][i] = landmark_jitter(result.face, later)
            values["flicker"][i] = boundary_flicker(result, nxt)
            self.finder().describe(now, result.face)  # kept on the face (None if the finder has no descriptor)
        values["drift"] = identity_drift([r.face.descriptor for _, r in track.points])
        return TrackSignals(track, values)

    def to_evidence(self, native: list[TrackSignals], media: Any) -> Evidence:
        tracks = [track_result(sig.track, list(frame_probabilities(sig.values)), media.duration_s) for sig in native]
        worst = max(tracks, key=lambda t: t.score)
        medians = {sig.track.id: {k: _nanmedian(v) for k, v in sig.values.items()} for sig in native}
        return Evidence(score=worst.score, summary=summary(tracks), segments=worst.segments, tracks=tracks,
                        details={"signal_medians": medians, "floors": FLOORS, "z_offset": Z_OFFSET,
                                 "band": wording.band(worst.score)})


def summary(tracks: list[Any]) -> str:
    """The sentence for the least consistent track (TrackModel), worded by its mean probability's band
    (unmask.detectors.wording); its segments (stretches scored at or above 0.5) are counted, not judged."""
    worst = max(tracks, key=lambda t: t.score)
    n = len(worst.segments)
    stretches = (f"; {n} short stretch{'es' if n > 1 else ''} of it changed more than the rest, "
                 f"{sum(s.end_s - s.start_s for s in worst.segments):.1f} s in all" if n else "")
    head = f"Frame-to-frame consistency of {len(tracks)} face track(s): the least consistent (track {worst.id})"
    p = f"mean probability {worst.score:.2f}"
    return wording.say(
        worst.score,
        clear=f"{head} changes unlike a real face ({p}){stretches}.",
        unclear=f"{head} shows weak or unclear signs of unnatural change ({p}){stretches}.",
        none=f"{head} shows no clear sign of unnatural change overall ({p}){stretches}.",
    )


def identity_drift(descriptors: list[np.ndarray | None]) -> np.ndarray:
    """Each descriptor's distance from the track's median descriptor (NaN where there is none)."""
    known = [d for d in descriptors if d is not None]
    if not known:
        return np.full(len(descriptors), np.nan)
    centre = np.median(np.stack(known), axis=0)
    return np.array([np.nan if d is None else float(np.linalg.norm(d - centre)) for d in descriptors])


def landmark_jitter(first: Any, later: Any) -> float:
    """RMS landmark movement between two faces (Face) that a similarity transform does not explain, per
    face side."""
    from ...faces.align import apply, umeyama

    a, b = np.asarray(first.landmarks, np.float64), np.asarray(later.landmarks, np.float64)
    fit = umeyama(a, b)
    return float(np.sqrt(np.mean(np.sum((apply(fit, a) - b) ** 2, axis=1))) / max(first.side, 1.0))


def boundary_flicker(first: Any, frame: np.ndarray) -> float:
    """Mean absolute change in a band around the landmark hull over the change inside it, both measured on
    the aligned crop (the same transform for both frames, so head motion counts alike in both regions)."""
    import cv2

    from ...faces.align import apply

    size = first.crop.shape[0]
    now = cv2.warpAffine(frame, first.transform, (size, size), flags=cv2.INTER_LINEAR).astype(np.float32)
    diff = np.abs(now - first.crop.astype(np.float32)).mean(axis=2)
    hull = np.zeros((size, size), np.uint8)
    pts = np.round(apply(first.transform, first.face.landmarks)).astype(np.int32)
    cv2.fillConvexPoly(hull, cv2.convexHull(pts), 1)
    k = np.ones((max(3, size // 32),) * 2, np.uint8)
    band = cv2.dilate(hull, k) & ~cv2.erode(hull, k) & 1
    inner = cv2.erode(hull, k, iterations=2)
    if not band.any() or not inner.any():
        return np.nan
    return float(diff[band > 0].mean() / (diff[inner > 0].mean() + 1.0))


def frame_probabilities(values: dict[str, np.ndarray]) -> np.ndarray:
    """sigmoid(max over signals of the robust z-score against the track's median - Z_OFFSET)."""
    z = np.zeros(len(next(iter(values.values()))))
    for name, v in values.items():
        med = _nanmedian(v)
        if np.isnan(med):
            continue
        mad = 1.4826 * np.nanmedian(np.abs(v - med))
        zi = (v - med) / max(float(mad), FLOORS[name])
        z = np.maximum(z, np.nan_to_num(zi, nan=0.0))
    return 1.0 / (1.0 + np.exp(-(z - Z_OFFSET)))


def _frames(media: Any, times: list[float]) -> list[tuple[float, np.ndarray]]:
    """The frame at each wanted time (keyed by the wanted time), upright."""
    from ...faces.video import upright

    out = []
    for want, (_, rgb) in zip(times, media.frames(times), strict=False):
        out.append((want, upright(rgb, media.rotation)))
    return out


def _nanmedian(v: np.ndarray) -> float:
    return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")
