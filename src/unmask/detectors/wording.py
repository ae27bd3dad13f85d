"""Fixed score bands for a detector's one-sentence summary, so that what it says agrees with its score.

A detector writes three versions of its sentence and `say` picks the one for its score's band: a clear sign
at >= 0.7, no sign at <= 0.3, weak or unclear signs in between. The cut-offs are fixed in advance, not tuned
on any data; they are the verdict layer's default cut-offs (manipulated at >= 0.7, authentic at <= 0.3), so a
finding never reads "looks forged" while its score alone would count as authentic. A region's share in a
sentence is the share of the detector's own map above the threshold it uses for that map (`share`), or of its
mask when it returns one: what the user sees on the overlay.

Detectors that read facts from the file (c2pa, metadata, watermark, jpeg_fingerprint) report what the file
states, at fixed scores per kind of fact; they do not go through `say`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

CLEAR_AT = 0.7
NONE_AT = 0.3

Band = Literal["clear", "unclear", "none"]


def band(score: float) -> Band:
    """"clear" at >= 0.7, "none" at <= 0.3, else "unclear"."""
    if score >= CLEAR_AT:
        return "clear"
    if score <= NONE_AT:
        return "none"
    return "unclear"


def say(score: float, *, clear: str | None = None, unclear: str | None = None, none: str | None = None) -> str:
    """The sentence for `score`'s band. A branch whose score is fixed gives only its band's sentence (a
    ValueError if the score moves out of it). Call it as `wording.say(...)` (the wording test records the
    calls) and put `band(score)` in the evidence details as `"band"`."""
    b = band(score)
    sentence = {"clear": clear, "unclear": unclear, "none": none}[b]
    if sentence is None:
        raise ValueError(f"no sentence for a score of {score:.3f} (band {b!r})")
    return sentence


def share(region: np.ndarray, threshold: float = 0.5) -> float:
    """Share of the image a region covers: a boolean mask's mean, or the share of a [0,1] map above
    `threshold`."""
    region = np.asarray(region)
    if region.size == 0:
        return 0.0
    if region.dtype == bool:
        return float(region.mean())
    return float((region > threshold).mean())


def region(fraction: float) -> str:
    """`of_image(fraction)`, or "a very small area" under 0.1% of the image, where a percentage says little."""
    return of_image(fraction) if fraction > 0.001 else "a very small area"


def of_image(fraction: float) -> str:
    """'12.3% of the image', as every detector writes a region's share (the wording test looks for it)."""
    if 0.0 < fraction < 0.0005:
        return "less than 0.1% of the image"
    return f"{fraction:.1%} of the image"
