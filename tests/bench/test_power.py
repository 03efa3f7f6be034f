"""The paired t-test's power: the detectable difference and the cells a difference needs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayestune.bench.power import cells_needed, min_detectable, power_at


def test_textbook_values():
    # the classic planning figures for a paired t-test at 5% two-sided and 80% power:
    # ten pairs detect about one standard deviation; half a standard deviation needs 34 pairs
    assert min_detectable(1.0, 10, alpha=0.05, power=0.8) == pytest.approx(0.996, abs=0.002)
    assert cells_needed(1.0, 0.5, alpha=0.05, power=0.8) == 34
    assert cells_needed(2.0, 1.0, alpha=0.05, power=0.8) == 34, "only delta / sd matters"


def test_detectable_and_cells_needed_agree_and_more_cells_detect_less():
    for n in (3, 6, 20):
        d = min_detectable(0.1, n, alpha=0.05, power=0.8)
        assert power_at(d, 0.1, n, alpha=0.05) == pytest.approx(0.8, abs=1e-4)
        assert cells_needed(0.1, d * 1.001, alpha=0.05, power=0.8) == n
    assert min_detectable(0.1, 3, alpha=0.05, power=0.8) > min_detectable(0.1, 6, alpha=0.05, power=0.8)


def test_power_matches_a_simulation_of_the_t_test():
    rng = np.random.default_rng(0)
    d = rng.normal(0.5, 1.0, size=(4000, 12))
    simulated = np.mean(stats.ttest_1samp(d, 0.0, axis=1).pvalue < 0.05)
    assert power_at(0.5, 1.0, 12, alpha=0.05) == pytest.approx(simulated, abs=0.03)


def test_degenerate_inputs():
    assert min_detectable(None, 5, alpha=0.05, power=0.8) is None
    assert min_detectable(1.0, 1, alpha=0.05, power=0.8) is None
    assert cells_needed(None, 0.1, alpha=0.05, power=0.8) is None
    assert cells_needed(1.0, 1e-4, alpha=0.05, power=0.8) is None, "beyond 100 000 cells"


def test_two_cells_with_spread_have_a_detectable_difference():
    """scipy's lower tail is NaN for large noncentrality at 1 df; the power stays a number."""
    for sd in (0.5, 2.0, 37.0):
        d = min_detectable(sd, 2, alpha=0.05, power=0.8)
        assert d is not None and 0 < d < 1e3 * sd
        assert abs(power_at(d, sd, 2, alpha=0.05) - 0.8) < 1e-6
