"""The built-in scores and the example package's, each checked against scoringrules."""

from __future__ import annotations

import numpy as np
import pytest
import scoringrules as sr

from bayestune.scores import BUILTINS, per_week, resolve_score
from bayestune.scores.interval import ALPHAS

RNG = np.random.default_rng(7)
DRAWS = RNG.normal(1000.0, 120.0, size=(400, 9))
OBSERVED = RNG.normal(1000.0, 150.0, size=9)


def test_crps_is_scoringrules_fair_ensemble_crps():
    expected = sr.crps_ensemble(OBSERVED, DRAWS.T, estimator="fair", backend="numpy")
    np.testing.assert_allclose(per_week("crps", OBSERVED, DRAWS), expected, rtol=1e-10)


def test_interval_is_scoringrules_weighted_interval_score_of_the_draws_quantiles():
    alpha = np.asarray(ALPHAS)
    lower = np.quantile(DRAWS, alpha / 2, axis=0).T
    upper = np.quantile(DRAWS, 1 - alpha / 2, axis=0).T
    median = np.quantile(DRAWS, 0.5, axis=0)
    # scoringrules' numba kernel (its numpy path adds the median itself, not |y - median|)
    expected = sr.weighted_interval_score(OBSERVED, median, lower, upper, alpha, backend="numba")
    np.testing.assert_allclose(per_week("interval", OBSERVED, DRAWS), expected, rtol=1e-10)


def test_log_is_scoringrules_ensemble_log_score():
    expected = sr.logs_ensemble(OBSERVED, DRAWS.T, backend="numpy")
    np.testing.assert_allclose(per_week("log", OBSERVED, DRAWS), expected, rtol=1e-10)


def test_the_example_dawid_sebastiani_score_is_scoringrules():
    expected = sr.dssuv_ensemble(OBSERVED, DRAWS.T, backend="numpy")
    np.testing.assert_allclose(per_week("dawid-sebastiani", OBSERVED, DRAWS), expected, rtol=1e-10)


@pytest.mark.parametrize("name", [*BUILTINS, "dawid-sebastiani", "bayestune_example.score:dawid_sebastiani"])
def test_every_score_is_per_week_and_prefers_the_forecast_centred_on_the_truth(name):
    """Shared over every registered score: shape, finiteness, and that a forecast from the
    observations' own distribution beats a shifted one (what a proper score must do on average)."""
    truth = np.random.default_rng(1).normal(0.0, 1.0, size=(2000, 50))
    y = np.random.default_rng(2).normal(0.0, 1.0, size=50)
    good, shifted = per_week(name, y, truth), per_week(name, y, truth + 1.5)
    assert good.shape == (50,) and np.isfinite(good).all()
    assert good.mean() < shifted.mean()
    assert resolve_score(name) is resolve_score(name)


def test_a_score_returning_the_wrong_shape_is_an_error():
    with pytest.raises(ValueError, match="one value per week"):
        per_week("numpy:subtract", OBSERVED, DRAWS)


def test_the_log_score_of_draws_without_spread_is_finite_and_worse_away_from_them():
    constant = np.full((400, 3), 5.0)
    at, near, far = per_week("log", np.array([5.0, 6.0, 50.0]), constant)
    assert np.isfinite([at, near, far]).all()
    assert at < near < far


def test_the_log_score_bandwidth_falls_back_to_the_sd_when_the_interquartile_range_is_zero():
    from bayestune.scores.logscore import silverman_bandwidth

    draws = np.r_[np.zeros(90), np.linspace(-3, 3, 10)][:, None]  # IQR 0, SD > 0
    h = silverman_bandwidth(draws)
    np.testing.assert_allclose(h, 1.06 * draws.std(ddof=1) * 100 ** -0.2)
    assert np.isfinite(per_week("log", np.array([1.0]), draws)).all()
