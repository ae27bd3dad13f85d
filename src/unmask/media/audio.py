"""Audio decoded lazily: soundfile for WAV/FLAC/OGG/MP3, PyAV for AAC/M4A; headers are validated at load."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LimitExceeded, MediaError, MissingDependency
from ..limits import Limits
from .base import Media


@dataclass(eq=False)
class AudioMedia(Media):
    """An audio file; `read()` decodes a window as float32 samples, shape (frames, channels)."""

    source: Path | bytes = field(repr=False, kw_only=True)
    sample_rate: int = field(kw_only=True)
    channels: int = field(kw_only=True)
    duration_s: float = field(kw_only=True)
    codec: str = field(kw_only=True)
    backend: str = field(kw_only=True)

    kind = "audio"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "duration_s": self.duration_s, "sample_rate": self.sample_rate}

    def read(self, start_s: float = 0.0, end_s: float | None = None) -> np.ndarray:
        if self.backend == "soundfile":
            import soundfile as sf

            with sf.SoundFile(_as_file(self.source)) as f:
                f.seek(int(start_s * self.sample_rate))
                n = -1 if end_s is None else max(0, int((end_s - start_s) * self.sample_rate))
                return f.read(n, dtype="float32", always_2d=True)
        from .video import open_container

        with open_container(self.source) as container:
            chunks = []
            for frame in container.decode(audio=0):
                t = float(frame.time or 0.0)
                if end_s is not None and t > end_s:
                    break
                if t + frame.samples / frame.sample_rate >= start_s:
                    chunks.append(frame.to_ndarray().reshape(self.channels, -1).T.astype(np.float32))
            return np.concatenate(chunks) if chunks else np.zeros((0, self.channels), np.float32)


def _as_file(source: Path | bytes):
    return str(source) if isinstance(source, Path) else io.BytesIO(source)


def check_wav_header(head: bytes, size: int) -> list[str]:
    """Walk RIFF chunks; a data chunk that claims more bytes than the file holds is a lying header."""
    notes: list[str] = []
    pos, found_fmt = 12, False
    while pos + 8 <= len(head):
        cid, clen = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            if clen < 16 or pos + 24 > len(head):
                raise MediaError("WAV 'fmt ' chunk is too short")
            channels, rate = struct.unpack("<HI", head[pos + 10:pos + 16])
            if channels == 0 or rate == 0:
                raise MediaError(f"WAV header declares {channels} channels at {rate} Hz")
            found_fmt = True
        elif cid == b"data":
            available = size - (pos + 8)
            if clen in (0, 0xFFFFFFFF):
                notes.append("WAV data size is unset (streamed recording); length taken from the file size")
            elif clen > available:
                raise MediaError(
                    f"WAV header claims {clen} bytes of audio but the file holds {available}: "
                    "truncated file or lying header"
                )
            break
        pos += 8 + clen + (clen & 1)
    if not found_fmt:
        raise MediaError("WAV file has no 'fmt ' chunk before its audio data")
    return notes


def probe_audio(source: Path | bytes, head: bytes, size: int, limits: Limits, base: dict[str, Any],
                fmt: str) -> AudioMedia:
    """Open with soundfile where it can, else PyAV; enforce the duration limit."""
    notes = check_wav_header(head, size) if fmt == "wav" else []
    try:
        import soundfile as sf
    except ImportError:
        sf = None
    if sf is not None and fmt in ("wav", "flac", "mp3", "ogg"):
        try:
            info = sf.info(_as_file(source))
        except Exception as exc:
            raise MediaError(f"{fmt.upper()} audio could not be read: {exc}") from exc
        if info.frames <= 0 or info.samplerate <= 0:
            raise MediaError(f"{fmt.upper()} audio holds no samples")
        duration = info.frames / info.samplerate
        rate, channels, codec, backend = info.samplerate, info.channels, info.subtype, "soundfile"
    else:
        rate, channels, codec, duration = _probe_with_av(source, fmt)
        backend = "av"
    if duration > limits.max_duration_s:
        raise LimitExceeded(f"audio lasts {duration:.0f} s, above the {limits.max_duration_s:.0f} s limit")
    base = {**base, "warnings": base.get("warnings", []) + notes}
    return AudioMedia(**base, format=fmt, source=source, sample_rate=int(rate), channels=int(channels),
                      duration_s=float(duration), codec=str(codec), backend=backend)


def _probe_with_av(source: Path | bytes, fmt: str) -> tuple[int, int, str, float]:
    from .video import open_container

    try:
        container = open_container(source)
    except MissingDependency:
        raise
    with container:
        if not container.streams.audio:
            raise MediaError(f"{fmt.upper()} file holds no audio stream")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        duration = float(stream.duration * stream.time_base) if stream.duration else (
            container.duration or 0) / 1_000_000
        return int(ctx.sample_rate), int(ctx.channels), ctx.name, duration
