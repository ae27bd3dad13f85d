"""Stacking fusion: one small L2-regularised logistic regression over every detector's score for a modality.

Stacked generalisation (Wolpert 1992, "Stacked generalization") with a logistic combiner: the detectors are
the level-0 models, their cached benchmark scores on development data are the level-1 features, and the
combiner's output is a calibrated P(fake) for the whole media. Per detector d the features are
`logit(clip(score_d))` (scores saturate near 0 and 1, where log-odds keep the differences a linear model can
use; see docs/calibration.md for the held-out comparison with raw scores) and, only when d had no score for
some dev items, a 0/1 "missing" indicator. A missing score is filled with d's dev mean. Features are
standardised on dev before the fit so the L2 penalty treats every detector alike (`l2` = 1 / C of
scikit-learn's LogisticRegression); the stored weights apply to the unstandardised features.

`fit_stacker` reports group-aware K-fold held-out AUC / ECE / Brier, picks an operating threshold at a
target FPR on the out-of-fold dev probabilities, then refits on all dev data. Numpy only.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from .calibration.fit import logit, newton_minimize, platt_targets, sigmoid, threshold_at_fpr
from .calibration.jsonfile import JsonFile

FORMAT = "unmask-stacker/1"
TRANSFORMS = ("logit", "raw")


@dataclass
class Feature:
    """One input of the combiner: a detector's transformed score or its "missing" indicator."""

    detector: str
    kind: str  # "score" or "missing"
    weight: float  # on the unstandardised feature
    mean: float  # dev mean; for a score also the value a missing score is filled with
    std: float  # dev standard deviation (weight x std = standardised weight)


@dataclass
class Stacker(JsonFile):
    """A fitted stacking model for one modality: detectors (name -> version), features, weights, provenance."""

    file_format = FORMAT
    file_keys = ("modality", "detectors", "features", "intercept", "l2", "transform", "fitted_on", "evaluation",
                 "threshold", "trust")
    required = 4
    file_what = load_what = "stacking model"
    load_errors = (OSError, ValueError, TypeError, KeyError)

    modality: str
    detectors: dict[str, str]
    features: list[Feature]
    intercept: float
    l2: float = 1.0
    transform: str = "logit"
    fitted_on: dict[str, Any] = field(default_factory=dict)  # runs, perturbation, n, n_fake, groups, date
    evaluation: dict[str, Any] = field(default_factory=dict)  # folds, n, auc, ece, brier (out-of-fold)
    threshold: dict[str, Any] = field(default_factory=dict)  # target_fpr, probability, dev_fpr, dev_tpr
    trust: list[dict[str, Any]] = field(default_factory=list)  # per detector: weights, share, auc alone
    source: str | None = None  # the file it was read from (not stored)

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"unknown feature transform {self.transform!r}; use one of {', '.join(TRANSFORMS)}")
        self.features = [f if isinstance(f, Feature) else Feature(**f) for f in self.features]
        unknown = {f.detector for f in self.features} - set(self.detectors)
        if unknown:
            raise ValueError(f"features name detectors not in the model: {', '.join(sorted(unknown))}")

    # ------------------------------------------------------------------------------------------ predict

    def design(self, scores: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """Feature matrix (n, n_features) of raw scores `scores` (n, len(names)), NaN = no score."""
        s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
        col = {name: i for i, name in enumerate(names)}
        out = np.empty((s.shape[0], len(self.features)))
        for j, f in enumerate(self.features):
            raw = s[:, col[f.detector]] if f.detector in col else np.full(s.shape[0], np.nan)
            missing = ~np.isfinite(raw)
            if f.kind == "missing":
                out[:, j] = missing
            else:
                out[:, j] = np.where(missing, f.mean, _transform(np.where(missing, 0.5, raw), self.transform))
        return out

    def predict(self, scores: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """P(fake) for each row of raw scores (columns named by `names`, NaN = no score)."""
        x = self.design(scores, names)
        return sigmoid(self.intercept + x @ np.array([f.weight for f in self.features]))

    def _row(self, by_detector: Mapping[str, float | None]) -> tuple[np.ndarray, list[str]]:
        names = list(self.detectors)
        values = [by_detector.get(n) for n in names]
        return np.array([[np.nan if v is None else float(v) for v in values]]), names

    def probability(self, by_detector: Mapping[str, float | None]) -> float:
        """P(fake) of one media from its raw scores by detector name (absent or None = no score)."""
        return float(self.predict(*self._row(by_detector))[0])

    def contributions(self, by_detector: Mapping[str, float | None]) -> dict[str, float]:
        """Per detector, how far it moved the log-odds from the dev-average media: sum of weight x (feature -
        its dev mean) over its features. A missing score contributes only through its indicator."""
        x = self.design(*self._row(by_detector))[0]
        out = dict.fromkeys(self.detectors, 0.0)
        for f, value in zip(self.features, x, strict=True):
            out[f.detector] += f.weight * (value - f.mean)
        return out

    def problem(self, running: Mapping[str, str]) -> str | None:
        """Why this model cannot be used with the detectors that run (name -> version), or None if it can."""
        where = self.source or "fusion model"
        absent = [n for n in self.detectors if n not in running]
        if absent:
            return (f"{where} ignored: it combines {', '.join(absent)}, which this analysis does not run; "
                    "fallback fusion used")
        stale = [f"{n} version {v} (running {running[n]})" for n, v in self.detectors.items()
                 if str(running[n]) != str(v)]
        if stale:
            return f"{where} ignored: fitted on {', '.join(stale)}; fallback fusion used"
        return None


def _transform(s: np.ndarray, transform: str) -> np.ndarray:
    return logit(s) if transform == "logit" else np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------- fitting


def fit_logistic(z: np.ndarray, t: np.ndarray, l2: float, max_iter: int = 100,
                 tol: float = 1e-10) -> tuple[np.ndarray, float]:
    """(weights, intercept) minimising sum of cross-entropy against targets `t` + l2 / 2 * |w|^2 (intercept
    not penalised), by damped Newton (`calibration.fit.newton_minimize`, as Platt scaling), in k dimensions."""
    n, k = z.shape
    a = np.hstack([z, np.ones((n, 1))])
    pen = np.append(np.full(k, float(l2)), 0.0)
    theta = np.zeros(k + 1)
    theta[-1] = float(logit(np.array([t.mean()]))[0])

    def objective(th: np.ndarray) -> float:
        m = a @ th
        return float(np.sum(np.logaddexp(0.0, m) - t * m) + 0.5 * np.sum(pen * th * th))

    def direction(th: np.ndarray) -> np.ndarray:
        p = sigmoid(a @ th)
        grad = a.T @ (p - t) + pen * th
        hess = (a * (p * (1.0 - p))[:, None]).T @ a + np.diag(pen) + 1e-9 * np.eye(k + 1)
        return np.linalg.solve(hess, grad)

    theta = newton_minimize(objective, direction, theta, max_iter, tol)
    return theta[:-1], float(theta[-1])


def _columns(scores: np.ndarray, names: Sequence[str], transform: str) -> tuple[list[Feature], np.ndarray,
                                                                                 dict[str, str]]:
    """Features of the dev scores (weights still 0), their matrix, and the detectors left out with why."""
    feats: list[Feature] = []
    cols: list[np.ndarray] = []
    dropped: dict[str, str] = {}
    for i, name in enumerate(names):
        raw = scores[:, i]
        present = np.isfinite(raw)
        if not present.any():
            dropped[name] = "no score on any dev item"
            continue
        x = _transform(np.where(present, raw, 0.5), transform)
        fill = float(x[present].mean())
        candidates = [("score", np.where(present, x, fill))]
        if not present.all():
            candidates.append(("missing", (~present).astype(np.float64)))
        kept = [(kind, c) for kind, c in candidates if c.std() > 1e-12]
        if not kept:
            dropped[name] = "the same score on every dev item"
        for kind, c in kept:
            feats.append(Feature(name, kind, 0.0, float(c.mean()), float(c.std())))
            cols.append(c)
    return feats, (np.column_stack(cols) if cols else np.empty((scores.shape[0], 0))), dropped


def _fit_model(scores: np.ndarray, y: np.ndarray, detectors: Mapping[str, str], modality: str, l2: float,
               transform: str) -> tuple[Stacker, dict[str, str]]:
    """The combiner fitted on (scores, y), and the detectors left out (no usable feature)."""
    names = list(detectors)
    feats, x, dropped = _columns(scores, names, transform)
    if not feats:
        raise ValueError("no detector has a usable score on the dev items: " +
                         "; ".join(f"{n}: {why}" for n, why in dropped.items()))
    mean, std = np.array([f.mean for f in feats]), np.array([f.std for f in feats])
    w, b = fit_logistic((x - mean) / std, platt_targets(y.astype(np.float64)), l2)
    for f, wj in zip(feats, w / std, strict=True):
        f.weight = float(wj)
    used = {f.detector: detectors[f.detector] for f in feats}
    return Stacker(modality, used, feats, float(b - np.sum(w * mean / std)), float(l2), transform), dropped


def group_folds(groups: Sequence[str], y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Fold index per item: whole groups per fold (largest first, seeded order among equals), each put in
    the fold whose fake and real shares stay lowest, so folds are balanced in both classes."""
    names, inverse = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    if names.size < 2:
        raise ValueError("cross-validation needs at least 2 groups (source ids); the dev items form one")
    k = max(2, min(int(k), names.size))
    fakes, sizes = np.bincount(inverse, weights=y, minlength=names.size), np.bincount(inverse)
    reals = sizes - fakes
    order = np.random.default_rng(seed).permutation(names.size)
    order = order[np.argsort(-sizes[order], kind="stable")]
    n_fake, n_real = max(1.0, fakes.sum()), max(1.0, reals.sum())
    load_fake, load_real, fold_of = np.zeros(k), np.zeros(k), np.empty(names.size, dtype=np.int64)
    for g in order:
        share = np.maximum((load_fake + fakes[g]) / n_fake, (load_real + reals[g]) / n_real)
        f = int(np.lexsort((load_fake + load_real, share))[0])  # ties: the emptiest fold
        fold_of[g] = f
        load_fake[f] += fakes[g]
        load_real[f] += reals[g]
    return np.unique(fold_of[inverse], return_inverse=True)[1]  # numbered 0.. without gaps


def out_of_fold(scores: np.ndarray, y: np.ndarray, folds: np.ndarray, detectors: Mapping[str, str],
                modality: str, l2: float, transform: str) -> np.ndarray:
    """P(fake) of each dev item from a combiner fitted on the other folds (fills and scaling included)."""
    probs = np.empty(y.size)
    names = list(detectors)
    for f in np.unique(folds):
        test = folds == f
        if np.unique(y[~test]).size < 2:
            raise ValueError(f"fold {int(f) + 1}'s training part has one class only; use fewer --folds")
        model, _ = _fit_model(scores[~test], y[~test], detectors, modality, l2, transform)
        probs[test] = model.predict(scores[test], names)
    return probs


def _quality(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from .metrics import brier, ece, roc_auc

    return {"auc": float(roc_auc(y, p)), "ece": float(ece(y, p)), "brier": float(brier(y, p))}


def fallback_probability(scores: np.ndarray) -> np.ndarray:
    """The fallback rule's probability per row (highest raw score; 0.5 without any), for comparison."""
    s = np.asarray(scores, dtype=np.float64)
    has = np.isfinite(s).any(axis=1)
    out = np.full(s.shape[0], 0.5)
    out[has] = np.nanmax(s[has], axis=1)
    return np.clip(out, 0.0, 1.0)


def trust_table(model: Stacker, scores: np.ndarray, y: np.ndarray, names: Sequence[str]) -> list[dict[str, Any]]:
    """Per detector of the model, most trusted first: its score weight, standardised weight (weight x dev std
    of its feature), share of the summed |standardised weights|, the weight of its "missing" indicator, the
    share of dev items without a score, and the AUC of its score alone on dev (missing = filled)."""
    from .metrics import roc_auc

    col = {n: i for i, n in enumerate(names)}
    total = sum(abs(f.weight * f.std) for f in model.features) or 1.0
    rows = []
    for name, version in model.detectors.items():
        feats = {f.kind: f for f in model.features if f.detector == name}
        score, miss = feats.get("score"), feats.get("missing")
        raw = scores[:, col[name]]
        filled = np.where(np.isfinite(raw), raw, np.nanmean(raw))
        std_w = sum(abs(f.weight * f.std) for f in feats.values())
        rows.append({"detector": name, "version": version,
                     "weight": score.weight if score else None,
                     "std_weight": score.weight * score.std if score else None,
                     "missing_weight": miss.weight if miss else None,
                     "share": std_w / total, "missing_share": float(np.mean(~np.isfinite(raw))),
                     "auc_alone": float(roc_auc(y, filled))})
    return sorted(rows, key=lambda r: -r["share"])


def fit_stacker(scores: Any, y: Any, groups: Sequence[str], detectors: Mapping[str, str], modality: str = "image",
                folds: int = 5, l2: float = 1.0, target_fpr: float = 0.05, transform: str = "logit",
                seed: int = 0, fitted_on: Mapping[str, Any] | None = None) -> Stacker:
    """Fit the combiner on dev scores (n, len(detectors)) (NaN = no score) and labels (1 = fake).

    Held-out AUC / ECE / Brier come from group K-fold cross-validation (no group in two folds); the threshold
    is the lowest out-of-fold probability whose dev FPR is <= `target_fpr`; the returned model is fitted on
    all items. Detectors without a usable score are left out (named in `fitted_on["left_out"]`).
    """
    s = np.asarray(scores, dtype=np.float64)
    yy = np.asarray(y, dtype=np.int64).ravel()
    if s.ndim != 2 or s.shape != (yy.size, len(detectors)) or yy.size == 0:
        raise ValueError(f"scores must be (n items, {len(detectors)} detectors), got {s.shape} for {yy.size} labels")
    if np.unique(yy).size < 2:
        raise ValueError("stacking needs both real and fake dev items; only one class is present")
    if l2 <= 0:
        raise ValueError(f"l2 must be > 0, got {l2}")
    fold = group_folds(groups, yy, folds, seed)
    oof = out_of_fold(s, yy, fold, detectors, modality, l2, transform)
    model, dropped = _fit_model(s, yy, detectors, modality, l2, transform)
    thr = threshold_at_fpr(oof, yy, target_fpr)
    flagged = oof >= thr
    model.threshold = {"target_fpr": target_fpr, "probability": thr, "on": "out-of-fold dev probabilities",
                       "dev_fpr": float(flagged[yy == 0].mean()), "dev_tpr": float(flagged[yy == 1].mean())}
    k = int(fold.max()) + 1
    model.evaluation = {"how": f"group {k}-fold cross-validation (seed {seed})", "folds": k,
                        "n": int(yy.size), "n_fake": int(yy.sum()), **_quality(yy, oof), "fallback": _quality(yy, fallback_probability(s))}
    model.fitted_on = {"n": int(yy.size), "n_fake": int(yy.sum()), "n_groups": len(set(map(str, groups))),
                       "date": _dt.date.today().isoformat(), **(fitted_on or {}), "left_out": dropped}
    model.trust = trust_table(model, s, yy, list(detectors))
    return model


# ---------------------------------------------------------------------------------------------- lookup


def packaged(modality: str) -> Stacker | None:
    """The stacking model shipped as package data `unmask/stacking_data/<modality>.json`, if any."""
    ref = resources.files("unmask").joinpath("stacking_data", f"{modality}.json")
    if not ref.is_file():
        return None
    return Stacker.from_dict(json.loads(ref.read_text(encoding="utf-8")), source=f"package data {modality}.json")


def resolve(detectors: Sequence[tuple[str, str, Sequence[str]]], given: Any = None,
            use_packaged: bool = True) -> tuple[dict[str, Stacker], dict[str, str]]:
    """({modality: usable model}, {modality: why its model is ignored}) for running (name, version,
    modalities) detectors.

    `given`: None = the packaged model of each modality; False or "none" = no model (fallback fusion); a
    path or `Stacker` = that model for its modality (the others keep their packaged one). A given file that
    cannot be read raises ValueError; a broken packaged one is only a note.
    """
    if given is False or (isinstance(given, str) and given.strip().lower() == "none"):
        return {}, {}
    chosen: dict[str, Stacker] = {}
    notes: dict[str, str] = {}
    if given is not None:
        model = given if isinstance(given, Stacker) else Stacker.load(given)
        chosen[model.modality] = model
    for modality in dict.fromkeys(m for _, _, mods in detectors for m in mods):
        if modality in chosen or not use_packaged:
            continue
        try:
            model = packaged(modality)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            notes[modality] = f"packaged fusion model for {modality} ignored: {exc}"
            continue
        if model is not None:
            chosen[modality] = model
    running = {name: version for name, version, _ in detectors}
    usable = {}
    for modality, model in chosen.items():
        if given is None and any(n not in running for n in model.detectors):
            continue  # a profile or --detectors list that runs a subset: the fallback rule, no note needed
        why = model.problem(running)
        if why:
            notes[modality] = why
        else:
            usable[modality] = model
    return usable, notes
