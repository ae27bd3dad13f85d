"""Fake-news detection metrics, ICTMCG convention (M.13: ARG / M3FEND / MDFEND `utils/utils.py:metrics`).

Inputs: y in {0 real, 1 fake} and p = sigmoid probability of fake. Hard labels are `np.around(p)`, which
rounds half to even, so p = 0.5 is called real. Macro P / R / F1 average over the labels present in y or in
the hard predictions (scikit-learn's `unique_labels`), a class with no predicted (or no true) sample scoring 0
precision (or recall), as sklearn's default `zero_division` does. AUC is `binary.roc_auc`; spAUC is the
McClish-standardised partial AUC up to FPR 0.1 (sklearn `roc_auc_score(max_fpr=0.1)`). Where ARG stores -1
for an undefined AUC (one class), this returns None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .binary import ArrayLike, _check, _check_probabilities, roc_auc, roc_curve


def hard_labels(p: ArrayLike) -> np.ndarray:
    """`np.around(p).astype(int)`: 1 iff p > 0.5 for p in [0, 1] (0.5 rounds to even, i.e. to 0 = real)."""
    return np.around(np.asarray(p, dtype=np.float64)).astype(np.int64)


def partial_auc(y: ArrayLike, s: ArrayLike, max_fpr: float = 0.1) -> float:
    """McClish-corrected partial AUC over FPR in [0, max_fpr], as sklearn `roc_auc_score(..., max_fpr=...)`.

    The ROC is cut at max_fpr with a linearly interpolated point, its area A is standardised to
    0.5 * (1 + (A - max_fpr^2 / 2) / (max_fpr - max_fpr^2 / 2)): 0.5 for chance, 1 for a perfect ranking.
    max_fpr = 1 gives the plain AUC. Raises ValueError for a single-class y.
    """
    if not 0.0 < max_fpr <= 1.0:
        raise ValueError(f"max_fpr must be in (0, 1], got {max_fpr}")
    if max_fpr == 1.0:
        return roc_auc(y, s)
    fpr, tpr, _ = roc_curve(y, s)
    stop = int(np.searchsorted(fpr, max_fpr, side="right"))
    cut = np.interp(max_fpr, fpr[stop - 1 : stop + 1], tpr[stop - 1 : stop + 1])
    fpr, tpr = np.r_[fpr[:stop], max_fpr], np.r_[tpr[:stop], cut]
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    lo, hi = 0.5 * max_fpr**2, max_fpr
    return 0.5 * (1.0 + (area - lo) / (hi - lo))


def _per_class(y: np.ndarray, pred: np.ndarray) -> dict[int, tuple[float, float, float]]:
    """{label: (precision, recall, f1)} for each label present in y or pred; 0 where a ratio is 0 / 0."""
    out = {}
    for c in np.union1d(y, pred).tolist():
        tp = int(np.sum((pred == c) & (y == c)))
        n_pred, n_true = int(np.sum(pred == c)), int(np.sum(y == c))
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        out[c] = (precision, recall, 2 * tp / (n_pred + n_true))  # n_pred + n_true > 0 for a present label
    return out


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    pred = hard_labels(p)
    per = _per_class(y, pred)
    macro = np.mean(list(per.values()), axis=0)
    both = 0 < int(y.sum()) < y.size
    out: dict[str, Any] = {
        "auc": roc_auc(y, p) if both else None,
        "spauc": partial_auc(y, p, 0.1) if both else None,
        "macro_f1": float(macro[2]),
        "precision": float(macro[0]),
        "recall": float(macro[1]),
        "acc": float(np.mean(pred == y)),
    }
    for c, name in ((0, "real"), (1, "fake")):
        values = per.get(c)
        out[f"precision_{name}"], out[f"recall_{name}"], out[f"f1_{name}"] = values or (None, None, None)
    out.update(n=int(y.size), n_real=int(y.size - y.sum()), n_fake=int(y.sum()))
    return out


def _inputs(y: ArrayLike, p: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y_arr, p_arr = _check(y, p, "p")
    _check_probabilities(p_arr)
    return y_arr.astype(np.int64), p_arr


def fake_news_metrics(y: ArrayLike, p: ArrayLike) -> dict[str, Any]:
    """ICTMCG metrics: macro_f1 (the headline and early-stopping "metric"), f1/precision/recall per class.

    Keys: auc, spauc (None for a single-class y), macro_f1, precision, recall (macro), acc, precision_real,
    recall_real, f1_real, precision_fake, recall_fake, f1_fake (None for a class absent from both y and the
    predictions, where ARG stores -1 for both), n, n_real, n_fake.
    """
    return _scores(*_inputs(y, p))


def per_domain_metrics(y: ArrayLike, p: ArrayLike, domains: Sequence[Any]) -> dict[Any, dict[str, Any]]:
    """M3FEND / MDFEND per-domain rows: `fake_news_metrics` inside each domain, in first-seen domain order.

    Each row carries its support (n, n_real, n_fake); auc and spauc are None in a single-class domain (where
    M3FEND's `roc_auc_score` raises). P / R / F1 are macro over the labels present in the domain.
    """
    y_arr, p_arr = _inputs(y, p)
    if len(domains) != y_arr.size:
        raise ValueError(f"got {len(domains)} domain ids for {y_arr.size} samples")
    codes: dict[Any, int] = {}
    idx = np.array([codes.setdefault(d, len(codes)) for d in domains], dtype=np.int64)
    return {d: _scores(y_arr[idx == k], p_arr[idx == k]) for d, k in codes.items()}
