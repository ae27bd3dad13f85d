"""95% confidence intervals for benchmark tables: bootstrap intervals of AUC and AP (stratified, so each
resample keeps the class counts), paired bootstrap for the difference between two detectors on the same
items, and Wilson score intervals for rates such as false alarms (Wilson 1927; Efron & Tibshirani 1993)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .binary import ArrayLike, _check, _need_both_classes, average_precision, roc_auc

BOOT = 2000
Z95 = 1.959963984540054


def _resamples(y: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    """Index arrays of `n` stratified bootstrap resamples (each class resampled within itself)."""
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(y == c) for c in (0, 1)]
    return [np.concatenate([rng.choice(idx, idx.size) for idx in by_class]) for _ in range(n)]


def _interval(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def bootstrap_interval(y: ArrayLike, s: ArrayLike, metric: Callable[[np.ndarray, np.ndarray], float] = roc_auc,
                       n: int = BOOT, seed: int = 0) -> tuple[float, float]:
    """95% stratified-bootstrap percentile interval of `metric(y, s)` (AUC by default)."""
    y_arr, s_arr = _check(y, s)
    _need_both_classes(y_arr, "a bootstrap interval")
    return _interval([metric(y_arr[i], s_arr[i]) for i in _resamples(y_arr, n, seed)])


def ap_interval(y: ArrayLike, s: ArrayLike, n: int = BOOT, seed: int = 0) -> tuple[float, float]:
    return bootstrap_interval(y, s, average_precision, n, seed)


def paired_difference(y: ArrayLike, a: ArrayLike, b: ArrayLike, metric: Callable[[np.ndarray, np.ndarray], float]
                      = roc_auc, n: int = BOOT, seed: int = 0) -> tuple[float, float, float]:
    """metric(a) - metric(b) for two detectors' scores on the same items, with its 95% paired-bootstrap
    interval (both scored on each resample): a difference is evidence only where the interval excludes 0."""
    y_arr, a_arr = _check(y, a)
    _, b_arr = _check(y, b, "b")
    _need_both_classes(y_arr, "a bootstrap interval")
    diffs = [metric(y_arr[i], a_arr[i]) - metric(y_arr[i], b_arr[i]) for i in _resamples(y_arr, n, seed)]
    return (metric(y_arr, a_arr) - metric(y_arr, b_arr), *_interval(diffs))


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k / n (sensible at 0 and at small n, unlike k/n ± 2 SE)."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"a proportion needs 0 <= k <= n and n > 0, got k={k}, n={n}")
    p, z2 = k / n, Z95 ** 2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))
