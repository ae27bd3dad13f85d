"""Shared test fixtures: a natural photo and a factory that writes small real media files into tmp_path.

Keep this small and generic; method-specific fixtures belong in their own test modules.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 512x512 RGB uint8 natural photograph (skimage.data.astronaut)."""
    skdata = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(skdata.astronaut())


def gray_ramp_frame(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    """Video frame `i`: a flat gray level that rises 8 per frame (from 20), plus a moving white square."""
    frame = np.full((height, width, 3), 20 + (8 * i) % 216, np.uint8)
    x = (4 * i) % (width - 8)
    frame[4:12, x:x + 8] = 255
    return frame


class MediaFiles:
    """Writes real, decodable files (Pillow, soundfile, PyAV) into one folder and returns their paths."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def write(self, name: str, data: bytes) -> Path:
        path = self.root / name
        path.write_bytes(data)
        return path

    @staticmethod
    def image_bytes(array: np.ndarray | Image.Image, fmt: str, **save_kw) -> bytes:
        """Encode an array or Pillow image with Pillow (fmt: JPEG, PNG, GIF, WEBP, TIFF, BMP, ...)."""
        im = array if isinstance(array, Image.Image) else Image.fromarray(array)
        buf = io.BytesIO()
        im.save(buf, fmt, **save_kw)
        return buf.getvalue()

    def jpeg(self, name: str, array: np.ndarray | Image.Image, quality: int = 90, **save_kw) -> Path:
        return self.write(name, self.image_bytes(array, "JPEG", quality=quality, **save_kw))

    def png(self, name: str, array: np.ndarray | Image.Image, **save_kw) -> Path:
        return self.write(name, self.image_bytes(array, "PNG", **save_kw))

    def audio(self, name: str, samples: np.ndarray, rate: int = 16000, fmt: str = "WAV",
              subtype: str | None = None) -> Path:
        """WAV / FLAC / OGG (Vorbis) / MP3 via soundfile; `samples` float in [-1, 1], (n,) or (n, channels)."""
        import soundfile as sf

        path = self.root / name
        sf.write(path, samples, rate, format=fmt, subtype=subtype)
        return path

    def wav(self, name: str, samples: np.ndarray, rate: int = 16000) -> Path:
        return self.audio(name, samples, rate, "WAV", "PCM_16")

    def video(self, name: str, seconds: float = 1.0, fps: int = 24, size: tuple[int, int] = (64, 48),
              codec: str = "libx264", frame: Callable[[int], np.ndarray] | None = None,
              container_format: str | None = None, gop: int | None = None,
              options: dict[str, str] | None = None) -> Path:
        """A silent video written with PyAV; frame i is `frame(i)` (default: `gray_ramp_frame`)."""
        av = pytest.importorskip("av")
        path = self.root / name
        width, height = size
        make = frame or (lambda i: gray_ramp_frame(i, width, height))
        with av.open(str(path), "w", format=container_format, options=options or {}) as out:
            stream = out.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            if gop:
                stream.codec_context.gop_size = gop
            for i in range(round(seconds * fps)):
                out.mux(stream.encode(av.VideoFrame.from_ndarray(make(i), format="rgb24")))
            out.mux(stream.encode())
        return path

    def m4a(self, name: str, samples: np.ndarray, rate: int = 44100) -> Path:
        """Mono AAC in an MP4 container, written with PyAV."""
        av = pytest.importorskip("av")
        path = self.root / name
        x = np.asarray(samples, np.float32)
        with av.open(str(path), "w", format="mp4") as out:
            stream = out.add_stream("aac", rate=rate, layout="mono")
            for i in range(0, len(x), 1024):
                chunk = av.AudioFrame.from_ndarray(x[None, i:i + 1024], format="flt", layout="mono")
                chunk.sample_rate, chunk.pts = rate, i
                out.mux(stream.encode(chunk))
            out.mux(stream.encode(None))
        return path


@pytest.fixture
def media_files(tmp_path: Path) -> MediaFiles:
    """A `MediaFiles` factory writing into this test's tmp_path."""
    return MediaFiles(tmp_path)


def tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    """A sine tone as float32 samples."""
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def make_tone() -> Callable[..., np.ndarray]:
    """`make_tone(seconds, rate, freq=440, amplitude=0.5)` -> float32 sine samples."""
    return tone
