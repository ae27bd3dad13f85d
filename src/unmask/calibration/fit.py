"""Fit score calibrators with scikit-learn / scipy; apply them with numpy only.

Each `fit_*` takes raw detector scores in [0, 1] (higher = more likely fake) and 0/1 labels (1 = fake) and
returns a parameter dict; `apply(method, params, scores)` maps raw scores to P(fake). Parameters are plain
floats and lists so they store as JSON (see `store.py`). Fitting imports scikit-learn (the `bench` extra,
which brings scipy) inside the `fit_*` functions; `apply` and everything an analysis runs needs numpy only.

- Platt (Platt 1999, "Probabilistic outputs for support vector machines"): P = sigmoid(a * s + b) on the raw
  score, fitted by `sklearn.linear_model.LogisticRegression` against Platt's smoothed targets
  (N+ + 1) / (N+ + 2) and 1 / (N- + 2) (each item twice: label 1 with weight t, label 0 with weight 1 - t),
  which keep a separable dev set from driving a to infinity, so no penalty is needed; the L2 penalty is very
  weak (C = 1e6), and moves a by less than 1e-5 relative on the test data.
- Temperature (Guo et al. 2017, "On calibration of modern neural networks"): P = sigmoid(logit(s) / T), one
  parameter; the NLL is convex in u = 1 / T, minimised by `scipy.optimize.minimize_scalar` (bounded). It
  rescales confidence, never the ranking. scikit-learn has no temperature scaling.
- Isotonic (Zadrozny & Elkan 2002; pool-adjacent-violators, Ayer et al. 1955):
  `sklearn.isotonic.IsotonicRegression(out_of_bounds="clip")`; its knots (X_thresholds_, y_thresholds_) are
  stored and `apply` interpolates linearly between them with numpy, clamped outside the fitted range, as
  the sklearn model's own `predict` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import MissingDependency

METHODS = ("platt", "temperature", "isotonic")
LOGIT_EPS = 1e-6  # scores are clipped to [eps, 1 - eps] before logit(), so 0 and 1 stay finite
PLATT_C = 1e6  # inverse L2 strength of the Platt fit: very weak, the smoothed targets already bound it
INV_TEMPERATURE_BOUNDS = (1e-4, 1e3)  # u = 1 / T is searched here: T from 1e-3 (a step) to 1e4 (flat 0.5)

Params = dict[str, Any]


def require_fit_dependencies() -> None:
    """Raise MissingDependency (naming `pip install "unmask[bench]"`) unless scikit-learn and scipy import."""
    try:
        import scipy.optimize  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise MissingDependency("scikit-learn", "bench", "fitting a calibration") from exc


def _inputs(scores: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated (scores as float64, y as float64 0/1) with both classes present."""
    s, t = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if s.shape != t.shape or s.size == 0:
        raise ValueError(f"scores and labels must be non-empty and of equal length, got {s.size} and {t.size}")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or infinite values")
    if not np.isin(t, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    if t.min() == t.max():
        raise ValueError("calibration needs both real and fake examples; only one class is present")
    return s, t


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function without overflow for large |z|."""
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def logit(s: np.ndarray) -> np.ndarray:
    """log(s / (1 - s)) of scores clipped to [LOGIT_EPS, 1 - LOGIT_EPS]."""
    p = np.clip(np.asarray(s, dtype=np.float64), LOGIT_EPS, 1.0 - LOGIT_EPS)
    return np.log(p) - np.log1p(-p)


def _nll(z: np.ndarray, t: np.ndarray) -> float:
    """Cross-entropy of sigmoid(z) against (soft) targets t: sum softplus(z) - t * z, overflow-free."""
    return float(np.sum(np.logaddexp(0.0, z) - t * z))


def platt_targets(y: np.ndarray) -> np.ndarray:
    """Platt's smoothed targets: (N+ + 1) / (N+ + 2) for fakes, 1 / (N- + 2) for reals."""
    n_pos = float(y.sum())
    n_neg = float(y.size - n_pos)
    return np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))


def fit_platt(scores: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray,
              max_iter: int = 1000, tol: float = 1e-10) -> Params:
    """Platt scaling P = sigmoid(a * s + b) (Platt 1999) by scikit-learn's LogisticRegression on Platt's
    smoothed targets, as sample weights, with a very weak L2 penalty (C = PLATT_C); {"a", "b"}."""
    require_fit_dependencies()
    from sklearn.linear_model import LogisticRegression

    s, yy = _inputs(scores, y)
    t = platt_targets(yy)
    x = np.concatenate([s, s])[:, None]
    labels = np.concatenate([np.ones(s.size), np.zeros(s.size)])
    weights = np.concatenate([t, 1.0 - t])
    model = LogisticRegression(C=PLATT_C, tol=tol, max_iter=max_iter).fit(x, labels, sample_weight=weights)
    return {"a": float(model.coef_[0, 0]), "b": float(model.intercept_[0])}


def fit_temperature(scores: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray,
                    xatol: float = 1e-12) -> Params:
    """Temperature T of P = sigmoid(logit(s) / T) (Guo et al. 2017): the NLL, convex in u = 1 / T, minimised
    by scipy's bounded `minimize_scalar` over INV_TEMPERATURE_BOUNDS; {"temperature"}.

    Raises ValueError when the best u is not positive (the NLL does not fall as u grows from 0): the scores
    rank reals above fakes, which no temperature can fix.
    """
    require_fit_dependencies()
    from scipy.optimize import minimize_scalar

    s, t = _inputs(scores, y)
    x = logit(s)
    if float(np.sum((0.5 - t) * x)) >= 0.0:  # d NLL / du at u = 0; convex, so then the best u is <= 0
        raise ValueError("temperature scaling failed: the scores are not positively related to the labels")
    res = minimize_scalar(lambda u: _nll(u * x, t), bounds=INV_TEMPERATURE_BOUNDS, method="bounded",
                          options={"xatol": xatol, "maxiter": 500})
    return {"temperature": float(1.0 / res.x)}


def fit_isotonic(scores: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray) -> Params:
    """Isotonic calibration (Zadrozny & Elkan 2002) by scikit-learn's IsotonicRegression (tied scores
    pooled first); {"x", "y"}: its knots, the ends of each constant block, for `apply` to interpolate."""
    require_fit_dependencies()
    from sklearn.isotonic import IsotonicRegression

    s, t = _inputs(scores, y)
    model = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(s, t)
    return {"x": np.asarray(model.X_thresholds_, dtype=np.float64).tolist(),
            "y": np.asarray(model.y_thresholds_, dtype=np.float64).tolist()}


FITTERS: dict[str, Callable[..., Params]] = {
    "platt": fit_platt,
    "temperature": fit_temperature,
    "isotonic": fit_isotonic,
}


def fit(method: str, scores: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray) -> Params:
    """Parameters of calibrator `method` (one of METHODS) fitted to (scores, y)."""
    if method not in FITTERS:
        raise ValueError(f"unknown calibration method {method!r}; use one of {', '.join(METHODS)}")
    return FITTERS[method](scores, y)


def apply(method: str, params: Params, scores: Sequence[float] | np.ndarray | float) -> np.ndarray:
    """Map raw scores to calibrated P(fake) in [0, 1] with a fitted calibrator."""
    s = np.atleast_1d(np.asarray(scores, dtype=np.float64))
    if method == "platt":
        p = sigmoid(params["a"] * s + params["b"])
    elif method == "temperature":
        p = sigmoid(logit(s) / params["temperature"])
    elif method == "isotonic":
        p = np.interp(s, np.asarray(params["x"], dtype=np.float64), np.asarray(params["y"], dtype=np.float64))
    else:
        raise ValueError(f"unknown calibration method {method!r}; use one of {', '.join(METHODS)}")
    return np.clip(p, 0.0, 1.0)


def threshold_at_fpr(scores: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray,
                     target_fpr: float) -> float:
    """Lowest observed score t whose FPR (reals with s >= t) is <= target_fpr: the most sensitive operating
    point that keeps false alarms within the target on this data. Above every real score if none qualifies."""
    if not 0.0 <= target_fpr <= 1.0:
        raise ValueError(f"target FPR must be in [0, 1], got {target_fpr}")
    s, t = _inputs(scores, y)
    neg = np.sort(s[t == 0])
    candidates = np.unique(s)
    fpr = (neg.size - np.searchsorted(neg, candidates, side="left")) / neg.size  # share of reals >= t
    ok = candidates[fpr <= target_fpr + 1e-12]
    return float(ok.min()) if ok.size else float(np.nextafter(neg.max(), np.inf))
