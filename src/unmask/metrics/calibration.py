"""Reliability-curve data for probabilities of fake, binned exactly as `binary.ece` bins them (numpy only).

A reliability diagram plots, per equal-width bin of P(fake), the observed fake rate against the mean predicted
probability (DeGroot & Fienberg 1983; Guo et al., "On Calibration of Modern Neural Networks", ICML 2017). Here
it is the fake-class form, not Guo's max-probability "confidence" form, so the count-weighted mean gap of the
curve equals `binary.ece` (up to floating-point rounding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .binary import ArrayLike, _check, _check_probabilities


@dataclass(frozen=True)
class ReliabilityCurve:
    """Per-bin data of a reliability diagram; bin k covers [edges[k], edges[k+1]), the last bin closed at 1.

    `mean_confidence` (mean P(fake) in the bin) and `fake_rate` (fraction of y = 1 in the bin) are NaN for an
    empty bin; `count` is the number of samples in each bin.
    """

    edges: np.ndarray
    count: np.ndarray
    mean_confidence: np.ndarray
    fake_rate: np.ndarray

    @property
    def n(self) -> int:
        """Total number of samples."""
        return int(self.count.sum())

    @property
    def ece(self) -> float:
        """Count-weighted mean |fake_rate - mean_confidence| over bins: `binary.ece` up to rounding."""
        full = self.count > 0
        gaps = np.abs(self.fake_rate[full] - self.mean_confidence[full])
        return float(np.sum(self.count[full] * gaps) / self.n)

    def to_rows(self) -> list[dict[str, float | int | None]]:
        """One JSON-friendly dict per bin (lo, hi, count, mean_confidence, fake_rate; None for empty bins)."""
        rows: list[dict[str, float | int | None]] = []
        for k in range(self.count.size):
            empty = self.count[k] == 0
            rows.append({
                "lo": float(self.edges[k]),
                "hi": float(self.edges[k + 1]),
                "count": int(self.count[k]),
                "mean_confidence": None if empty else float(self.mean_confidence[k]),
                "fake_rate": None if empty else float(self.fake_rate[k]),
            })
        return rows


def reliability_curve(y: ArrayLike, p: ArrayLike, bins: int = 15) -> ReliabilityCurve:
    """Reliability-curve data of P(fake) in `bins` equal-width bins (15 by default, as the tables use).

    Bin index = min(floor(p * bins), bins - 1), the same rule as `binary.ece`: [k/bins, (k+1)/bins), with
    p = 1 in the last bin. y = 1 fake; p must lie in [0, 1].
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    y_arr, p_arr = _check(y, p, "p")
    _check_probabilities(p_arr)
    idx = np.minimum((p_arr * bins).astype(np.int64), bins - 1)
    count = np.bincount(idx, minlength=bins)
    p_sum = np.bincount(idx, weights=p_arr, minlength=bins)
    y_sum = np.bincount(idx, weights=y_arr, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, p_sum / count, np.nan)
        rate = np.where(count > 0, y_sum / count, np.nan)
    return ReliabilityCurve(np.linspace(0.0, 1.0, bins + 1), count, mean_conf, rate)
