"""Energy voice-activity detection: which 10 ms frames hold speech (or other sound) rather than silence.

A frame is active when its log energy is within `range_db` of the block's loud frames (98th percentile) and
above an absolute floor; a short hangover closes the gaps between syllables. Cheap and dependency-free, it
separates speech from silence and low hiss; it does not tell speech from music (the detectors' reasons say
so), which a model such as silero-vad would.
"""

from __future__ import annotations

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
