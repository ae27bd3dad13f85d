"""Fit a verdict model on development scores with scikit-learn, and choose its operating point.

`fit_verdict` standardises the features (`unmask.verdict.model`), fits `LogisticRegression` (L2, `l2` = 1 / C,
intercept not penalised), and drops any detector whose score weight comes out negative, refitting until none
does (a higher score must never lower P(fake); such a weight only fits noise shared by this pool). The
operating point is chosen on out-of-fold probabilities (`StratifiedGroupKFold`, groups = source photo, so a
photo and its edits never sit on both sides): `manipulated` at the lowest probability whose share of authentic
development files at or above it is <= `target_fpr`, `authentic` at the highest probability at or below which
at most `authentic_share` of the authentic files lie (never above `manipulated`; none when the out-of-fold AUC is
not above chance with 95% confidence). The stored model is then fitted on every item.

Needs scikit-learn (`pip install "unmask[bench]"`); applying a model does not.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..calibration.fit import threshold_at_fpr
from .model import Feature, VerdictModel, feature

TARGET_FPR = 0.02  # share of authentic development files called manipulated, fixed before any fit
AUTHENTIC_SHARE = 0.65  # share of authentic development files called authentic, fixed before any fit


def _sklearn() -> Any:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise ImportError('fitting a verdict model needs scikit-learn: pip install "unmask[bench]"') from exc
    from sklearn import linear_model, model_selection

    return linear_model, model_selection


def _columns(scores: np.ndarray, names: Sequence[str]) -> tuple[list[Feature], np.ndarray, dict[str, str]]:
    """Features of the development scores (weights still 0), their matrix, and the detectors left out."""
    feats: list[Feature] = []
    cols: list[np.ndarray] = []
    dropped: dict[str, str] = {}
    for i, name in enumerate(names):
        raw = scores[:, i]
        present = np.isfinite(raw)
        if not present.any():
            dropped[name] = "no score on any development item"
            continue
        x = feature(np.where(present, raw, 0.5))
        col = np.where(present, x, x[present].mean())
        if col.std() <= 1e-12:
            dropped[name] = "the same score on every development item"
            continue
        feats.append(Feature(name, 0.0, float(col.mean()), float(col.std())))
        cols.append(col)
    return feats, (np.column_stack(cols) if cols else np.empty((scores.shape[0], 0))), dropped


def _logistic(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    linear_model, _ = _sklearn()
    clf = linear_model.LogisticRegression(C=1.0 / l2, max_iter=1000)
    clf.fit(x, y)
    return clf.coef_[0], float(clf.intercept_[0])


def _fit_once(scores: np.ndarray, y: np.ndarray, detectors: Mapping[str, str], l2: float
              ) -> tuple[list[Feature], float, dict[str, str]]:
    """Features with weights (on the unstandardised scale), intercept, and left-out detectors."""
    names = list(detectors)
    feats, x, dropped = _columns(scores, names)
    while True:
        if not feats:
            raise ValueError("no detector has a usable score on the development items: " +
                             "; ".join(f"{n}: {why}" for n, why in dropped.items()))
        mean, std = np.array([f.mean for f in feats]), np.array([f.std for f in feats])
        w, b = _logistic((x - mean) / std, y, l2)
        negative = {f.detector for f, wj in zip(feats, w, strict=True) if wj < 0}
        if not negative:
            break
        for name in negative:
            dropped[name] = "its weight came out negative (a higher score would lower P(fake))"
        keep = [j for j, f in enumerate(feats) if f.detector not in negative]
        feats, x = [feats[j] for j in keep], x[:, keep]
    for f, wj in zip(feats, w / std, strict=True):
        f.weight = float(wj)
    return feats, float(b - np.sum(w * mean / std)), dropped


def _model(scores: np.ndarray, y: np.ndarray, detectors: Mapping[str, str], name: str, modality: str,
           l2: float) -> VerdictModel:
    feats, intercept, dropped = _fit_once(scores, y, detectors, l2)
    used = {f.detector: detectors[f.detector] for f in feats}
    return VerdictModel(name, modality, used, feats, intercept, {"manipulated": 1.0, "authentic": 0.0}, float(l2),
                        fitted_on={"left_out": dropped})


def folds_of(groups: Sequence[str], y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Fold index per item: whole groups per fold, classes balanced (StratifiedGroupKFold, shuffled by seed)."""
    _, model_selection = _sklearn()
    g = np.asarray([str(x) for x in groups])
    n_groups = np.unique(g).size
    if n_groups < 2:
        raise ValueError("cross-validation needs at least 2 groups (source ids); the items form one")
    most = int(np.bincount(np.asarray(y, dtype=np.int64)).max())  # sklearn needs a class with k members
    splitter = model_selection.StratifiedGroupKFold(n_splits=max(2, min(int(k), n_groups, most)), shuffle=True,
                                                    random_state=seed)
    fold = np.empty(y.size, dtype=np.int64)
    for i, (_, test) in enumerate(splitter.split(np.zeros(y.size), y, g)):
        fold[test] = i
    return fold


def out_of_fold(scores: np.ndarray, y: np.ndarray, fold: np.ndarray, detectors: Mapping[str, str],
                l2: float) -> np.ndarray:
    """P(fake) of each item from a model fitted on the other folds (features, scaling, drops included)."""
    probs = np.empty(y.size)
    for f in np.unique(fold):
        test = fold == f
        if np.unique(y[~test]).size < 2:
            raise ValueError(f"fold {int(f) + 1}'s training part has one class only; use fewer folds")
        probs[test] = _model(scores[~test], y[~test], detectors, "cv", "cv", l2).predict(scores[test],
                                                                                        list(detectors))
    return probs


def _at_most_share(p: np.ndarray, share: float) -> float:
    """The highest probability at or below which at most `share` of `p` lie (0 when even the lowest value
    holds more): with many tied probabilities a plain quantile would call the whole tie authentic."""
    values = np.unique(p)
    below = np.searchsorted(np.sort(p), values, side="right") / p.size
    ok = values[below <= share + 1e-12]
    return float(ok.max()) if ok.size else 0.0


def auc_lower_bound(y: np.ndarray, p: np.ndarray) -> float:
    """The lower end of the AUC's 95% interval (Hanley & McNeil 1982 standard error)."""
    from ..metrics import roc_auc

    a = float(roc_auc(y, p))
    n1, n0 = int(y.sum()), int(y.size - y.sum())
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / max(1, n1 * n0))
    return a - 1.96 * float(se)


def operating_point(p: np.ndarray, y: np.ndarray, target_fpr: float, authentic_share: float) -> dict[str, Any]:
    """The two thresholds from (out-of-fold) probabilities, with the rates they give on those items. A model
    not better than chance (AUC's 95% interval reaching 0.5) gets no authentic band: finding nothing with
    detectors that find nothing on the fakes either is no sign of authenticity."""
    hi = threshold_at_fpr(p, y, target_fpr)
    better = auc_lower_bound(y, p) > 0.5
    lo = min(_at_most_share(p[y == 0], authentic_share), hi) if better else 0.0
    authentic = (f"{authentic_share:.0%} at or under the second" if better else
                 "no authentic band: the model is not better than chance with 95% confidence")
    real, fake = p[y == 0], p[y == 1]
    return {"manipulated": float(min(hi, 1.0)), "authentic": lo, "target_fpr": target_fpr,
            "authentic_share": authentic_share,
            "chosen": (f"out of fold, at most {target_fpr:.0%} of authentic development files reach the first, "
                       f"{authentic}"),
            "dev": {"authentic_called_manipulated": float(np.mean(real >= hi)),
                    "authentic_called_authentic": float(np.mean(real <= lo)),
                    "fake_called_manipulated": float(np.mean(fake >= hi)),
                    "fake_called_authentic": float(np.mean(fake <= lo))}}


def _quality(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from ..metrics import average_precision, brier, ece, roc_auc

    return {"auc": float(roc_auc(y, p)), "ap": float(average_precision(y, p)), "ece": float(ece(y, p)),
            "brier": float(brier(y, p))}


def trust_table(model: VerdictModel, scores: np.ndarray, y: np.ndarray, names: Sequence[str]
                ) -> list[dict[str, Any]]:
    """Per detector of the model, most trusted first: weight, standardised weight (weight x std), share of the
    summed |standardised weights|, share of items without a score, and its AUC alone (missing = its mean)."""
    from ..metrics import roc_auc

    col = {n: i for i, n in enumerate(names)}
    total = sum(abs(f.weight * f.std) for f in model.features) or 1.0
    rows = []
    for f in model.features:
        raw = scores[:, col[f.detector]]
        filled = np.where(np.isfinite(raw), raw, np.nanmean(raw))
        rows.append({"detector": f.detector, "version": model.detectors[f.detector], "weight": f.weight,
                     "std_weight": f.weight * f.std, "share": abs(f.weight * f.std) / total,
                     "missing_share": float(np.mean(~np.isfinite(raw))), "auc_alone": float(roc_auc(y, filled))})
    return sorted(rows, key=lambda r: -r["share"])


def fit_verdict(scores: Any, y: Any, groups: Sequence[str], detectors: Mapping[str, str], name: str,
                modality: str = "image", folds: int = 5, l2: float = 1.0, target_fpr: float = TARGET_FPR,
                authentic_share: float = AUTHENTIC_SHARE, seed: int = 0,
                fitted_on: Mapping[str, Any] | None = None) -> VerdictModel:
    """Fit a verdict model on development scores (n, len(detectors)) (NaN = no score) and labels (1 = fake),
    with its operating point from group K-fold out-of-fold probabilities (see the module docstring)."""
    s = np.asarray(scores, dtype=np.float64)
    yy = np.asarray(y, dtype=np.int64).ravel()
    if s.ndim != 2 or s.shape != (yy.size, len(detectors)) or yy.size == 0:
        raise ValueError(f"scores must be (n items, {len(detectors)} detectors), got {s.shape} for {yy.size} labels")
    if np.unique(yy).size < 2:
        raise ValueError("a verdict model needs both authentic and fake development items; one class is present")
    if l2 <= 0:
        raise ValueError(f"l2 must be > 0, got {l2}")
    fold = folds_of(groups, yy, folds, seed)
    oof = out_of_fold(s, yy, fold, detectors, l2)
    model = _model(s, yy, detectors, name, modality, l2)
    model.thresholds = operating_point(oof, yy, target_fpr, authentic_share)
    k = int(fold.max()) + 1
    model.evaluation = {"how": f"group {k}-fold cross-validation (seed {seed}), out-of-fold probabilities",
                        "folds": k, "n": int(yy.size), "n_fake": int(yy.sum()), **_quality(yy, oof)}
    model.fitted_on = {"n": int(yy.size), "n_fake": int(yy.sum()), "n_groups": len(set(map(str, groups))),
                       "date": _dt.date.today().isoformat(), **(fitted_on or {}), **model.fitted_on}
    model.trust = trust_table(model, s, yy, list(detectors))
    return model
