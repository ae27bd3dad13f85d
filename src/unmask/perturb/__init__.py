"""Seeded, composable perturbations for robustness sweeps: encoded bytes in, encoded bytes out.

A step is written as a spec string, `jpeg(q=75)`, `resize(0.5)`, `fit(long=1024)`, `chain:twitter`; steps
compose with `|`. `parse("jpeg(q=75)|resize(long=1024)")` gives a `Chain`, and `str(chain)` gives the canonical
spec back (`parse(str(c)) == c`). Applying works on encoded files (JPEG, PNG, WAV, MP4, ...) so a detector sees
what a platform or an editor would deliver: a real file with its format and metadata. Every random choice is
drawn from `seed`, so `chain.cache_key(seed)` names an output exactly. See docs/perturbations.md.
"""

from __future__ import annotations

from . import audio, chains, image, video  # noqa: F401  (each op module registers its ops on import)
from .spec import Chain, Op, Param, Perturbation, PerturbationLike, media_kind, ops, parse, register

__all__ = ["Chain", "Op", "Param", "Perturbation", "PerturbationLike", "media_kind", "ops", "parse", "register"]
