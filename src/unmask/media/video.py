"""Video containers decoded lazily with PyAV: stream facts at load, frames only when a detector asks."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LimitExceeded, MediaError, MissingDependency
from ..limits import Limits
from .base import Media


def import_av():
    try:
        import av
    except ImportError as exc:
        raise MissingDependency("av (PyAV)", "video", "video and compressed audio") from exc
    return av


def open_container(source: Path | bytes):
    av = import_av()
    try:
        return av.open(str(source) if isinstance(source, Path) else io.BytesIO(source), mode="r")
    except Exception as exc:  # av.error.* for corrupt or unsupported containers
        raise MediaError(f"container could not be opened: {exc}") from exc


@dataclass(eq=False)
class VideoMedia(Media):
    """A video file. Frames are decoded on demand by `frames()` and never all held in memory."""

    source: Path | bytes = field(repr=False, kw_only=True)
    width: int = field(kw_only=True)
    height: int = field(kw_only=True)
    fps: float = field(kw_only=True)
    duration_s: float = field(kw_only=True)
    frame_count: int = field(kw_only=True)
    codec: str = field(kw_only=True)
    rotation: int = field(default=0, kw_only=True)
    has_audio: bool = field(default=False, kw_only=True)

    kind = "video"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "width": self.width, "height": self.height, "duration_s": self.duration_s}

    def frames(self, times: list[float] | None = None) -> Iterator[tuple[float, np.ndarray]]:
        """Yield (time in s, RGB uint8 frame) for every frame, or for the first frame at or after each time."""
        with open_container(self.source) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            wanted = sorted(times) if times is not None else None
            k = 0
            try:
                for frame in container.decode(stream):
                    t = float(frame.time or 0.0)
                    if wanted is None:
                        yield t, frame.to_ndarray(format="rgb24")
                        continue
                    if k >= len(wanted):
                        return
                    if t + 1e-6 >= wanted[k]:
                        img = frame.to_ndarray(format="rgb24")
                        while k < len(wanted) and t + 1e-6 >= wanted[k]:
                            yield t, img
                            k += 1
            except Exception as exc:
                raise MediaError(f"video stream is corrupt after {k} sampled frames: {exc}") from exc

    def sample_times(self, n: int) -> list[float]:
        """`n` times spread uniformly over the duration (the DeepfakeBench frame-sampling convention)."""
        if self.duration_s <= 0 or n <= 0:
            return [0.0]
        step = self.duration_s / n
        return [i * step for i in range(n)]


def probe_video(container, source: Path | bytes, limits: Limits, base: dict[str, Any], fmt: str) -> VideoMedia:
    """Read stream facts and decode one frame, so a corrupt file fails at load with a clear reason."""
    stream = container.streams.video[0]
    ctx = stream.codec_context
    duration = _duration(container, stream)
    if duration > limits.max_duration_s:
        raise LimitExceeded(f"video lasts {duration:.0f} s, above the {limits.max_duration_s:.0f} s limit")
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width * height > limits.max_pixels:
        raise LimitExceeded(f"video frames are {width}x{height}, above the pixel limit")
    try:
        first = next(container.decode(stream), None)
    except Exception as exc:
        raise MediaError(f"video stream could not be decoded: {exc}") from exc
    if first is None:
        raise MediaError("video stream holds no decodable frame")
    fps = float(stream.average_rate or stream.guessed_rate or 0.0)
    return VideoMedia(
        **base,
        format=fmt,
        source=source,
        width=width or first.width,
        height=height or first.height,
        fps=fps,
        duration_s=duration,
        frame_count=int(stream.frames or round(duration * fps)),
        codec=ctx.name,
        rotation=int(getattr(first, "rotation", 0) or 0),
        has_audio=bool(container.streams.audio),
    )


def _duration(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return 0.0
