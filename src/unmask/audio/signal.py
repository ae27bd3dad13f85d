"""Audio as the speech detectors see it: 16 kHz mono float32, decoded in blocks so that memory stays bounded
whatever the file's length (a one-hour recording is never held whole).

`blocks(media)` works for an AudioMedia (soundfile or PyAV backend) and for the audio track of a VideoMedia;
both decode each sample once, front to back.
"""

from __future__ import annotations

from collections.abc import Iterator
from math import gcd
from typing import Any

import numpy as np

from ..errors import MediaError, NotApplicable, reason

RATE = 16000
BLOCK_S = 29.44  # 184 x 2,560 samples: a whole number of every frame grid the detectors use, and <= 30 s


def mono(x: np.ndarray) -> np.ndarray:
    """The mean of the channels of (frames, channels) samples, as float32 (a 1-D input passes through)."""
    x = np.asarray(x, np.float32)
    return x if x.ndim == 1 else x.mean(axis=1, dtype=np.float32)


def to_rate(x: np.ndarray, rate: int, target: int = RATE) -> np.ndarray:
    """1-D samples at `rate` resampled to `target` by polyphase filtering (scipy's resample_poly)."""
    if rate == target or x.size == 0:
        return np.asarray(x, np.float32)
    from scipy.signal import resample_poly

    g = gcd(int(rate), int(target))
    return resample_poly(x, target // g, rate // g).astype(np.float32)


class Resampler:
    """Block-by-block resampling that equals resampling the whole signal at once: each block is resampled
    with `pad_s` of input from the neighbouring blocks as context, the context starting on the polyphase
    grid (a multiple of the decimation factor), and only the block's own output samples are kept."""

    def __init__(self, rate: int, target: int = RATE, pad_s: float = 0.05) -> None:
        g = gcd(int(rate), int(target))
        self.rate, self.target, self.up, self.down = int(rate), int(target), int(target) // g, int(rate) // g
        self.pad = round(pad_s * rate)
        self._history = np.zeros(0, np.float32)  # input just before the pending block
        self._pending: np.ndarray | None = None
        self._pos = 0  # input index of the pending block's first sample

    def push(self, x: np.ndarray) -> np.ndarray:
        """Feed the next input block; returns the output for the previous one (empty on the first call)."""
        out = np.zeros(0, np.float32)
        if self._pending is not None:
            out = self._convert(self._pending, np.asarray(x[:self.pad], np.float32))
        self._pending = np.asarray(x, np.float32)
        return out

    def flush(self) -> np.ndarray:
        if self._pending is None:
            return np.zeros(0, np.float32)
        out, self._pending = self._convert(self._pending, np.zeros(0, np.float32)), None
        return out

    def _convert(self, block: np.ndarray, after: np.ndarray) -> np.ndarray:
        pos, n = self._pos, len(block)
        if self.rate == self.target:
            y = block
        else:
            context = self.pad + (pos - self.pad) % self.down
            context = context if context <= len(self._history) else len(self._history)  # len == pos here
            first, end = -(-pos * self.up // self.down), -(-(pos + n) * self.up // self.down)
            origin = (pos - context) * self.up // self.down
            joined = np.concatenate([self._history[len(self._history) - context:], block, after])
            y = to_rate(joined, self.rate, self.target)[first - origin:end - origin]
        keep = self.pad + self.down
        self._history = np.concatenate([self._history, block])[-keep:]
        self._pos = pos + n
        return y


def blocks(media: Any, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """16 kHz mono blocks of about `block_s` seconds covering the media's audio in order.

    NotApplicable for a video without an audio track; MediaError when the audio turns out corrupt."""
    if getattr(media, "kind", "") == "video":
        if not getattr(media, "has_audio", False):
            raise NotApplicable("the video has no audio track")
        native = _av_blocks(media.source, block_s)
    elif getattr(media, "backend", "") == "soundfile":
        native = _soundfile_blocks(media, block_s)
    else:
        native = _av_blocks(media.source, block_s)
    resampler: Resampler | None = None
    for x, rate in native:
        resampler = resampler or Resampler(rate)
        y = resampler.push(mono(x))
        if y.size:
            yield y
    if resampler is not None:
        y = resampler.flush()
        if y.size:
            yield y


def load(media: Any, max_s: float | None = None) -> np.ndarray:
    """The whole audio (or its first `max_s` seconds) as one 16 kHz mono array: for short clips and training."""
    out, total = [], 0
    for y in blocks(media):
        out.append(y)
        total += y.size
        if max_s is not None and total >= max_s * RATE:
            break
    x = np.concatenate(out) if out else np.zeros(0, np.float32)
    return x if max_s is None else x[:int(max_s * RATE)]


def _soundfile_blocks(media: Any, block_s: float) -> Iterator[tuple[np.ndarray, int]]:
    import soundfile as sf

    from ..media.audio import _as_file

    try:
        with sf.SoundFile(_as_file(media.source)) as f:
            size = max(1, int(block_s * f.samplerate))
            while True:
                x = f.read(size, dtype="float32", always_2d=True)
                if not len(x):
                    return
                yield x, int(f.samplerate)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise MediaError(f"audio could not be decoded ({reason(exc)})", code="corrupt") from exc


def _av_blocks(source: Any, block_s: float) -> Iterator[tuple[np.ndarray, int]]:
    """Decode the first audio stream with PyAV, front to back, gathered into blocks of about `block_s`."""
    from ..media.audio import PACKED_FORMAT, packed_samples
    from ..media.video import av_reason, import_av, open_container

    av = import_av("audio", "compressed audio")
    with open_container(source, "audio", "compressed audio") as container:
        if not container.streams.audio:
            raise NotApplicable("the file has no audio track")
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        if rate <= 0:
            raise MediaError("the audio track declares no sample rate", code="corrupt")
        resampler = av.AudioResampler(format=PACKED_FORMAT, rate=rate)
        pending: list[np.ndarray] = []
        held = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    block = packed_samples(out)
                    pending.append(block)
                    held += len(block)
                if held >= block_s * rate:
                    yield _join(pending), rate
                    pending, held = [], 0
        except MediaError:
            raise
        except Exception as exc:
            raise MediaError(f"audio stream is corrupt ({av_reason(exc)})", code="corrupt") from exc
        if pending:
            yield _join(pending), rate


def _join(parts: list[np.ndarray]) -> np.ndarray:
    width = min(p.shape[1] for p in parts)
    return np.ascontiguousarray(np.concatenate([p[:, :width] for p in parts]), dtype=np.float32)
