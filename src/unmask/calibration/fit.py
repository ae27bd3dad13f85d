"""Fit and apply score calibrators (numpy only): Platt scaling, temperature scaling, isotonic regression.

Each `fit_*` takes raw detector scores in [0, 1] (higher = more likely fake) and 0/1 labels (1 = fake) and
returns a parameter dict; `apply(method, params, scores)` maps raw scores to P(fake). Parameters are plain
floats and lists so they store as JSON (see `store.py`).

- Platt (Platt 1999, "Probabilistic outputs for support vector machines"): P = sigmoid(a * s + b) on the raw
  score, fitted by Newton's method with backtracking (Lin, Lin & Weng 2007, "A note on Platt's probabilistic
  outputs") against Platt's smoothed targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2), which keep a separable dev
  set from driving a to infinity.
- Temperature (Guo et al. 2017, "On calibration of modern neural networks"): P = sigmoid(logit(s) / T), one
  parameter fitted by Newton on 1 / T (the NLL is convex in it); it rescales confidence, never the ranking.
- Isotonic (Zadrozny & Elkan 2002; pool-adjacent-violators, Ayer et al. 1955): the non-decreasing step fit
  of the labels on the sorted scores, applied by linear interpolation between block ends and clamped
  outside the fitted range, as scikit-learn's `IsotonicRegression(out_of_bounds="clip")` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

METHODS = ("platt", "temperature", "isotonic")
LOGIT_EPS = 1e-6  # scores are clipped to [eps, 1 - eps] before logit(), so 0 and 1 stay finite

Params = dict[str, Any]


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


def _newton_step(x: np.ndarray, t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Newton direction for the logistic NLL in (a, b), with a tiny ridge so a flat Hessian stays invertible."""
    p = sigmoid(theta[0] * x + theta[1])
    w = p * (1.0 - p)
    grad = np.array([np.sum((p - t) * x), np.sum(p - t)])
    hess = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]]) + 1e-12 * np.eye(2)
    return np.linalg.solve(hess, grad)


def newton_minimize(objective: Callable[[np.ndarray], float], direction: Callable[[np.ndarray], np.ndarray],
                    theta: np.ndarray, max_iter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Damped Newton: step against `direction(theta)`, halving the step until `objective` does not rise;
    stop when no step helps or the relative change falls to `tol`. Shared by Platt scaling and the
    stacking fusion's logistic regression."""
    loss = objective(theta)
    for _ in range(max_iter):
        step, size = direction(theta), 1.0
        while size > 1e-10:  # backtracking: halve until the loss does not rise
            cand = theta - size * step
            cand_loss = objective(cand)
            if cand_loss <= loss + 1e-12 * abs(loss):
                break
            size /= 2.0
        else:
            break
        done = abs(loss - cand_loss) <= tol * max(1.0, abs(loss))
        theta, loss = cand, cand_loss
        if done:
            break
    return theta


def fit_platt(scores: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray,
              max_iter: int = 100, tol: float = 1e-10) -> Params:
    """Platt scaling P = sigmoid(a * s + b) by damped Newton on Platt's smoothed targets; {"a", "b"}."""
    s, yy = _inputs(scores, y)
    t = platt_targets(yy)
    n_pos = yy.sum()
    start = np.array([0.0, np.log((n_pos + 1.0) / (yy.size - n_pos + 1.0))])  # Platt's starting point
    theta = newton_minimize(lambda th: _nll(th[0] * s + th[1], t), lambda th: _newton_step(s, t, th), start,
                            max_iter, tol)
    return {"a": float(theta[0]), "b": float(theta[1])}


def fit_temperature(scores: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray,
                    max_iter: int = 100, tol: float = 1e-12) -> Params:
    """Temperature T of P = sigmoid(logit(s) / T), by Newton on u = 1 / T (convex NLL); {"temperature"}.

    Raises ValueError when the best u is not positive: the scores rank reals above fakes, which no
    temperature can fix.
    """
    s, t = _inputs(scores, y)
    x = logit(s)
    u = 1.0
    for _ in range(max_iter):
        p = sigmoid(u * x)
        grad, hess = float(np.sum((p - t) * x)), float(np.sum(p * (1.0 - p) * x * x)) + 1e-12
        step, size, loss = grad / hess, 1.0, _nll(u * x, t)
        while size > 1e-10 and _nll((u - size * step) * x, t) > loss + 1e-12 * abs(loss):
            size /= 2.0
        u_new = u - size * step
        if abs(u_new - u) <= tol * max(1.0, abs(u)):
            u = u_new
            break
        u = u_new
    if u <= 0:
        raise ValueError("temperature scaling failed: the scores are not positively related to the labels")
    return {"temperature": float(1.0 / u)}


def pav(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Pool-adjacent-violators: the weighted least-squares non-decreasing fit to `values` in the given order."""
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    means: list[float] = []
    sizes: list[float] = []
    counts: list[int] = []
    for value, weight in zip(v.tolist(), w.tolist(), strict=True):
        means.append(value)
        sizes.append(weight)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:  # violator: merge the last two blocks
            m2, w2, c2 = means.pop(), sizes.pop(), counts.pop()
            total = sizes[-1] + w2
            means[-1] = (means[-1] * sizes[-1] + m2 * w2) / total
            sizes[-1], counts[-1] = total, counts[-1] + c2
    return np.repeat(means, counts)


def fit_isotonic(scores: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray) -> Params:
    """Isotonic calibration by PAV on the sorted scores (tied scores pooled first); {"x", "y"} knots.

    The knots keep each block's lowest and highest score, so `apply` interpolates only between blocks.
    """
    s, t = _inputs(scores, y)
    xs, inverse = np.unique(s, return_inverse=True)
    counts = np.bincount(inverse).astype(np.float64)
    fitted = pav(np.bincount(inverse, weights=t) / counts, counts)
    keep = np.ones(xs.size, dtype=bool)  # drop knots inside a flat run: they change nothing
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return {"x": xs[keep].tolist(), "y": fitted[keep].tolist()}


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
