"""Image-level (binary) detection metrics with named conventions, numpy only.

`y` holds labels in {0, 1} with 1 = fake/manipulated/synthetic (the positive class) and `s` holds scores where
higher means more likely fake, unless a function says otherwise (the ASVspoof EER, see `eer`). Every function
names the reference implementation it reproduces (see METRICS.md in the shared docs): scikit-learn's
`roc_auc_score`, `average_precision_score`, `roc_curve`; HAMMER, ASVspoof and DeepfakeBench for the EER.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

ArrayLike = np.ndarray | Sequence[float]
EERVariant = Literal["deepfakebench", "hammer", "asvspoof"]


def _check(y: ArrayLike, s: ArrayLike, name: str = "s") -> tuple[np.ndarray, np.ndarray]:
    """Validate and return (y as int8 0/1, s as float64), both 1-D and of equal, non-zero length."""
    y_arr, s_arr = np.asarray(y), np.asarray(s, dtype=np.float64)
    if y_arr.ndim != 1 or s_arr.ndim != 1 or y_arr.shape != s_arr.shape:
        raise ValueError(f"y and {name} must be 1-D and of equal length, got {y_arr.shape} and {s_arr.shape}")
    if y_arr.size == 0:
        raise ValueError("no samples: y is empty")
    if not np.isin(y_arr, (0, 1)).all():
        raise ValueError("y must contain only 0 (real) and 1 (fake) labels")
    if not np.isfinite(s_arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return y_arr.astype(np.int8), s_arr


def _need_both_classes(y: np.ndarray, what: str) -> None:
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        only = "positive (1)" if n_pos else "negative (0)"
        raise ValueError(f"{what} is undefined when only one class is present in y (all {only})")


def _clf_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tps = np.cumsum(y_sorted, dtype=np.int64)[last_of_group]
    fps = last_of_group + 1 - tps
    return fps, tps, s_sorted[last_of_group]


def _roc(y: np.ndarray, s: np.ndarray, drop_intermediate: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fps, tps, thr = _clf_curve(y, s)
    if drop_intermediate and fps.size > 2:
        bends = np.logical_or(np.diff(fps, 2), np.diff(tps, 2))
        keep = np.flatnonzero(np.r_[True, bends, True])
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    fps, tps, thr = np.r_[0, fps], np.r_[0, tps], np.r_[np.inf, thr]
    return fps / fps[-1], tps / tps[-1], thr


def _trapezoid_auc(y: np.ndarray, s: np.ndarray) -> float:
    fpr, tpr, _ = _roc(y, s, drop_intermediate=True)
    return float((np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0).sum())


def binary_clf_curve(y: ArrayLike, s: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative (false positives, true positives, threshold) at each distinct score, highest first.

    A sample counts as predicted positive at threshold t iff s >= t; tied scores form one point, so the order
    of ties never matters (scikit-learn's `_binary_clf_curve` convention).
    """
    return _clf_curve(*_check(y, s))


def roc_curve(
    y: ArrayLike, s: ArrayLike, drop_intermediate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC (fpr, tpr, thresholds) as scikit-learn's `roc_curve`, including its point (0, 0) at threshold +inf.

    With `drop_intermediate` (sklearn's default) points collinear with both neighbours are removed; this
    changes no area but does change the nearest-point EER (DeepfakeBench, M.5), so it is reproduced exactly.
    """
    y_arr, s_arr = _check(y, s)
    _need_both_classes(y_arr, "the ROC curve")
    return _roc(y_arr, s_arr, drop_intermediate)


def roc_auc(y: ArrayLike, s: ArrayLike) -> float:
    """Area under the ROC curve by the trapezoid rule (sklearn `roc_auc_score`); a tie counts as half a win.

    Raises ValueError when y holds a single class, as sklearn does.
    """
    y_arr, s_arr = _check(y, s)
    _need_both_classes(y_arr, "ROC AUC")
    return _trapezoid_auc(y_arr, s_arr)


def average_precision(y: ArrayLike, s: ArrayLike) -> float:
    """Step-wise average precision, sum over thresholds of (R_k - R_{k-1}) * P_k, no interpolation.

    Matches sklearn `average_precision_score`. With no positive in y it raises ValueError, where sklearn
    warns and returns 0.0.
    """
    y_arr, s_arr = _check(y, s)
    if not y_arr.any():
        raise ValueError("average precision is undefined when y has no positive (fake) sample")
    fps, tps, _ = _clf_curve(y_arr, s_arr)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _predict(s: np.ndarray, threshold: float) -> np.ndarray:
    """Hard decision used throughout: fake iff score >= threshold (inclusive)."""
    return s >= threshold


def accuracy_at(y: ArrayLike, s: ArrayLike, threshold: float) -> float:
    """Accuracy with fake predicted iff s >= threshold (inclusive `>=`).

    The threshold must be fixed before looking at test labels (0.5 for calibrated scores or one chosen on
    development data); the best threshold on the test set is an oracle.
    """
    y_arr, s_arr = _check(y, s)
    return float(np.mean(_predict(s_arr, threshold) == y_arr.astype(bool)))


def balanced_accuracy_at(y: ArrayLike, s: ArrayLike, threshold: float) -> float:
    """Mean of per-class recall (TPR and TNR) with fake iff s >= threshold (sklearn `balanced_accuracy_score`).

    As in sklearn, a class absent from y is left out of the mean (so it reduces to plain accuracy).
    """
    y_arr, s_arr = _check(y, s)
    pred, truth = _predict(s_arr, threshold), y_arr.astype(bool)
    recalls = [np.mean(pred[truth == c] == c) for c in (False, True) if np.any(truth == c)]
    return float(np.mean(recalls))


def tpr_at_fpr(y: ArrayLike, s: ArrayLike, fpr: float) -> float:
    """Largest TPR among ROC points (thresholds at the observed scores, plus +inf) whose FPR <= `fpr`.

    No interpolation between points: with 100 negatives, TPR@1%FPR is the TPR when at most one real sample
    scores at or above the threshold. A 1e-12 slack absorbs float rounding of k/n_neg.
    """
    if not 0.0 <= fpr <= 1.0:
        raise ValueError(f"fpr must be in [0, 1], got {fpr}")
    fprs, tprs, _ = roc_curve(y, s, drop_intermediate=False)
    return float(tprs[fprs <= fpr + 1e-12].max())


def brier(y: ArrayLike, p: ArrayLike) -> float:
    """Brier score, mean squared difference between the probability of fake and the 0/1 label."""
    y_arr, p_arr = _check(y, p, "p")
    _check_probabilities(p_arr)
    return float(np.mean((p_arr - y_arr) ** 2))


def _check_probabilities(p: np.ndarray) -> None:
    if p.min() < 0.0 or p.max() > 1.0:
        raise ValueError(f"probabilities must lie in [0, 1], got range [{p.min():g}, {p.max():g}]")


def ece(y: ArrayLike, p: ArrayLike, bins: int = 15) -> float:
    """Expected calibration error of P(fake): sum over equal-width bins of (n_b / n) * |mean(y_b) - mean(p_b)|.

    Bin index = min(floor(p * bins), bins - 1): [k/bins, (k+1)/bins), the last closed at 1. This is the
    reliability of the fake-class probability, not Guo et al.'s max-probability "confidence" form.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    y_arr, p_arr = _check(y, p, "p")
    _check_probabilities(p_arr)
    idx = np.minimum((p_arr * bins).astype(np.int64), bins - 1)
    y_sum = np.bincount(idx, weights=y_arr, minlength=bins)
    gap = np.abs(y_sum - np.bincount(idx, weights=p_arr, minlength=bins))
    return float(gap.sum() / y_arr.size)


def _eer_hammer(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Root of 1 - x - tpr(x) with tpr linear in fpr (HAMMER's brentq on interp1d), solved on the polyline.

    g = 1 - fpr - tpr falls strictly along the ROC polyline, so the root lies on the one segment where g changes
    sign; on a vertical segment (a jump in TPR) the root is that segment's FPR, where brentq converges too.
    """
    g = 1.0 - fpr - tpr
    k = int(np.flatnonzero(g <= 0.0)[0])
    if g[k] == 0.0:
        return float(fpr[k])
    lam = g[k - 1] / (g[k - 1] - g[k])
    return float(fpr[k - 1] + lam * (fpr[k] - fpr[k - 1]))


def asvspoof_eer(bonafide: ArrayLike, spoof: ArrayLike) -> tuple[float, float]:
    """(EER, threshold) by ASVspoof's `compute_det_curve`/`compute_eer` (AASIST, 2021 eval package), M.4.

    Scores are higher = more bona fide. Scores are stably sorted ascending with bona fide trials first among
    ties; EER = (FRR + FAR) / 2 at the first point minimising |FRR - FAR|.
    """
    tar, non = np.asarray(bonafide, dtype=np.float64).ravel(), np.asarray(spoof, dtype=np.float64).ravel()
    if tar.size == 0 or non.size == 0:
        raise ValueError("ASVspoof EER needs at least one bona fide and one spoof score")
    scores = np.r_[tar, non]
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values")
    order = np.argsort(scores, kind="mergesort")
    labels = np.r_[np.ones(tar.size), np.zeros(non.size)][order]
    hits = np.cumsum(labels)
    frr = np.r_[0.0, hits / tar.size]
    far = np.r_[1.0, (non.size - (np.arange(1, scores.size + 1) - hits)) / non.size]
    thresholds = np.r_[scores[order[0]] - 0.001, scores[order]]
    i = int(np.argmin(np.abs(frr - far)))
    return float((frr[i] + far[i]) / 2.0), float(thresholds[i])


def eer(y: ArrayLike, s: ArrayLike, variant: EERVariant = "deepfakebench") -> float:
    """Equal error rate as a fraction in [0, 1] (multiply by 100 for the papers' tables), by a named recipe.

    - "deepfakebench" (M.5): sklearn ROC with intermediate points dropped, EER = fpr at the first
      nanargmin |fnr - fpr|, no averaging. y = 1 fake, higher s = more fake.
    - "hammer" (M.3): the root of 1 - x - tpr(x), tpr linearly interpolated on the same ROC. Same y, s.
    - "asvspoof" (M.4): the positive class is BONA FIDE: pass y = 1 for bona fide/real and s = a bona-fide
      score (higher = more real), exactly what `compute_eer(s[y == 1], s[y == 0])` receives. A caller with
      fake-convention labels and fake scores passes `eer(1 - y, -s, variant="asvspoof")`.
    The three can differ by 0.1-1 pt on the same scores; record which one a table used.
    """
    y_arr, s_arr = _check(y, s)
    _need_both_classes(y_arr, "EER")
    if variant == "asvspoof":
        return asvspoof_eer(s_arr[y_arr == 1], s_arr[y_arr == 0])[0]
    if variant not in ("deepfakebench", "hammer"):
        raise ValueError(f"unknown EER variant {variant!r}; use 'deepfakebench', 'hammer' or 'asvspoof'")
    fpr, tpr, _ = _roc(y_arr, s_arr, drop_intermediate=True)
    if variant == "hammer":
        return _eer_hammer(fpr, tpr)
    return float(fpr[np.nanargmin(np.abs((1.0 - tpr) - fpr))])


def binary_summary(
    y: ArrayLike, s: ArrayLike, threshold: float, calibrated: bool = False
) -> dict[str, float | int | None]:
    """The standard detection table row: auc, ap, accuracy, balanced_accuracy, tpr@1%fpr, tpr@5%fpr, n, n_pos.

    `threshold` must be fixed before seeing test labels (fake iff s >= threshold). With `calibrated=True` the
    scores claim to be probabilities: they must lie in [0, 1] (else ValueError) and brier and ece (15 bins)
    are added. Metrics undefined for a single-class y (auc, tpr@..., ap without positives) are None.
    """
    y_arr, s_arr = _check(y, s)
    n_pos = int(y_arr.sum())
    both = 0 < n_pos < y_arr.size
    out: dict[str, float | int | None] = {
        "auc": roc_auc(y_arr, s_arr) if both else None,
        "ap": average_precision(y_arr, s_arr) if n_pos else None,
        "accuracy": accuracy_at(y_arr, s_arr, threshold),
        "balanced_accuracy": balanced_accuracy_at(y_arr, s_arr, threshold),
        "tpr@1%fpr": tpr_at_fpr(y_arr, s_arr, 0.01) if both else None,
        "tpr@5%fpr": tpr_at_fpr(y_arr, s_arr, 0.05) if both else None,
        "threshold": float(threshold),
        "n": int(y_arr.size),
        "n_pos": n_pos,
    }
    if calibrated:
        out["brier"] = brier(y_arr, s_arr)
        out["ece"] = ece(y_arr, s_arr, bins=15)
    return out
