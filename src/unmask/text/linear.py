"""L2-regularised logistic and softmax regression by L-BFGS, with an optional fixed offset per example.

The offset is what entity debiasing needs (unmask.text.entities, after ENDEF, Zhu et al. SIGIR 2022): the
main model is fitted beside a frozen entity-only model's logits and used without them. Dense or scipy-sparse
features alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Linear:
    """Weights (d, k) and bias (k,): k = 1 is a logistic model (the logit of class 1), k > 2 a softmax."""

    weight: np.ndarray
    bias: np.ndarray

    def logits(self, x: Any) -> np.ndarray:
        return np.asarray(x @ self.weight) + self.bias

    def proba(self, x: Any) -> np.ndarray:
        """P(class 1) for a logistic model; the (n, k) class probabilities for a softmax."""
        z = self.logits(x)
        if z.shape[1] == 1:
            return 1.0 / (1.0 + np.exp(-z[:, 0]))
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


def _loss(theta: np.ndarray, x: Any, y: np.ndarray, k: int, l2: float, offset: np.ndarray,
          w8: np.ndarray) -> tuple[float, np.ndarray]:
    d = x.shape[1]
    weight, bias = theta[: d * k].reshape(d, k), theta[d * k:]
    z = np.asarray(x @ weight) + bias + offset
    if k == 1:
        t = y.astype(np.float64)[:, None]
        loss = np.logaddexp(0.0, z) - t * z
        resid = 1.0 / (1.0 + np.exp(-z)) - t
    else:
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(len(y)), y][:, None]
        resid = np.exp(logp)
        resid[np.arange(len(y)), y] -= 1.0
    resid = resid * w8[:, None]
    n = w8.sum()
    value = float((loss[:, 0] * w8).sum() / n + 0.5 * l2 * (weight ** 2).sum())
    grad_w = np.asarray(x.T @ resid) / n + l2 * weight
    return value, np.concatenate([grad_w.ravel(), resid.sum(axis=0) / n])


def fit(x: Any, y: np.ndarray, l2: float = 1e-4, offset: np.ndarray | None = None,
        balanced: bool = True, max_iter: int = 500) -> Linear:
    """Fit on features `x` (n, d) and integer labels `y`; two classes give a logistic model. `balanced`
    weights each class by n / (k * its count), so the base rate of the training data is not learnt as evidence.
    """
    from scipy.optimize import minimize

    y = np.asarray(y, np.int64)
    classes = int(y.max()) + 1
    k = 1 if classes <= 2 else classes
    counts = np.bincount(y, minlength=max(classes, 2)).astype(np.float64)
    w8 = (len(y) / (len(counts) * counts[y])) if balanced else np.ones(len(y))
    off = np.zeros((len(y), k)) if offset is None else np.asarray(offset, np.float64).reshape(len(y), k)
    theta0 = np.zeros(x.shape[1] * k + k)
    res = minimize(_loss, theta0, args=(x, y, k, l2, off, w8), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter})
    d = x.shape[1]
    return Linear(res.x[: d * k].reshape(d, k).astype(np.float32), res.x[d * k:].astype(np.float32))
