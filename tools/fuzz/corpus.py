"""What the loader fuzzers share: seed files per loader kind, the mutations applied to them, and the rule a
fuzzed input must obey.

The rule (`exercise`): `unmask.load()` of any bytes returns media or raises a `MediaError` (the documented
error type: UnsupportedMedia and LimitExceeded are subclasses), and so do the lazily decoded parts a detector
reads next (a second of audio, the first video frames). Any other exception is a crash; the callers add the
time bound (a hang) and, for the long run, the memory bound.

Seeds are generated here, not downloaded: small files written by Pillow, soundfile and PyAV, plus files
derived from the project's own samples/ and tests/assets/ (cut or re-encoded small, keeping their metadata),
so a mutation reaches the parsers quickly. Used by tests/test_fuzz_loaders.py (hypothesis, short) and
tools/fuzz/fuzz_load.py (atheris, the documented long run).
"""

from __future__ import annotations

import io
import json
import random
import struct
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
ASSETS = ROOT / "tests" / "assets"
KINDS = ("jpeg", "png", "webp", "tiff", "mp4", "wav", "flac", "mp3", "text", "post")
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "tiff": "tif", "mp4": "mp4", "wav": "wav",
              "flac": "flac", "mp3": "mp3", "text": "txt", "post": "json"}
AUDIO_READ_S = 1.0  # how much audio a fuzzed input decodes after loading
VIDEO_FRAMES = 3  # how many frames a fuzzed video decodes after loading
INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


# ------------------------------------------------------------------------------------------ the rule


def exercise(data: bytes, limits: Any = None) -> str:
    """Load `data` and read what a detector would read first; returns 'ok:<kind>' or 'error:<code>'.

    Any exception that is not a MediaError propagates: that is a crash for the fuzzers. `limits` (an
    unmask.limits.Limits) defaults to the project's.
    """
    from unmask import load
    from unmask.errors import MediaError
    from unmask.limits import DEFAULT_LIMITS
    from unmask.media import AudioMedia, VideoMedia

    try:
        media = load(data, limits=limits or DEFAULT_LIMITS)
        media.info()
        if isinstance(media, AudioMedia):
            media.read(0.0, AUDIO_READ_S)
        elif isinstance(media, VideoMedia):
            for _ in islice(media.frames(), VIDEO_FRAMES):
                pass
    except MediaError as exc:
        return f"error:{exc.code}"
    return f"ok:{media.kind}"


# ------------------------------------------------------------------------------------------ the seeds


def _rgb(seed: int, width: int = 24, height: int = 16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, width * height * 3).reshape(height, width, 3)
    return np.clip(ramp + rng.normal(0, 20, ramp.shape), 0, 255).astype(np.uint8)


def _pil(array: np.ndarray, mode: str | None = None):
    from PIL import Image

    im = Image.fromarray(array)
    return im.convert(mode) if mode else im


def _save(im, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _small_sample(name: str, size: int = 32):
    """A samples/ image shrunk to `size` pixels wide, with its EXIF and PNG text kept (None when absent)."""
    from PIL import Image

    path = SAMPLES / name
    if not path.exists():
        return None
    with Image.open(path) as im:
        small = im.convert("RGB").resize((size, max(1, size * im.height // im.width)))
        small.info.update({k: v for k, v in im.info.items() if isinstance(v, str)})
        return small, im.getexif(), dict(im.info)


def _jpeg_seeds() -> list[tuple[str, bytes]]:
    im = _pil(_rgb(1))
    seeds = [("baseline", _save(im, "JPEG", quality=90)),
             ("progressive", _save(im, "JPEG", quality=75, progressive=True)),
             ("gray", _save(_pil(_rgb(2), "L"), "JPEG", quality=85)),
             ("444", _save(im, "JPEG", quality=95, subsampling=0)),
             ("restart", _save(im, "JPEG", quality=80, restart_marker_blocks=1)),
             ("cmyk", _save(im.convert("CMYK"), "JPEG"))]
    for name in ("edited_exif.jpg", "photo_authentic.jpg"):
        found = _small_sample(name)
        if found:
            small, exif, info = found
            extra = {"exif": exif} if exif else {}
            if info.get("icc_profile"):
                extra["icc_profile"] = info["icc_profile"]
            seeds.append((f"sample-{name.split('.')[0]}", _save(small, "JPEG", quality=85, **extra)))
    return seeds


def _png_seeds() -> list[tuple[str, bytes]]:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("parameters", "a photo, Steps: 20, Sampler: Euler a, Seed: 1")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>", zip=True)
    seeds = [("rgb", _save(_pil(_rgb(3)), "PNG")),
             ("rgba", _save(_pil(_rgb(4), "RGBA"), "PNG")),
             ("palette", _save(_pil(_rgb(5)).convert("P"), "PNG")),
             ("gray16", _save(_pil(_rgb(6)[..., 0].astype(np.uint16) * 257), "PNG")),
             ("interlaced-text", _save(_pil(_rgb(7)), "PNG", interlace=1, pnginfo=text))]
    found = _small_sample("generated_sd.png")
    if found:
        small, _, info = found
        meta = PngImagePlugin.PngInfo()
        for key, value in info.items():
            if isinstance(value, str):
                meta.add_text(key, value[:2000])
        seeds.append(("sample-generated_sd", _save(small, "PNG", pnginfo=meta)))
    return seeds


def _webp_seeds() -> list[tuple[str, bytes]]:
    frames = [_pil(_rgb(20 + i)) for i in range(3)]
    return [("lossy", _save(_pil(_rgb(8)), "WEBP", quality=80)),
            ("lossless", _save(_pil(_rgb(9)), "WEBP", lossless=True)),
            ("alpha", _save(_pil(_rgb(10), "RGBA"), "WEBP", quality=70)),
            ("animated", _save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=40))]


def _tiff_seeds() -> list[tuple[str, bytes]]:
    im = _pil(_rgb(11))
    exif = im.getexif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Maker", "Model", "editor 1.0"
    return [("raw", _save(im, "TIFF")),
            ("lzw", _save(im, "TIFF", compression="tiff_lzw")),
            ("deflate-exif", _save(im, "TIFF", compression="tiff_adobe_deflate", exif=exif)),
            ("gray16", _save(_pil(_rgb(12)[..., 0].astype(np.uint16) * 257), "TIFF")),
            ("multipage", _save(im, "TIFF", save_all=True, append_images=[_pil(_rgb(13))])),
            ("bigendian", _save(im, "TIFF", big_endian=True) if _pillow_big_endian() else _save(im, "TIFF"))]


def _pillow_big_endian() -> bool:
    """Pillow writes big-endian TIFF when asked (a keyword some versions lack)."""
    try:
        _save(_pil(_rgb(0, 4, 4)), "TIFF", big_endian=True)
    except (TypeError, ValueError, KeyError):
        return False
    return True


def _video(codec: str, container: str, frames: int = 6, size: tuple[int, int] = (32, 24)) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=12)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(_rgb(30 + i, *size), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buf.getvalue()


def _aac(container: str, seconds: float = 0.2, rate: int = 16000) -> bytes:
    """Mono AAC written by PyAV: in MP4 (an audio-only MP4, loaded as M4A) or as raw ADTS frames."""
    import av

    buf, x = io.BytesIO(), _tone(seconds, rate)
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        for i in range(0, len(x), 1024):
            frame = av.AudioFrame.from_ndarray(x[None, i:i + 1024], format="flt", layout="mono")
            frame.sample_rate, frame.pts = rate, i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def _mp4_seeds() -> list[tuple[str, bytes]]:
    seeds = [("h264", _video("libx264", "mp4")), ("mpeg4", _video("mpeg4", "mp4")), ("m4a-aac", _aac("mp4"))]
    if (SAMPLES / "clip.mp4").exists():
        seeds.append(("sample-clip", (SAMPLES / "clip.mp4").read_bytes()))
    return seeds


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    x = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return x if channels == 1 else np.stack([x, -x], axis=1)


def _sf(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def _sample_audio(path: Path, seconds: float) -> tuple[np.ndarray, int] | None:
    import soundfile as sf

    if not path.exists():
        return None
    with sf.SoundFile(str(path)) as f:
        return f.read(round(seconds * f.samplerate), dtype="float32"), f.samplerate


def _wav_seeds() -> list[tuple[str, bytes]]:
    seeds = [("pcm16", _sf(_tone(0.05, 8000), 8000, "WAV", "PCM_16")),
             ("float-stereo", _sf(_tone(0.05, 8000, 2), 8000, "WAV", "FLOAT")),
             ("u8", _sf(_tone(0.05, 8000), 8000, "WAV", "PCM_U8")),
             ("ulaw", _sf(_tone(0.05, 8000), 8000, "WAV", "ULAW"))]
    found = _sample_audio(SAMPLES / "tone.wav", 0.05)
    if found:
        seeds.append(("sample-tone", _sf(*found, "WAV", "PCM_16")))
    return seeds


def _flac_seeds() -> list[tuple[str, bytes]]:
    seeds = [("mono16", _sf(_tone(0.1, 8000), 8000, "FLAC", "PCM_16")),
             ("stereo24", _sf(_tone(0.1, 16000, 2), 16000, "FLAC", "PCM_24"))]
    found = _sample_audio(ASSETS / "speech_espeak.flac", 0.2)
    if found:
        seeds.append(("sample-speech", _sf(*found, "FLAC", "PCM_16")))
    return seeds


def _mp3_seeds() -> list[tuple[str, bytes]]:
    seeds = [("mono", _sf(_tone(0.2, 16000), 16000, "MP3", "MPEG_LAYER_III")),
             ("stereo", _sf(_tone(0.2, 22050, 2), 22050, "MP3", "MPEG_LAYER_III"))]
    id3 = b"ID3\x03\x00\x00\x00\x00\x00\x17TIT2\x00\x00\x00\x0d\x00\x00\x00unmask seed\x00"
    return [*seeds, ("id3", id3 + seeds[0][1]), ("adts-aac", _aac("adts"))]


def _text_seeds() -> list[tuple[str, bytes]]:
    seeds = [("plain", b"A short caption.\nSecond line with numbers 123 and a URL https://example.org\n"),
             ("unicode", "Caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001F600\r\nCRLF line\r".encode()),
             ("json-array", b'[1, 2, {"a": "b"}]\n'),
             ("html", b"<html><body><script>alert(1)</script><p>Hello</p></body></html>\n")]
    if (SAMPLES / "news_snippet.txt").exists():
        seeds.append(("sample-news", (SAMPLES / "news_snippet.txt").read_bytes()))
    return seeds


def _post_seeds() -> list[tuple[str, bytes]]:
    seeds = [("text-only", json.dumps({"text": "Just text", "author": "@x"}).encode()),
             ("url-images", json.dumps({"text": "two", "images": ["https://e.org/a.jpg", "data:,x"]}).encode()),
             ("image-only", json.dumps({"image": "photo.jpg"}).encode()),
             ("nested", json.dumps({"text": "n", "fields": {"a": [1, 2.5, None, True]}, "images": []}).encode())]
    if (SAMPLES / "post.json").exists():
        seeds.append(("sample-post", (SAMPLES / "post.json").read_bytes()))
    return seeds


SEED_MAKERS: dict[str, Callable[[], list[tuple[str, bytes]]]] = {
    "jpeg": _jpeg_seeds, "png": _png_seeds, "webp": _webp_seeds, "tiff": _tiff_seeds, "mp4": _mp4_seeds,
    "wav": _wav_seeds, "flac": _flac_seeds, "mp3": _mp3_seeds, "text": _text_seeds, "post": _post_seeds,
}
_SEEDS: dict[str, list[tuple[str, bytes]]] = {}


def seeds(kind: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of the seed files of one loader kind, made once per process."""
    if kind not in _SEEDS:
        _SEEDS[kind] = SEED_MAKERS[kind]()
    return _SEEDS[kind]


def write_seeds(root: Path, kinds: tuple[str, ...] = KINDS) -> dict[str, int]:
    """Write each kind's seeds to root/<kind>/ (the atheris harness's starting corpus); returns counts."""
    counts = {}
    for kind in kinds:
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds(kind):
            (folder / f"seed-{name}.{EXTENSIONS[kind]}").write_bytes(data)
        counts[kind] = len(seeds(kind))
    return counts


# ------------------------------------------------------------------------------------------ mutations


def chunks(kind: str, data: bytes) -> list[tuple[int, int, int]]:
    """(start, end, length-field offset or -1) of the format's top-level chunks: PNG chunks, RIFF chunks
    (WAV, WebP), JPEG segments, MP4 boxes, FLAC metadata blocks; else fixed 64-byte slices."""
    walkers = {"png": _png_chunks, "wav": _riff_chunks, "webp": _riff_chunks, "jpeg": _jpeg_segments,
               "mp4": _mp4_boxes, "flac": _flac_blocks}
    found = walkers[kind](data) if kind in walkers else []
    return found or [(i, min(i + 64, len(data)), -1) for i in range(0, len(data), 64)]


def _png_chunks(data: bytes) -> list[tuple[int, int, int]]:
    out, pos = [], 8
    while pos + 12 <= len(data):
        end = pos + 12 + struct.unpack(">I", data[pos:pos + 4])[0]
        out.append((pos, min(end, len(data)), pos))
        pos = end
    return out


def _riff_chunks(data: bytes) -> list[tuple[int, int, int]]:
    out, pos = [], 12
    while pos + 8 <= len(data):
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        end = pos + 8 + size + (size & 1)
        out.append((pos, min(end, len(data)), pos + 4))
        pos = end
    return out


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    out, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xD9, 0xDA):
        end = pos + 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        out.append((pos, min(end, len(data)), pos + 2))
        pos = end
    return out


def _mp4_boxes(data: bytes) -> list[tuple[int, int, int]]:
    out, pos = [], 0
    while pos + 8 <= len(data):
        size = struct.unpack(">I", data[pos:pos + 4])[0]
        if size < 8:
            break
        out.append((pos, min(pos + size, len(data)), pos))
        pos += size
    return out


def _flac_blocks(data: bytes) -> list[tuple[int, int, int]]:
    out, pos = [], 4
    while pos + 4 <= len(data):
        header = data[pos]
        end = pos + 4 + int.from_bytes(data[pos + 1:pos + 4], "big")
        out.append((pos, min(end, len(data)), pos + 1))
        pos = end
        if header & 0x80:  # the last metadata block
            break
    return out


def _pick(n: int, k: int) -> int:
    return k % n if n else 0


def flip_bits(kind: str, data: bytes, a: int, b: int, c: int) -> bytes:
    """Flip bit `b % 8` of byte `a` and of `c % 4` more bytes spread from it."""
    out = bytearray(data)
    for i in range(1 + c % 4):
        pos = _pick(len(out), a + i * (b + 1) * 31)
        out[pos] ^= 1 << ((b + i) % 8)
    return bytes(out)


def truncate(kind: str, data: bytes, a: int, b: int, c: int) -> bytes:
    """Cut the file short at byte `a` (keeping at least one byte)."""
    return data[:max(1, _pick(len(data), a))]


def insert_bytes(kind: str, data: bytes, a: int, b: int, c: int) -> bytes:
    """Insert `c % 16 + 1` bytes of value `b` (or a repeat of the bytes before) at `a`."""
    pos = _pick(len(data) + 1, a)
    blob = bytes([b & 0xFF]) * (c % 16 + 1) if b % 2 else data[max(0, pos - c % 64 - 1):pos]
    return data[:pos] + blob + data[pos:]


def delete_bytes(kind: str, data: bytes, a: int, b: int, c: int) -> bytes:
    """Remove `b % 256 + 1` bytes from `a`."""
    pos = _pick(len(data), a)
    return data[:pos] + data[pos + b % 256 + 1:]


def corrupt_field(kind: str, data: bytes, a: int, b: int, c: int) -> bytes:
    """Overwrite a chunk's length field (or, every other time, a header byte in the first 64) with an
    interesting value: 0, 1, 0x7F.., 0xFF.. (sizes, counts, dimensions and offsets all live there)."""
    spans = chunks(kind, data)
    start, _, field_at = spans[_pick(len(spans), a)]
    pos = field_at if field_at >= 0 and c % 2 else _pick(min(len(data), 64), a) if c % 4 < 2 else start
    value = INTERESTING[b % len(INTERESTING)]
    width = 4 if value > 0xFFFF else 2 if value > 0xFF else 1
    raw = value.to_bytes(width, "big" if c % 3 else "little")
    out = bytearray(data)
    out[pos:pos + width] = raw
    return bytes(out[:len(data)]) if len(out) > len(data) else bytes(out)


def duplicate_chunk(kind: str, data: bytes, a: int, b: int, c: int) -> bytes:
    """Repeat one chunk (a second header, a second IDAT, a second moov) right after itself or at another
    chunk boundary."""
    spans = chunks(kind, data)
    start, end, _ = spans[_pick(len(spans), a)]
    where = spans[_pick(len(spans), b)][1] if c % 2 else end
    return data[:where] + data[start:end] + data[where:]


def drop_chunk(kind: str, data: bytes, a: int, b: int, c: int) -> bytes:
    """Remove one whole chunk (the header chunk, the data chunk, the index)."""
    spans = chunks(kind, data)
    start, end, _ = spans[_pick(len(spans), a)]
    return data[:start] + data[end:] or data[:1]


MUTATIONS: dict[str, Callable[[str, bytes, int, int, int], bytes]] = {
    f.__name__: f for f in (flip_bits, truncate, insert_bytes, delete_bytes, corrupt_field, duplicate_chunk,
                            drop_chunk)
}


def mutate(kind: str, data: bytes, ops: list[tuple[str, int, int, int]]) -> bytes:
    """Apply each (mutation name, a, b, c) in turn; the integers choose positions and values. An empty
    result stays empty (the loader's own empty-file case)."""
    for name, a, b, c in ops:
        if not data:
            break
        data = MUTATIONS[name](kind, data, a, b, c)
    return data


def random_ops(rng: random.Random, count: int) -> list[tuple[str, int, int, int]]:
    """`count` random mutation steps (for deterministic corpus generation from a seeded Random)."""
    names = sorted(MUTATIONS)
    return [(rng.choice(names), rng.randrange(1 << 20), rng.randrange(1 << 16), rng.randrange(1 << 8))
            for _ in range(count)]


def hostile_files(kind: str, count: int, seed: int = 18) -> list[tuple[str, bytes]]:
    """`count` mutants of the kind's seeds, the same on every run: (name saying how it was made, bytes)."""
    rng = random.Random(f"{seed}-{kind}")
    bases = seeds(kind)
    out = []
    for i in range(count):
        name, data = bases[i % len(bases)]
        ops = random_ops(rng, 1 + i % 3)
        out.append((f"{kind}-{i:03d}-{name}-{'+'.join(op[0] for op in ops)}", mutate(kind, data, ops)))
    return out
