"""Audio decoded lazily: soundfile for WAV/FLAC/OGG, PyAV for MP3 and AAC/M4A; headers are validated at load."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LimitExceeded, MediaError, reason
from ..limits import Limits
from .base import Media

# Reads starting later than this are reached by seeking instead of decoding from the beginning.
SEEK_AFTER_S = 2.0
# Seeks land this far before the window: a transform codec's first frame after a seek lacks its overlap and
# decodes wrong (AAC: ~20 ms of garbage), so those frames are decoded and dropped.
SEEK_PREROLL_S = 0.2
# Formats whose seeks land inexactly (FFmpeg estimates MP3 timestamps from the byte offset; libsndfile's MP3
# seek, which python-soundfile also does after every read, is off by thousands of samples): decode from the start.
_INEXACT_SEEK = ("mp3",)
# PyAV (18.1) counts a planar audio frame's planes by reading data pointers until a null one, past the 8 that
# an AVFrame holds: an 8-channel (7.1) frame gets a 9th plane pointing anywhere and to_ndarray() kills the
# process (found by fuzzing: an AAC header declaring 7.1). Packed float has one plane whatever the channels.
PACKED_FORMAT = "flt"


@dataclass(eq=False)
class AudioMedia(Media):
    """An audio file; `read()` decodes a window as float32 samples in [-1, 1], shape (frames, channels)."""

    source: Path | bytes = field(repr=False, kw_only=True)
    sample_rate: int = field(kw_only=True)
    channels: int = field(kw_only=True)
    duration_s: float = field(kw_only=True)
    codec: str = field(kw_only=True)
    backend: str = field(kw_only=True)

    kind = "audio"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "duration_s": self.duration_s, "sample_rate": self.sample_rate,
                "channels": self.channels}

    def read(self, start_s: float = 0.0, end_s: float | None = None) -> np.ndarray:
        """Samples from `start_s` to `end_s` (the end of the file when None), decoding only that window."""
        first = max(0, round(start_s * self.sample_rate))
        stop = round(end_s * self.sample_rate) if end_s is not None else None
        if stop is not None and stop <= first:
            return np.zeros((0, self.channels), np.float32)
        try:
            if self.backend == "soundfile":
                return self._read_soundfile(first, stop)
            return self._read_av(first, stop)
        except MediaError:
            raise
        except Exception as exc:
            raise MediaError(f"audio could not be decoded ({reason(exc)})", code="corrupt") from exc

    def _read_soundfile(self, first: int, stop: int | None) -> np.ndarray:
        import soundfile as sf

        with sf.SoundFile(_as_file(self.source)) as f:
            f.seek(min(first, f.frames))
            return f.read(-1 if stop is None else stop - first, dtype="float32", always_2d=True)

    def _read_av(self, first: int, stop: int | None) -> np.ndarray:
        """Decode with PyAV, resampled to packed float, trimmed to exact sample positions by timestamp."""
        from .video import import_av, open_container, stream_start

        av = import_av("audio", f"{self.format.upper()} audio")
        if stop is None and self.duration_s > 0:
            stop = round(self.duration_s * self.sample_rate)
        chunks: list[np.ndarray] = []
        with open_container(self.source, "audio", f"{self.format.upper()} audio") as container:
            stream = container.streams.audio[0]
            origin = stream_start(stream)
            if first > SEEK_AFTER_S * self.sample_rate and self.format not in _INEXACT_SEEK:
                target = first / self.sample_rate - SEEK_PREROLL_S + origin
                container.seek(int(target / stream.time_base), stream=stream)
            resampler = av.AudioResampler(format=PACKED_FORMAT, rate=self.sample_rate)
            pos: int | None = None
            for frame in container.decode(stream):
                if frame.time is not None:
                    pos = round((frame.time - origin) * self.sample_rate)
                pos = pos or 0
                for out in resampler.resample(frame):
                    block = packed_samples(out)
                    lo, hi = max(first - pos, 0), len(block) if stop is None else min(stop - pos, len(block))
                    if hi > lo:
                        chunks.append(block[lo:hi, :self.channels])
                    pos += len(block)
                if stop is not None and pos >= stop:
                    break
        if not chunks:
            return np.zeros((0, self.channels), np.float32)
        return np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)


def packed_samples(frame: Any) -> np.ndarray:
    """A frame resampled to PACKED_FORMAT as float32 samples, shape (frames, channels)."""
    return frame.to_ndarray().reshape(-1, frame.layout.nb_channels)


def _as_file(source: Path | bytes) -> str | io.BytesIO:
    return str(source) if isinstance(source, Path) else io.BytesIO(source)


def check_wav_header(head: bytes, size: int) -> list[str]:
    """Walk the RIFF chunks in `head` (the file's first bytes; `size` is the whole file's length).

    A data chunk that claims more bytes than the file holds is a lying header, and audio data must
    follow a sane 'fmt ' chunk. Returns notes for the media's warnings.
    """
    notes: list[str] = []
    pos, found_fmt, found_data = 12, False, False
    while pos + 8 <= len(head) and not found_data:
        cid, clen = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            _check_wav_fmt(head, pos, clen)
            found_fmt = True
        elif cid == b"data":
            found_data = True
            notes += _check_wav_data(clen, size - (pos + 8))
        pos += 8 + clen + (clen & 1)
    if not found_fmt and (found_data or pos + 8 > size):
        raise MediaError("WAV file has no 'fmt ' chunk before its audio data", code="corrupt")
    return notes


def _check_wav_fmt(head: bytes, pos: int, clen: int) -> None:
    if clen < 16 or pos + 24 > len(head):
        raise MediaError("WAV 'fmt ' chunk is too short", code="corrupt")
    channels, rate = struct.unpack("<HI", head[pos + 10:pos + 16])
    if channels == 0 or rate == 0:
        raise MediaError(f"WAV header declares {channels} channels at {rate} Hz", code="corrupt")


def _check_wav_data(clen: int, available: int) -> list[str]:
    if clen in (0, 0xFFFFFFFF):
        return ["WAV data size is unset (streamed recording); length taken from the file size"]
    if clen > available:
        raise MediaError(
            f"WAV header claims {clen} bytes of audio but the file holds {available}: "
            "truncated file or lying header", code="truncated"
        )
    return []


_SOUNDFILE_FORMATS = ("wav", "flac", "ogg")  # not MP3: see _INEXACT_SEEK


def probe_audio(source: Path | bytes, head: bytes, size: int, limits: Limits, base: dict[str, Any],
                fmt: str) -> AudioMedia:
    """Open with soundfile where it can, else PyAV; enforce the duration limit."""
    notes = check_wav_header(head, size) if fmt == "wav" else []
    facts = _probe_with_soundfile(source, fmt, notes) if fmt in _SOUNDFILE_FORMATS else None
    rate, channels, codec, duration, backend = facts or (*_probe_with_av(source, fmt), "av")
    if rate <= 0 or channels <= 0:
        raise MediaError(f"{fmt.upper()} audio declares {channels} channels at {rate} Hz", code="corrupt")
    if duration > limits.max_duration_s:
        raise LimitExceeded(f"audio lasts {duration:.1f} s, above the {limits.max_duration_s:g} s limit")
    base = {**base, "warnings": base.get("warnings", []) + notes}
    return AudioMedia(**base, format=fmt, source=source, sample_rate=int(rate), channels=int(channels),
                      duration_s=float(duration), codec=str(codec), backend=backend)


def _probe_with_soundfile(source: Path | bytes, fmt: str, notes: list[str]
                          ) -> tuple[int, int, str, float, str] | None:
    """libsndfile's view of the file, or None (with a note) when PyAV should try instead."""
    try:
        import soundfile as sf
    except (ImportError, OSError):  # OSError: the libsndfile shared library is missing
        return None
    try:
        info = sf.info(_as_file(source))
    except Exception as exc:
        if fmt == "wav":  # PyAV would only hit the same broken header
            raise MediaError(f"WAV audio could not be read: {reason(exc)}", code="corrupt") from exc
        notes.append(f"libsndfile could not read this {fmt.upper()} ({reason(exc)}); decoded with FFmpeg instead")
        return None
    if info.frames <= 0 or info.samplerate <= 0:
        raise MediaError(f"{fmt.upper()} audio holds no samples", code="empty")
    return info.samplerate, info.channels, info.subtype, info.frames / info.samplerate, "soundfile"


def _probe_with_av(source: Path | bytes, fmt: str) -> tuple[int, int, str, float]:
    from .video import open_container

    with open_container(source, "audio", f"{fmt.upper()} audio") as container:
        if not container.streams.audio:
            raise MediaError(f"{fmt.upper()} file holds no audio stream", code="corrupt")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        if ctx is None:  # a stream without a codec FFmpeg knows (a corrupt or unknown codec id)
            raise MediaError(f"{fmt.upper()} audio stream has no codec FFmpeg can decode (corrupt header or "
                             "unknown codec)", code="corrupt")
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = (container.duration or 0) / 1_000_000
        channels = ctx.layout.nb_channels if ctx.layout else getattr(ctx, "channels", 0)
        return int(ctx.sample_rate or 0), int(channels), ctx.name, duration
