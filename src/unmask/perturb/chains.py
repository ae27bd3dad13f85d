"""Social-network chains: what a platform does to an uploaded photo, as a spec of ordinary steps.

Each chain is `fit(long=L)|jpeg(q=Q,subsampling=4:2:0)|strip`: shrink so the long side is at most L (never
enlarge), re-encode as JPEG at quality Q with libjpeg's tables, and drop all metadata. The values come from the
published measurements listed in docs/perturbations.md, each with its date; platforms change their pipelines
without notice, so a chain is a dated approximation, not the platform. `chain:<name>` in a spec expands here;
`Chain.cache_key` hashes the expanded steps, so changing a value below changes the key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import Chain, Op, Param, Perturbation, register


@dataclass(frozen=True)
class Platform:
    """A platform's photo pipeline as measured in `source` (see docs/perturbations.md)."""

    name: str
    long_side: int
    quality: int
    source: str
    as_of: str

    def steps(self) -> Chain:
        return Chain((Perturbation("fit", {"long": self.long_side}),
                      Perturbation("jpeg", {"q": self.quality, "subsampling": "4:2:0"}),
                      Perturbation("strip", {})))


PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform("twitter", 4096, 85, "Twitter developer forum, N. O'Brien (JPEG kept as JPEG, re-encoded at 85% "
             "JFIF quality when above it); Photo Taco 2021 (4096 px long side)", "2018-12 / 2021"),
    Platform("facebook", 2048, 75, "2048 px 'high quality' limit (many tests since 2013, e.g. raastech.com "
             "2013-12); QF 75 estimated from DCT coefficients in a study quoted by ralfheinrich.de 2017-01",
             "2013-2017"),
    Platform("instagram", 1080, 80, "1080 px long side (Photo Taco 2021); quality not measured in any source "
             "found: 80 is an assumption", "2021"),
    Platform("whatsapp", 1600, 80, "1600 px long side in 'best quality' mode (dariusz.wieckiewicz.org); "
             "quality an assumption (older iOS measurements: 0.5 on Apple's scale, built.io)", "undated"),
    Platform("wechat", 1280, 50, "reverse-engineered iOS compression (mo4tech.com): long side 1280 when the "
             "aspect ratio is at most 2, quality 0.5 on Apple's 0..1 scale, read here as libjpeg q=50",
             "undated"),
)}
PLATFORMS["x"] = PLATFORMS["twitter"]


def expand(platform: str) -> Chain:
    """The steps of `chain:<platform>`."""
    try:
        return PLATFORMS[platform].steps()
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}; known: {', '.join(sorted(PLATFORMS))}") from None


def _never(data: bytes, rng: np.random.Generator, platform: str) -> bytes:
    return expand(platform).apply(data)  # Chain.apply expands chain steps first; this is a fallback


register(Op("chain", (Param("platform", str, choices=tuple(sorted(PLATFORMS))),), {"image": _never},
            "A social network's photo pipeline: fit to its long side, JPEG at its quality, strip metadata.",
            expand=expand))
