"""unmask.metrics.intervals: bootstrap and Wilson intervals against hand-checked values."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.metrics import bootstrap_interval, paired_difference, roc_auc, wilson


def test_wilson_matches_the_textbook_values() -> None:
    lo, hi = wilson(0, 100)  # the "rule of three" neighbourhood: about 3.7% at most
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(0.0370, abs=2e-4)
    lo, hi = wilson(50, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=2e-4)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson(3, 2)


def test_bootstrap_interval_brackets_the_estimate_and_narrows_with_more_data() -> None:
    rng = np.random.default_rng(0)
    widths = []
    for n in (50, 800):
        y = np.r_[np.zeros(n), np.ones(n)].astype(int)
        s = np.r_[rng.normal(0, 1, n), rng.normal(1, 1, n)]
        lo, hi = bootstrap_interval(y, s, n=400)
        assert lo < roc_auc(y, s) < hi
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 2
    with pytest.raises(ValueError, match="one class"):
        bootstrap_interval([1, 1], [0.2, 0.3])


def test_paired_difference_sees_a_real_gain_and_not_a_copy() -> None:
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(300), np.ones(300)].astype(int)
    weak = y + rng.normal(0, 2, y.size)
    strong = y + rng.normal(0, 0.5, y.size)
    diff, lo, _hi = paired_difference(y, strong, weak, n=400)
    assert diff > 0 and lo > 0
    assert paired_difference(y, weak, weak, n=50) == (0.0, 0.0, 0.0)
