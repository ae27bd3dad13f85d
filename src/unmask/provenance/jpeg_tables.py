"""JPEG quantization tables: the Annex K tables, libjpeg's quality scaling, and tables of known software.

ITU-T T.81 Annex K gives example luminance and chrominance tables; the Independent JPEG Group's libjpeg
(and libjpeg-turbo, hence Pillow, GIMP, OpenCV, browsers and most web services) scales them by one quality
number: scale = 5000/q below 50 and 200-2q from 50, table = clamp((base*scale + 50) // 100, 1, 255).
A file whose tables are exactly such a pair was written by libjpeg-style software at that quality; many
phones use these tables too, so an exact match says "libjpeg scaling", not "not a camera". Other software
scales other base tables (mozjpeg: N. Robidoux's table for both channels) or uses fixed presets (Adobe
Photoshop; the presets Pillow ships as equivalent to Photoshop's settings are used here). Cameras mostly
write their own tables, which match none of these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANNEX_K_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.int32).reshape(8, 8)

ANNEX_K_CHROMA = np.full((8, 8), 99, dtype=np.int32)
ANNEX_K_CHROMA[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]

# N. Robidoux's table: mozjpeg's default (its quant table 3), used for luma and chroma alike.
ROBIDOUX = np.array([
    16, 16, 16, 18, 25, 37, 56, 85,
    16, 17, 20, 27, 34, 40, 53, 75,
    16, 20, 24, 31, 43, 62, 91, 135,
    18, 27, 31, 40, 53, 74, 106, 156,
    25, 34, 43, 53, 69, 94, 131, 189,
    37, 40, 62, 74, 94, 124, 169, 238,
    56, 53, 91, 106, 131, 169, 226, 311,
    85, 75, 135, 156, 189, 238, 311, 418,
], dtype=np.int32).reshape(8, 8)

# Zig-zag scan order: ZIGZAG[k] is the natural (row-major) index of the k-th coefficient.
ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
    21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53,
    60, 61, 54, 47, 55, 62, 63,
])


def ijg_scale(base: np.ndarray, quality: int) -> np.ndarray:
    """libjpeg's `jpeg_set_quality` (force_baseline) applied to one base table."""
    q = min(100, max(1, int(quality)))
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip((base.astype(np.int64) * scale + 50) // 100, 1, 255).astype(np.int32)


def ijg_all(base: np.ndarray) -> np.ndarray:
    """`ijg_scale` for every quality 1..100 at once: shape (100, 8, 8), row q-1 is quality q."""
    q = np.arange(1, 101)
    scale = np.where(q < 50, 5000 // q, 200 - 2 * q)[:, None, None]
    return np.clip((base.astype(np.int64)[None] * scale + 50) // 100, 1, 255).astype(np.int32)


@dataclass(frozen=True)
class TableMatch:
    """How the file's tables relate to a family of known tables."""

    family: str  # "libjpeg (IJG) standard tables", "mozjpeg default tables", "Adobe Photoshop preset ..."
    quality: int | None  # on that family's scale, when it has one
    exact: bool
    mean_abs_diff: float  # mean |difference| per entry against the nearest member


def _nearest_quality(tables: list[np.ndarray], bases: list[np.ndarray]) -> tuple[int, float]:
    """Quality whose scaled tables are closest to `tables` (mean absolute difference over all entries)."""
    diffs = np.mean([np.abs(ijg_all(b) - t[None]).mean(axis=(1, 2)) for t, b in zip(tables, bases, strict=False)],
                    axis=0)
    best = int(np.argmin(diffs))  # first minimum: the lowest quality among equals
    return best + 1, float(diffs[best])


def _scaled_family(name: str, tables: list[np.ndarray], bases: list[np.ndarray]) -> TableMatch:
    q, diff = _nearest_quality(tables, bases)
    return TableMatch(name, q, diff == 0.0, diff)


def _photoshop_presets() -> list[tuple[str, list[np.ndarray]]]:
    """Pillow's presets 'equivalent to the Photoshop settings', as natural-order 8x8 tables."""
    try:
        from PIL import JpegPresets
    except ImportError:  # pragma: no cover - Pillow is a core dependency
        return []
    out = []
    for name, preset in JpegPresets.presets.items():
        tables = [np.asarray(t, dtype=np.int32).reshape(8, 8) for t in preset.get("quantization", [])]
        if tables:
            out.append((name, tables))
    return out


def identify_tables(qtables: dict[int, np.ndarray] | list[np.ndarray]) -> list[TableMatch]:
    """Every family's nearest member, exact matches first, then by closeness.

    `qtables` are natural-order 8x8 tables, luminance first (as the JPEG's DQT slots 0, 1, ...).
    """
    tables = [np.asarray(t, dtype=np.int32).reshape(8, 8) for t in (
        [qtables[k] for k in sorted(qtables)] if isinstance(qtables, dict) else qtables)]
    if not tables:
        return []
    luma, chroma = tables[0], tables[1:2]
    out = [
        _scaled_family("libjpeg (IJG) standard tables", [luma, *chroma], [ANNEX_K_LUMA, ANNEX_K_CHROMA][: 1 + len(chroma)]),
        _scaled_family("mozjpeg default tables", [luma, *chroma], [ROBIDOUX, ROBIDOUX][: 1 + len(chroma)]),
    ]
    for name, preset in _photoshop_presets():
        pairs = list(zip(tables, preset, strict=False))
        diff = float(np.mean([np.abs(a - b).mean() for a, b in pairs]))
        out.append(TableMatch(f"Adobe Photoshop preset '{name}' (as Pillow ships it)", None, diff == 0.0, diff))
    return sorted(out, key=lambda m: (not m.exact, m.mean_abs_diff))


def estimated_quality(luma: np.ndarray) -> int:
    """Nearest libjpeg quality for a luminance table (any software): a rough, comparable number."""
    return _nearest_quality([np.asarray(luma, dtype=np.int32).reshape(8, 8)], [ANNEX_K_LUMA])[0]
