"""A fitted verdict model: one logistic regression over the detectors of one profile, with its operating point.

Stacked generalisation (Wolpert 1992) with a logistic combiner, fitted by `unmask.verdict.fit` (scikit-learn)
on the cached benchmark scores of a development pool. Per detector d the feature is `feature(score_d)`, the
logit of the score clipped to [0.01, 0.99]; a
missing score (not applicable, an error) is filled with d's development mean, so it moves nothing. Whether a
detector gives a score at all is not a feature: it follows the file format (a PNG has no JPEG traces), and
formats differ between the classes of any development pool, a shortcut. Every detector's score weight is >= 0 (a higher score never lowers
P(fake); Breiman 1996, "Stacked regressions", argues for the same constraint), so a finding that raised the
probability is one whose own score was high. The operating point (`thresholds`) turns the probability into
a label: `manipulated` (or `ai-generated`) at or above `manipulated`, `authentic` at or below `authentic`,
chosen on out-of-fold development probabilities at a stated false-alarm rate (see `unmask.verdict.fit`).

Applying a model is numpy only: no scikit-learn at analysis time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from ..calibration.fit import sigmoid
from ..calibration.jsonfile import JsonFile

FORMAT = "unmask-verdict/1"
FEATURE_EPS = 0.01  # detectors say exactly 0 for "nothing found": a logit at 1e-6 would turn 0 vs 0.001 into
# a 7-unit gap that means nothing, and reports show scores to two decimals


def feature(scores: np.ndarray) -> np.ndarray:
    """The model's input for raw detector scores: logit of the score clipped to [FEATURE_EPS, 1 - FEATURE_EPS]."""
    p = np.clip(np.asarray(scores, dtype=np.float64), FEATURE_EPS, 1.0 - FEATURE_EPS)
    return np.log(p) - np.log1p(-p)


@dataclass
class Feature:
    """One input of the combiner: a detector's score, as logit."""

    detector: str
    weight: float  # on the unstandardised feature
    mean: float  # development mean, also the value a missing score is filled with
    std: float  # development standard deviation (weight x std = standardised weight)


@dataclass
class VerdictModel(JsonFile):
    """A fitted verdict model for one modality and profile (`name`, e.g. "image-default")."""

    file_format = FORMAT
    file_keys = ("name", "modality", "detectors", "features", "intercept", "thresholds", "l2", "fitted_on",
                 "evaluation", "trust")
    required = 6
    file_what = load_what = "verdict model"
    load_errors = (OSError, ValueError, TypeError, KeyError)

    name: str
    modality: str
    detectors: dict[str, str]  # name -> version the development scores came from
    features: list[Feature]
    intercept: float
    thresholds: dict[str, Any]  # manipulated, authentic (probabilities) and how they were chosen
    l2: float = 1.0
    fitted_on: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    trust: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None  # the file it was read from (not stored)

    def __post_init__(self) -> None:
        self.features = [f if isinstance(f, Feature) else Feature(**f) for f in self.features]
        unknown = {f.detector for f in self.features} - set(self.detectors)
        if unknown:
            raise ValueError(f"features name detectors not in the model: {', '.join(sorted(unknown))}")
        lo, hi = float(self.thresholds["authentic"]), float(self.thresholds["manipulated"])
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"thresholds must satisfy 0 <= authentic ({lo}) <= manipulated ({hi}) <= 1")

    def design(self, scores: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """Feature matrix (n, n_features) of raw scores `scores` (n, len(names)), NaN = no score."""
        s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
        col = {name: i for i, name in enumerate(names)}
        out = np.empty((s.shape[0], len(self.features)))
        for j, f in enumerate(self.features):
            raw = s[:, col[f.detector]] if f.detector in col else np.full(s.shape[0], np.nan)
            missing = ~np.isfinite(raw)
            out[:, j] = np.where(missing, f.mean, feature(np.where(missing, 0.5, raw)))
        return out

    def predict(self, scores: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """P(fake) for each row of raw scores (columns named by `names`, NaN = no score)."""
        x = self.design(scores, names)
        return sigmoid(self.intercept + x @ np.array([f.weight for f in self.features]))

    def _row(self, by_detector: Mapping[str, float | None]) -> tuple[np.ndarray, list[str]]:
        names = list(self.detectors)
        return np.array([[np.nan if by_detector.get(n) is None else float(by_detector[n]) for n in names]]), names

    def probability(self, by_detector: Mapping[str, float | None]) -> float:
        """P(fake) of one media from its raw scores by detector name (absent or None = no score)."""
        return float(self.predict(*self._row(by_detector))[0])

    def contributions(self, by_detector: Mapping[str, float | None]) -> dict[str, float]:
        """Per detector, how far it moved the log-odds from the development-average media: weight x (feature -
        its mean); 0 for a missing score."""
        x = self.design(*self._row(by_detector))[0]
        out = dict.fromkeys(self.detectors, 0.0)
        for f, value in zip(self.features, x, strict=True):
            out[f.detector] += f.weight * (value - f.mean)
        return out

    def label(self, p: float | np.ndarray) -> np.ndarray:
        """"manipulated" / "inconclusive" / "authentic" by the operating point (ai-generated is decided by the
        finding that raised the probability most, in `unmask.verdict.fuse`)."""
        p = np.asarray(p, dtype=np.float64)
        return np.where(p >= self.thresholds["manipulated"], "manipulated",
                        np.where(p <= self.thresholds["authentic"], "authentic", "inconclusive"))

    def problem(self, running: Mapping[str, str]) -> str | None:
        """Why this model cannot be used with the detectors that run (name -> version), or None if it can."""
        where = self.source or f"verdict model {self.name}"
        absent = [n for n in self.detectors if n not in running]
        if absent:
            return (f"{where} ignored: it combines {', '.join(absent)}, which this analysis does not run; "
                    "fallback rule used")
        stale = [f"{n} version {v} (running {running[n]})" for n, v in self.detectors.items()
                 if str(running[n]) != str(v)]
        if stale:
            return f"{where} ignored: fitted on {', '.join(stale)}; fallback rule used"
        return None


def packaged(modality: str, profile: str) -> VerdictModel | None:
    """The model shipped as package data `unmask/verdict/data/<modality>-<profile>.json`, else the modality's
    `-default` one (a profile with no model of its own: its extra detectors then give reasons, not the
    probability), else None."""
    for name in dict.fromkeys((f"{modality}-{profile}", f"{modality}-default")):
        ref = resources.files("unmask.verdict").joinpath("data", f"{name}.json")
        if ref.is_file():
            return VerdictModel.from_dict(json.loads(ref.read_text(encoding="utf-8")),
                                          source=f"package data {name}.json")
    return None


def resolve(detectors: Sequence[tuple[str, str, Sequence[str]]], profile: str, given: Any = None
            ) -> tuple[dict[str, VerdictModel], dict[str, str]]:
    """({modality: usable model}, {modality: why its model is ignored}) for running (name, version,
    modalities) detectors.

    `given`: None = the packaged model of the profile for each modality; False or "none" = no model (the
    fallback rule); a path or `VerdictModel` = that model for its modality (the others keep their packaged
    one). A given file that cannot be read raises ValueError; a broken packaged one is only a note. A
    packaged model that combines a detector not running (a --detectors subset) is skipped without a note.
    """
    if given is False or (isinstance(given, str) and given.strip().lower() == "none"):
        return {}, {}
    chosen: dict[str, VerdictModel] = {}
    notes: dict[str, str] = {}
    given_model = None
    if given is not None:
        given_model = given if isinstance(given, VerdictModel) else VerdictModel.load(given)
        chosen[given_model.modality] = given_model
    for modality in dict.fromkeys(m for _, _, mods in detectors for m in mods):
        if modality in chosen:
            continue
        try:
            model = packaged(modality, profile)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            notes[modality] = f"packaged verdict model {modality}-{profile} ignored: {exc}"
            continue
        if model is not None:
            chosen[modality] = model
    running = {name: version for name, version, _ in detectors}
    usable = {}
    for modality, model in chosen.items():
        if model is not given_model and any(n not in running for n in model.detectors):
            continue
        why = model.problem(running)
        if why:
            notes[modality] = why
        else:
            usable[modality] = model
    return usable, notes
