"""Faces in video: sample frames with PyAV, find and align faces per frame, link them into tracks with ids.

Sampling follows DeepfakeBench (N frames spread uniformly, default 32) or takes every k-th frame. Times come
from each frame's pts, so variable frame rate is handled; frames are turned upright by the stream's rotation.
Tracks link faces by box overlap between consecutive samples and, across gaps and cuts, by identity descriptor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..errors import MediaError
from ..media import VideoMedia
from . import FaceResult, analyze_faces, settings_key
from .align import DEFAULT_ALIGNMENT, Alignment
from .detect import FaceFinder, default_finder, iou
from .quality import DEFAULT_THRESHOLDS, QualityThresholds

DEFAULT_FRAMES = 32
# Two boxes in consecutive samples are the same face when their intersection-over-union reaches this.
MIN_IOU = 0.3


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a decoded frame the way its display matrix says (`rotation`: degrees counter-clockwise)."""
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def sample_frames(media: VideoMedia, n: int = DEFAULT_FRAMES, every: int | None = None
                  ) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time in s from pts, upright RGB frame): `n` frames spread uniformly (seeking between far-apart
    samples), or every `every`-th frame when given. A frame is yielded once even if several samples hit it."""
    if every is not None:
        if every < 1:
            raise ValueError("every must be >= 1")
        found = _every_kth(media, every)
    else:
        if n < 1:
            raise ValueError("n must be >= 1")
        found = media.frames(media.sample_times(n))
    last = None
    for t, rgb in found:
        if last is not None and abs(t - last) < 1e-9:
            continue
        last = t
        yield t, upright(rgb, media.rotation)


def _every_kth(media: VideoMedia, k: int) -> Iterator[tuple[float, np.ndarray]]:
    """Decode every frame but convert only every k-th to RGB (conversion costs more than decoding skips)."""
    from ..media.video import av_reason, open_container, stream_start

    with open_container(media.source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        origin = stream_start(stream)
        try:
            for i, frame in enumerate(container.decode(stream)):
                if i % k == 0:
                    t = float(frame.time) - origin if frame.time is not None else 0.0
                    yield t, frame.to_ndarray(format="rgb24")
        except Exception as exc:
            raise MediaError(f"video stream is corrupt ({av_reason(exc)})", code="corrupt") from exc


@dataclass(eq=False)
class Track:
    """One face followed over time: `points` are (time in s, FaceResult) in time order; `id` counts from 0
    in order of first appearance."""

    id: int
    points: list[tuple[float, FaceResult]] = field(default_factory=list)
    descriptor: np.ndarray | None = field(default=None, repr=False)
    last_sample: int = -1
    _n_described: int = field(default=0, repr=False)

    @property
    def start(self) -> float:
        return self.points[0][0]

    @property
    def end(self) -> float:
        return self.points[-1][0]

    @property
    def times(self) -> list[float]:
        return [t for t, _ in self.points]

    def add(self, sample: int, t: float, result: FaceResult) -> None:
        self.points.append((t, result))
        self.last_sample = sample
        d = result.face.descriptor
        if d is not None:  # running mean of the identity descriptors seen on this track
            self._n_described += 1
            base = self.descriptor if self.descriptor is not None else np.zeros_like(d)
            self.descriptor = base + (d - base) / self._n_described


@dataclass(eq=False)
class VideoFaces:
    """Faces of a video: the sampled times, the number of faces found at each, and the tracks (ids in order
    of first appearance). Boxes and landmarks are in the upright frame's pixels (after `rotation`)."""

    times: list[float]
    counts: list[int]
    tracks: list[Track]
    rotation: int = 0


class FaceTracker:
    """Links per-frame faces into tracks: greedy box IoU against tracks seen in the previous sample, then
    descriptor distance (below the finder's threshold) against any other track, for gaps and scene cuts."""

    def __init__(self, finder: FaceFinder, min_iou: float = MIN_IOU) -> None:
        self.finder, self.min_iou = finder, min_iou
        self.tracks: list[Track] = []

    def update(self, sample: int, t: float, rgb: np.ndarray, results: list[FaceResult]) -> None:
        """Assign the faces of sample number `sample` (time `t`, frame `rgb`) to tracks."""
        free = set(range(len(results)))
        taken: set[int] = set()
        recent = [tr for tr in self.tracks if tr.last_sample == sample - 1]
        pairs = sorted(((iou(tr.points[-1][1].box, results[i].box), tr.id, i) for tr in recent for i in free),
                       reverse=True)
        for overlap, tid, i in pairs:
            if overlap < self.min_iou:
                break
            if tid not in taken and i in free:
                self.tracks[tid].add(sample, t, results[i])
                taken.add(tid)
                free.discard(i)
        self._link_by_identity(sample, t, rgb, [results[i] for i in sorted(free)], taken)

    def _link_by_identity(self, sample: int, t: float, rgb: np.ndarray, pending: list[FaceResult],
                          taken: set[int]) -> None:
        threshold = self.finder.descriptor_threshold
        descriptors = [self.finder.describe(rgb, r.face) for r in pending]
        pairs = []
        for j, d in enumerate(descriptors):
            for tr in self.tracks:
                if d is not None and threshold is not None and tr.descriptor is not None and tr.id not in taken:
                    dist = float(np.linalg.norm(d - tr.descriptor))
                    if dist < threshold:
                        pairs.append((dist, tr.id, j))
        linked: set[int] = set()
        for _, tid, j in sorted(pairs):
            if tid not in taken and j not in linked:
                self.tracks[tid].add(sample, t, pending[j])
                taken.add(tid)
                linked.add(j)
        for j, result in enumerate(pending):
            if j not in linked:
                track = Track(id=len(self.tracks))
                track.add(sample, t, result)
                self.tracks.append(track)


def track_faces(media: VideoMedia, n: int = DEFAULT_FRAMES, every: int | None = None,
                finder: FaceFinder | None = None, alignment: Alignment = DEFAULT_ALIGNMENT,
                thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> VideoFaces:
    """Sample, find, align and track faces; computed once per media and settings (`media.shared`)."""
    finder = finder or default_finder()
    key = f"face_tracks:{n}:{every}:{settings_key(finder, alignment, thresholds)}"
    return media.shared(key, lambda: _track(media, n, every, finder, alignment, thresholds))


def _track(media: VideoMedia, n: int, every: int | None, finder: FaceFinder, alignment: Alignment,
           thresholds: QualityThresholds) -> VideoFaces:
    tracker = FaceTracker(finder)
    times, counts = [], []
    for sample, (t, rgb) in enumerate(sample_frames(media, n, every)):
        results = analyze_faces(rgb, finder, alignment, thresholds)
        tracker.update(sample, t, rgb, results)
        times.append(t)
        counts.append(len(results))
    return VideoFaces(times=times, counts=counts, tracks=tracker.tracks, rotation=media.rotation)
