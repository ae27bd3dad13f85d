"""Video containers decoded lazily with PyAV: stream facts at load, frames only when a detector asks."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LimitExceeded, MediaError, MissingDependency, reason
from ..limits import Limits
from .base import Media

# Sampled times further apart than this are reached by seeking to a keyframe instead of decoding through.
SEEK_GAP_S = 2.0
_EPS = 1e-6


def import_av(extra: str = "video", purpose: str = "video and compressed audio") -> Any:
    """PyAV, or a MissingDependency naming the extra that installs it (`audio` when loading audio)."""
    try:
        import av
    except ImportError as exc:
        raise MissingDependency("av (PyAV)", extra, purpose) from exc
    return av


def av_reason(exc: Exception) -> str:
    """FFmpeg's own reason without the errno and path noise PyAV adds to its messages."""
    strerror = getattr(exc, "strerror", None)
    return str(strerror) if strerror else f"{type(exc).__name__}: {reason(exc)}"


def open_container(source: Path | bytes, extra: str = "video",
                   purpose: str = "video and compressed audio") -> Any:
    """Open a container for reading; failures become a MediaError with FFmpeg's reason. `extra` and
    `purpose` word the MissingDependency when PyAV is not installed."""
    av = import_av(extra, purpose)
    try:
        return av.open(str(source) if isinstance(source, Path) else io.BytesIO(source), mode="r")
    except Exception as exc:  # av.error.* for corrupt or unsupported containers
        raise MediaError(f"container is corrupt or not supported ({av_reason(exc)})", code="corrupt") from exc


def stream_start(stream: Any) -> float:
    """The stream's first timestamp in seconds; times we report are relative to it."""
    if stream.start_time is None or not stream.time_base:
        return 0.0
    return float(stream.start_time * stream.time_base)


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
        return {**super().info(), "width": self.width, "height": self.height, "duration_s": self.duration_s,
                "fps": self.fps}

    def frames(self, times: list[float] | None = None) -> Iterator[tuple[float, np.ndarray]]:
        """Yield (time in s, RGB uint8 HxWx3 frame) for every frame, or for each requested time the first
        frame at or after it (times are sorted; past the last frame, the last frame within the duration).

        Far-apart times are reached by seeking, so sampling a long video decodes only near the samples.
        A stream that turns out corrupt mid-way raises MediaError.
        """
        with open_container(self.source) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if times is None:
                found = _every_frame(container, stream)
            else:
                found = _sample(container, stream, sorted(times), self.duration_s)
            n = 0
            try:
                for item in found:
                    yield item
                    n += 1
            except MediaError:
                raise
            except Exception as exc:
                raise MediaError(f"video stream is corrupt after {n} good frames ({av_reason(exc)})",
                                 code="corrupt") from exc

    def sample_times(self, n: int) -> list[float]:
        """`n` times spread uniformly over the duration (the DeepfakeBench frame-sampling convention)."""
        if self.duration_s <= 0 or n <= 0:
            return [0.0]
        step = self.duration_s / n
        return [i * step for i in range(n)]


def _frame_time(frame: Any, start: float) -> float:
    return float(frame.time) - start if frame.time is not None else 0.0


def _every_frame(container: Any, stream: Any) -> Iterator[tuple[float, np.ndarray]]:
    start = stream_start(stream)
    for frame in container.decode(stream):
        yield _frame_time(frame, start), frame.to_ndarray(format="rgb24")


def _sample(container: Any, stream: Any, wanted: list[float], duration: float
            ) -> Iterator[tuple[float, np.ndarray]]:
    """First frame at or after each wanted time; seeks (once per time) when it is far past the last frame."""
    start, k, sought = stream_start(stream), 0, -1
    last: tuple[float, Any] | None = None
    decoder = container.decode(stream)
    while k < len(wanted):
        if sought != k and wanted[k] - (last[0] if last else 0.0) > SEEK_GAP_S:
            sought, decoder = k, _seek(container, stream, wanted[k] + start, decoder)
        frame = next(decoder, None)
        if frame is None:
            break
        t = _frame_time(frame, start)
        last = (t, frame)
        if t + _EPS < wanted[k]:
            continue
        image = frame.to_ndarray(format="rgb24")
        while k < len(wanted) and t + _EPS >= wanted[k]:
            yield t, image
            k += 1
    if last is not None and k < len(wanted):
        image = last[1].to_ndarray(format="rgb24")
        for w in wanted[k:]:
            if w <= max(duration, last[0]) + _EPS:
                yield last[0], image


def _seek(container: Any, stream: Any, t: float, decoder: Iterator[Any]) -> Iterator[Any]:
    """A decoder positioned at the keyframe before `t`, or the current one where the file cannot seek."""
    try:
        container.seek(int(t / stream.time_base), stream=stream, backward=True)
    except Exception:  # unseekable stream: keep decoding forward
        return decoder
    return container.decode(stream)


def probe_video(container: Any, source: Path | bytes, limits: Limits, base: dict[str, Any],
                fmt: str) -> VideoMedia:
    """Read stream facts and decode one frame, so a corrupt file fails at load with a clear reason."""
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if ctx is None:  # FFmpeg found a stream but no codec for it (a corrupt or unknown codec id)
        raise MediaError("video stream has no codec FFmpeg can decode (corrupt header or unknown codec)",
                         code="corrupt")
    duration, notes = _duration(container, stream), []
    if duration > limits.max_duration_s:
        raise LimitExceeded(f"video lasts {duration:.1f} s, above the {limits.max_duration_s:g} s limit")
    if duration <= 0:
        notes.append("the container does not state the video's duration")
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width * height > limits.max_pixels:
        raise LimitExceeded(f"video frames are {width}x{height}, above the {limits.max_pixels:,}-pixel limit")
    first = _first_frame(container, stream)
    fps = float(stream.average_rate or stream.guessed_rate or 0.0)
    return VideoMedia(
        **{**base, "warnings": base.get("warnings", []) + notes},
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


def _first_frame(container: Any, stream: Any) -> Any:
    try:
        first = next(container.decode(stream), None)
    except Exception as exc:
        raise MediaError(f"video stream could not be decoded ({av_reason(exc)})", code="corrupt") from exc
    if first is None:
        raise MediaError("video stream holds no decodable frame", code="corrupt")
    return first


def _duration(container: Any, stream: Any) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return 0.0
