"""A fitted calibration as one small JSON file per detector, and how an analysis finds and applies it.

The file names the detector and its version (a calibration is only valid for the scores of the version it
was fitted on), the method and its parameters, the development data it was fitted on (manifest, split, n,
date), an operating threshold chosen at a target FPR on that same dev split, and the ECE / Brier score before
and after calibration measured on a separate split. Files come from `Analyzer(calibrations=...)` or, when a
detector has none given, from package data `unmask/calibration/data/<detector>.json` (none shipped yet).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from .fit import METHODS, apply, fit, threshold_at_fpr
from .jsonfile import JsonFile

FORMAT = "unmask-calibration/1"


@dataclass
class Calibration(JsonFile):
    """A fitted score calibrator for one detector version, with where it came from and how well it did."""

    file_format = FORMAT
    file_keys = ("detector", "detector_version", "method", "params", "fitted_on", "threshold", "evaluation")
    required = 4
    file_what = "calibration file"
    load_what = "calibration"

    detector: str
    detector_version: str
    method: str
    params: dict[str, Any]
    fitted_on: dict[str, Any] = field(default_factory=dict)  # manifest, split, n, n_fake, date
    threshold: dict[str, Any] = field(default_factory=dict)  # target_fpr, score (calibrated), raw_score, ...
    evaluation: dict[str, Any] = field(default_factory=dict)  # split, n, ece_before/after, brier_before/after
    source: str | None = None  # the file it was read from (not stored)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown calibration method {self.method!r}; use one of {', '.join(METHODS)}")

    def __call__(self, scores: Any) -> np.ndarray:
        """Calibrated P(fake) for raw scores (array in, array out)."""
        return apply(self.method, self.params, scores)

    def score(self, raw: float) -> float:
        """Calibrated P(fake) of one raw score."""
        return float(self(raw)[0])


def today() -> str:
    return _dt.date.today().isoformat()


def _rates(scores: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float | None]:
    """Share of reals (fpr) and fakes (tpr) at or above the threshold; None for an absent class."""
    flagged = scores >= threshold
    neg, pos = flagged[y == 0], flagged[y == 1]
    return {"fpr": float(neg.mean()) if neg.size else None, "tpr": float(pos.mean()) if pos.size else None}


def _quality(y: np.ndarray, raw: np.ndarray, cal: np.ndarray) -> dict[str, float]:
    from ..metrics import brier, ece

    raw = np.clip(raw, 0.0, 1.0)
    return {"ece_before": ece(y, raw), "ece_after": ece(y, cal),
            "brier_before": brier(y, raw), "brier_after": brier(y, cal)}


def fit_calibration(detector: str, version: str, method: str, dev: tuple[Any, Any],
                    held_out: tuple[Any, Any] | None = None, target_fpr: float = 0.05,
                    fitted_on: Mapping[str, Any] | None = None, eval_split: str = "held-out") -> Calibration:
    """Fit `method` on dev (scores, labels), pick the threshold at `target_fpr` on the same dev scores (after
    calibration), and measure ECE / Brier before and after, and the threshold's FPR / TPR, on `held_out`."""
    s_dev, y_dev = np.asarray(dev[0], dtype=np.float64), np.asarray(dev[1], dtype=np.int64)
    params = fit(method, s_dev, y_dev)
    cal = Calibration(detector, str(version), method, params)
    c_dev = cal(s_dev)
    thr, raw_thr = threshold_at_fpr(c_dev, y_dev, target_fpr), threshold_at_fpr(s_dev, y_dev, target_fpr)
    cal.threshold = {"target_fpr": target_fpr, "score": thr, "raw_score": raw_thr,
                     **{f"dev_{k}": v for k, v in _rates(c_dev, y_dev, thr).items()}}
    cal.fitted_on = {"n": int(y_dev.size), "n_fake": int(y_dev.sum()), "date": today(), **(fitted_on or {})}
    if held_out is not None:
        s_ev, y_ev = np.asarray(held_out[0], dtype=np.float64), np.asarray(held_out[1], dtype=np.int64)
        c_ev = cal(s_ev)
        cal.evaluation = {"split": eval_split, "n": int(y_ev.size), "n_fake": int(y_ev.sum()),
                          **_quality(y_ev, s_ev, c_ev), **_rates(c_ev, y_ev, thr)}
    return cal


def packaged(detector: str) -> Calibration | None:
    """The calibration shipped as package data for `detector`, if any."""
    ref = resources.files("unmask.calibration").joinpath("data", f"{detector}.json")
    if not ref.is_file():
        return None
    obj = json.loads(ref.read_text(encoding="utf-8"))
    return Calibration.from_dict(obj, source=f"package data {detector}.json")


def resolve(detectors: Iterable[tuple[str, str]], given: Mapping[str, Any] | None = None,
            use_packaged: bool = True) -> tuple[dict[str, Calibration], dict[str, str]]:
    """({detector: calibration to apply}, {detector: why its calibration is ignored}) for (name, version)s.

    `given` maps a detector name to a path or a `Calibration` (None turns the packaged one off); a given
    path that cannot be read raises ValueError, a packaged file that cannot be read is only a warning.
    A calibration fitted on another detector (version) is ignored with a warning.
    """
    given = dict(given or {})
    usable: dict[str, Calibration] = {}
    warnings: dict[str, str] = {}
    for name, version in detectors:
        try:
            cal = _one(name, given, use_packaged)
        except (OSError, ValueError) as exc:
            if name in given:
                raise
            warnings[name] = f"packaged calibration for {name} ignored: {exc}"
            continue
        if cal is None:
            continue
        if cal.detector != name or str(cal.detector_version) != str(version):
            warnings[name] = (f"calibration {cal.source or ''} ignored: fitted for {cal.detector} version "
                              f"{cal.detector_version}, this is {name} version {version}; scores left raw")
            continue
        usable[name] = cal
    return usable, warnings


def calibrate_evidence(cal: Calibration, evidence: Any) -> None:
    """Map an Evidence's score through `cal` in place: the raw score moves to details["raw_score"]."""
    if evidence.score is None or evidence.calibrated:
        return
    evidence.details["raw_score"] = evidence.score
    evidence.details["calibration"] = {"method": cal.method, "fitted_on": cal.fitted_on.get("manifest"),
                                       "threshold": cal.threshold.get("score")}
    evidence.score = min(1.0, max(0.0, cal.score(evidence.score)))
    evidence.calibrated = True


def _one(name: str, given: Mapping[str, Any], use_packaged: bool) -> Calibration | None:
    if name in given:
        value = given[name]
        return value if value is None or isinstance(value, Calibration) else Calibration.load(value)
    return packaged(name) if use_packaged else None
