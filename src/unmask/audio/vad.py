"""Voice activity: which 10 ms frames hold sound (`active`, energy) and which hold speech (`SileroSpeech`).

A frame is active when its log energy is within `range_db` of the block's loud frames (98th percentile) and
above an absolute floor; a short hangover closes the gaps between syllables. Cheap and dependency-free, it
separates speech from silence and low hiss; it does not tell speech from music. `SileroSpeech` does: the
Silero VAD network (Silero Team 2021, v5, MIT; the `silero-vad` package's ONNX file run with onnxruntime, one
thread) gives each 32 ms a speech probability, so a tone, music or noise is told from a voice.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

FRAME = 400  # 25 ms at 16 kHz
HOP = 160  # 10 ms
FLOOR_DB = -55.0  # dBFS below which nothing counts as sound
RANGE_DB = 35.0
HANGOVER = 10  # frames (100 ms)


def frame_energy_db(x: np.ndarray, frame: int = FRAME, hop: int = HOP) -> np.ndarray:
    """Log energy (dBFS, mean square) of each frame starting every `hop` samples."""
    if x.size < frame:
        x = np.pad(x, (0, frame - x.size))
    n = 1 + (x.size - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    power = np.mean(np.square(x[idx], dtype=np.float64), axis=1)
    return 10.0 * np.log10(power + 1e-12)


def active(x: np.ndarray, floor_db: float = FLOOR_DB, range_db: float = RANGE_DB) -> np.ndarray:
    """Boolean per 10 ms frame: sound above the floor and within `range_db` of the block's loud frames."""
    db = frame_energy_db(x)
    loud = float(np.percentile(db, 98)) if db.size else floor_db
    on = (db > floor_db) & (db > loud - range_db)
    if HANGOVER and on.any():
        kernel = np.ones(HANGOVER + 1)
        on = np.convolve(on.astype(float), kernel)[: on.size] > 0
    return on


class SileroSpeech:
    """Speech or not per 10 ms frame (the `active` grid) of consecutive 16 kHz blocks of one recording; the
    network's state runs on from block to block, so blocks must be whole multiples of CHUNK samples (the last
    excepted). One instance per recording."""

    CHUNK, CONTEXT = 512, 64

    def __init__(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])
        self.h = np.zeros((1, 1, 128), np.float32)
        self.c = np.zeros((1, 1, 128), np.float32)
        self.tail = np.zeros(self.CONTEXT, np.float32)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(speech) of each whole 32-ms chunk of the block (a last partial chunk is padded with zeros)."""
        n = -(-x.size // self.CHUNK)
        if not n:
            return np.zeros(0, np.float32)
        padded = np.concatenate([self.tail, x, np.zeros(n * self.CHUNK - x.size, np.float32)]).astype(np.float32)
        rows = np.lib.stride_tricks.sliding_window_view(padded, self.CHUNK + self.CONTEXT)[::self.CHUNK][:n]
        p, self.h, self.c = self.session.run(None, {"input": np.ascontiguousarray(rows), "h": self.h, "c": self.c})
        self.tail = padded[-self.CONTEXT:]
        return p

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Speech (P >= 0.5) at each 10-ms frame of `frame_energy_db`'s grid, read at the frame's centre."""
        p = self.probabilities(x)
        n = 1 + max(x.size - FRAME, 0) // HOP
        chunk = np.minimum((np.arange(n) * HOP + FRAME // 2) // self.CHUNK, max(len(p) - 1, 0))
        return p[chunk] >= 0.5 if len(p) else np.zeros(n, bool)


def model_path() -> Path:
    """The Silero VAD ONNX file of the installed `silero-vad` package, found without importing it (its
    package imports torch)."""
    from ..errors import MissingDependency

    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("silero-vad", "audio", "speech detection (which windows hold a voice)")
    return Path(spec.submodule_search_locations[0]) / "data" / "silero_vad_16k_sequence.onnx"
