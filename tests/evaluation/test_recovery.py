from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from bayestune.evaluation.recovery import (
    CALIBRATION_LEVELS,
    calibration_error,
    central_interval,
    contraction,
    coverage,
    kernel_l1,
    nrmse,
    relative_error,
)


def _geometric(alpha: float, l_max: int) -> np.ndarray:
    return alpha ** np.arange(l_max)


# Three points whose draws are each 0, 1, ..., 10 (11 draws per column).
GRID_DRAWS = np.repeat(np.arange(11.0)[:, None], 3, axis=1)
GRID_TRUTH = np.array([5.0, 9.0, 9.5])


# --- central_interval -------------------------------------------------------------


def test_central_interval_hand_computed() -> None:
    # draws 0..10, level 0.8 -> quantiles 0.1 and 0.9; linear positions 0.1*10 = 1 and
    # 0.9*10 = 9, so the interval is [1, 9].
    lo, hi = central_interval(np.arange(11.0), 0.8)
    assert (float(lo), float(hi)) == pytest.approx((1.0, 9.0))
    # draws [0, 10], level 0.5 -> quantiles 0.25, 0.75 -> 0 + 0.25*10 = 2.5, 7.5.
    lo, hi = central_interval(np.array([0.0, 10.0]), 0.5)
    assert (float(lo), float(hi)) == pytest.approx((2.5, 7.5))


def test_central_interval_axis_and_level_array() -> None:
    draws = np.arange(11.0)[None, :] + np.array([[0.0], [100.0]])  # draws on axis 1
    lo, hi = central_interval(draws, 0.8, axis=1)
    np.testing.assert_allclose(lo, [1.0, 101.0])
    np.testing.assert_allclose(hi, [9.0, 109.0])
    # level 0 -> median twice (5); level 1 -> min and max (0, 10).
    lo, hi = central_interval(np.arange(11.0), [0.0, 1.0])
    np.testing.assert_allclose(lo, [5.0, 0.0])
    np.testing.assert_allclose(hi, [5.0, 10.0])


# --- coverage / calibration_error --------------------------------------------------


def test_coverage_hand_computed_inclusive_bounds() -> None:
    # Intervals per column: level 0 -> [5, 5], 0.8 -> [1, 9], 1 -> [0, 10].
    # truth 5 is in all three; truth 9 sits on the 0.8 upper bound (inclusive, so in) and
    # is in [0, 10]; truth 9.5 only in [0, 10].
    # level 0: 1/3; level 0.8: 2/3; level 1: 3/3.
    got = coverage(GRID_DRAWS, GRID_TRUTH, [0.0, 0.8, 1.0])
    np.testing.assert_allclose(got, [1 / 3, 2 / 3, 1.0])
    assert got.shape == (3,)


def test_coverage_one_point_and_scalar_level() -> None:
    # 1-D draws 0..10 with scalar truth 9.5: outside [1, 9] -> 0; inside [0, 10] -> 1.
    assert float(coverage(np.arange(11.0), 9.5, 0.8)) == 0.0
    assert float(coverage(np.arange(11.0), 9.5, 1.0)) == 1.0
    assert coverage(np.arange(11.0), 9.5, 0.8).shape == ()


def test_calibration_error_hand_computed() -> None:
    # coverage [1/3, 2/3, 1] at levels [0, 0.8, 1]; gaps |1/3 - 0| = 0.3333,
    # |2/3 - 0.8| = 0.1333, |1 - 1| = 0; median = 0.1333.
    got = calibration_error(GRID_DRAWS, GRID_TRUTH, [0.0, 0.8, 1.0])
    assert got == pytest.approx(0.8 - 2 / 3)


def test_calibration_levels() -> None:
    assert CALIBRATION_LEVELS.shape == (20,)
    assert CALIBRATION_LEVELS[0] == pytest.approx(0.005)
    assert CALIBRATION_LEVELS[-1] == pytest.approx(0.995)
    np.testing.assert_allclose(np.diff(CALIBRATION_LEVELS), 0.99 / 19)


def test_calibrated_posterior_has_small_error() -> None:
    # truth ~ N(0, 1) and draws ~ N(0, 1) independently: truth is exchangeable with the
    # draws, so every central interval covers at its nominal rate.
    rng = np.random.default_rng(2024)
    n_draws, n_points = 400, 2000
    truth = rng.normal(size=n_points)
    draws = rng.normal(size=(n_draws, n_points))
    cov = coverage(draws, truth, CALIBRATION_LEVELS)
    np.testing.assert_allclose(cov, CALIBRATION_LEVELS, atol=0.05)
    assert calibration_error(draws, truth) < 0.03


def test_overconfident_wrong_posterior_has_large_error() -> None:
    # Posterior shrunk (sd 0.1) around truth + 2: the intervals almost never cover, so
    # the gap at level a is about a and the median over levels is about 0.5.
    rng = np.random.default_rng(7)
    truth = rng.normal(size=500)
    draws = truth + 2.0 + 0.1 * rng.normal(size=(200, 500))
    assert calibration_error(draws, truth) > 0.3


# --- nrmse ---------------------------------------------------------------------------


def test_nrmse_hand_computed() -> None:
    # truth [0, 2, 4], range 4.
    # draw 1 [1, 2, 3]: errors (1, 0, -1) -> sqrt(2/3) = 0.8165
    # draw 2 [0, 2, 4]: 0
    # draw 3 [3, 5, 7]: errors (3, 3, 3) -> 3
    # median RMSE sqrt(2/3), / 4 = 0.2041.
    draws = np.array([[1.0, 2.0, 3.0], [0.0, 2.0, 4.0], [3.0, 5.0, 7.0]])
    assert nrmse(draws, [0.0, 2.0, 4.0]) == pytest.approx(math.sqrt(2 / 3) / 4)


def test_nrmse_constant_truth_uses_abs_mean() -> None:
    # truth [2, 2]: range 0, so divide by |mean| = 2; draw [3, 1] has RMSE 1 -> 0.5.
    assert nrmse([[3.0, 1.0]], [2.0, 2.0]) == pytest.approx(0.5)
    # one point, truth -2: draws 1 and -5 both miss by 3 -> median 3, / 2 = 1.5.
    assert nrmse([1.0, -5.0], -2.0) == pytest.approx(1.5)
    # truth all zero: no scale -> nan.
    assert math.isnan(nrmse([[1.0, 1.0]], [0.0, 0.0]))


def test_nrmse_scale_invariant() -> None:
    rng = np.random.default_rng(3)
    truth = rng.normal(size=30)
    draws = truth + rng.normal(scale=0.5, size=(100, 30))
    base = nrmse(draws, truth)
    assert base > 0.05
    assert nrmse(1000.0 * draws, 1000.0 * truth) == pytest.approx(base, rel=1e-12)


# --- contraction / relative_error --------------------------------------------------


def test_contraction_hand_computed_and_clipped() -> None:
    # 1 - 0.25/1 = 0.75; 1 - 2/1 = -1 -> clipped to 0; 1 - 0/4 = 1.
    assert contraction(0.25, 1.0) == pytest.approx(0.75)
    assert isinstance(contraction(0.25, 1.0), float)
    got = contraction([0.25, 2.0, 0.0], [1.0, 1.0, 4.0])
    np.testing.assert_allclose(got, [0.75, 0.0, 1.0])
    # broadcast scalar prior: 1 - 0.5/2 = 0.75, 1 - 3/2 -> 0.
    np.testing.assert_allclose(contraction([0.5, 3.0], 2.0), [0.75, 0.0])


def test_relative_error_hand_computed() -> None:
    # (1.1 - 1)/1 = 0.1; (3 - (-2))/|-2| = 2.5; truth 0 -> nan.
    got = relative_error([1.1, 3.0, 5.0], [1.0, -2.0, 0.0])
    np.testing.assert_allclose(got, [0.1, 2.5, np.nan])
    # (-3 - (-2))/2 = -0.5: under-estimated reads negative whatever the sign of truth.
    assert relative_error(-3.0, -2.0) == pytest.approx(-0.5)
    assert isinstance(relative_error(-3.0, -2.0), float)
    assert math.isnan(relative_error(1.0, 0.0))


# --- kernel_l1 -----------------------------------------------------------------------


def test_kernel_l1_hand_computed() -> None:
    # [1, 1] -> [0.5, 0.5, 0 (pad)]; [2, 1, 1] -> [0.5, 0.25, 0.25];
    # |0| + |0.25| + |-0.25| = 0.5.
    assert kernel_l1([1.0, 1.0], [2.0, 1.0, 1.0]) == pytest.approx(0.5)
    # disjoint support -> 2; same shape up to scale or trailing zeros -> 0.
    assert kernel_l1([1.0, 0.0], [0.0, 1.0]) == pytest.approx(2.0)
    assert kernel_l1([1.0, 2.0], [2.0, 4.0]) == pytest.approx(0.0)
    assert kernel_l1([1.0, 2.0], [1.0, 2.0, 0.0, 0.0]) == pytest.approx(0.0)


def test_kernel_l1_lag_length_past_decay_barely_matters() -> None:
    alpha = 0.3
    d_lmax = kernel_l1(_geometric(alpha, 8), _geometric(alpha, 12))
    assert d_lmax < 0.01
    # closed form 2 (a^8 - a^12) / (1 - a^12) from the docstring
    assert d_lmax == pytest.approx(2 * (alpha**8 - alpha**12) / (1 - alpha**12), rel=1e-9)
    assert kernel_l1(_geometric(0.3, 8), _geometric(0.7, 8)) > 0.5


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (_geometric(0.3, 8), _geometric(0.7, 12)),
        ([1.0, 1.0], [2.0, 1.0, 1.0]),
        ([0.0, 0.0, 5.0], [1.0]),
    ],
)
def test_kernel_l1_symmetric(a: npt.ArrayLike, b: npt.ArrayLike) -> None:
    assert kernel_l1(a, b) == pytest.approx(kernel_l1(b, a), abs=1e-15)


# --- validation ----------------------------------------------------------------------


def test_coverage_and_nrmse_reject_mismatched_points() -> None:
    draws = np.zeros((10, 3))
    with pytest.raises(ValueError, match="number of points"):
        coverage(draws, np.zeros(4), 0.5)
    with pytest.raises(ValueError, match="number of points"):
        nrmse(draws, np.zeros(4))
    with pytest.raises(ValueError, match="number of points"):
        calibration_error(draws, np.zeros(2))


@pytest.mark.parametrize(
    ("draws", "truth", "match"),
    [
        (np.zeros((10, 3, 2)), np.zeros(3), "draws must have shape"),
        (np.zeros(10), np.zeros(3), "draws must have shape"),
        (np.zeros((10, 3)), np.zeros((3, 1)), "truth must be 1-D"),
        (np.zeros((0, 3)), np.zeros(3), "at least one draw"),
        (np.zeros((5, 0)), np.zeros(0), "at least one point"),
        (np.full((5, 2), np.nan), np.zeros(2), "draws contain NaN"),
        (np.zeros((5, 2)), np.array([0.0, np.inf]), "truth contains NaN"),
    ],
)
def test_draws_truth_validation(draws: np.ndarray, truth: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        coverage(draws, truth, 0.5)
    with pytest.raises(ValueError, match=match):
        nrmse(draws, truth)


@pytest.mark.parametrize("level", [-0.1, 1.5, [0.5, 1.01], []])
def test_levels_out_of_range_rejected(level: npt.ArrayLike) -> None:
    with pytest.raises(ValueError, match="level"):
        central_interval(np.arange(5.0), level)
    with pytest.raises(ValueError, match="level"):
        coverage(np.arange(5.0), 2.0, level)


def test_contraction_rejects_bad_variances() -> None:
    with pytest.raises(ValueError, match="prior variance must be positive"):
        contraction(0.5, 0.0)
    with pytest.raises(ValueError, match="prior variance must be positive"):
        contraction([0.5, 0.5], [1.0, -1.0])
    with pytest.raises(ValueError, match="prior variance must be positive"):
        contraction(0.5, np.nan)
    with pytest.raises(ValueError, match="posterior variance must be non-negative"):
        contraction(-0.1, 1.0)
    with pytest.raises(ValueError, match="do not broadcast"):
        contraction([0.1, 0.2], [1.0, 1.0, 1.0])


def test_relative_error_rejects_unbroadcastable() -> None:
    with pytest.raises(ValueError, match="do not broadcast"):
        relative_error([1.0, 2.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([1.0, -0.1], "non-negative"),
        ([0.0, 0.0], "all zero"),
        ([], "non-empty 1-D"),
        ([[1.0, 0.5]], "non-empty 1-D"),
        ([1.0, np.nan], "NaN"),
    ],
)
def test_kernel_l1_rejects_bad_kernels(weights: npt.ArrayLike, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        kernel_l1(weights, [1.0, 0.5])
    with pytest.raises(ValueError, match=match):
        kernel_l1([1.0, 0.5], weights)
