"""The NumPy reference transforms agree with PyMC-Marketing's own, over random parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytensor.xtensor as ptx
import pytest
from pymc_marketing.mmm import (
    DelayedAdstock,
    GeometricAdstock,
    HillSaturation,
    LogisticSaturation,
    MichaelisMentenSaturation,
    TanhSaturation,
    WeibullCDFAdstock,
    WeibullPDFAdstock,
)
from pymc_marketing.mmm.fourier import YearlyFourier, generate_fourier_modes

from bayestune.simulator import transforms as tf

RNG = np.random.default_rng(20261122)
PYMC_ADSTOCK = {
    "geometric": GeometricAdstock,
    "delayed": DelayedAdstock,
    "weibull_pdf": WeibullPDFAdstock,
    "weibull_cdf": WeibullCDFAdstock,
}
PYMC_SATURATION = {
    "logistic": LogisticSaturation,
    "hill": HillSaturation,
    "michaelis_menten": MichaelisMentenSaturation,
    "tanh": TanhSaturation,
}


def _x(values: np.ndarray) -> ptx.type.XTensorVariable:
    return ptx.as_xtensor(pt.as_tensor_variable(values), dims=("date",))


def _adstock_params(form: str, l_max: int, rng: np.random.Generator) -> dict[str, float]:
    if form == "geometric":
        return {"alpha": rng.uniform(0, 0.99)}
    if form == "delayed":
        return {"alpha": rng.uniform(0.05, 0.99), "theta": rng.uniform(0, l_max - 1)}
    return {"lam": rng.uniform(0.5, 8), "k": rng.uniform(0.5, 4)}


def test_every_registered_form_has_a_pymc_counterpart():
    assert set(tf.ADSTOCK_FORMS) == set(PYMC_ADSTOCK)
    assert set(tf.SATURATION_FORMS) == set(PYMC_SATURATION)
    for name, form in tf.ADSTOCK_FORMS.items():
        cls = PYMC_ADSTOCK[name]
        assert cls.__name__ == form.pymc_class
        assert set(cls(l_max=4).default_priors) == set(form.params)
    for name, form in tf.SATURATION_FORMS.items():
        cls = PYMC_SATURATION[name]
        assert cls.__name__ == form.pymc_class
        assert set(cls().default_priors) == set(form.params)


@pytest.mark.parametrize("form", sorted(tf.ADSTOCK_FORMS))
@pytest.mark.parametrize("draw", range(6))
def test_adstock_matches_pymc_marketing(form, draw):
    rng = np.random.default_rng([draw, len(form)])
    l_max = int(rng.integers(2, 15))
    params = _adstock_params(form, l_max, rng)
    x = rng.gamma(2.0, 1.0, size=40) * (rng.random(40) < 0.7)
    ours = tf.apply_adstock(x, tf.ADSTOCK_FORMS[form].kernel(params, l_max))
    theirs = PYMC_ADSTOCK[form](l_max=l_max).function(_x(x), **params, dim="date").eval()
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("form", sorted(tf.SATURATION_FORMS))
@pytest.mark.parametrize("draw", range(6))
def test_saturation_matches_pymc_marketing(form, draw):
    rng = np.random.default_rng([draw, len(form), 7])
    params = {p: float(rng.uniform(0.2, 5.0)) for p in tf.SATURATION_FORMS[form].params}
    x = np.concatenate([[0.0], rng.uniform(0, 2, size=30)])
    ours = tf.SATURATION_FORMS[form].curve(x, **params)
    theirs = PYMC_SATURATION[form]().function(_x(x), **params).eval()
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("order", [1, 3, 6])
def test_fourier_features_match_pymc_marketing(order):
    dates = pd.date_range("2021-03-01", periods=120, freq="7D")
    assert YearlyFourier(n_order=order).days_in_period == tf.DAYS_IN_YEAR
    periods = _x(dates.day_of_year.to_numpy() / YearlyFourier(n_order=order).days_in_period)
    theirs = np.asarray(generate_fourier_modes(periods, order).eval())
    ours = tf.fourier_features(dates, order)
    names = YearlyFourier(n_order=order).nodes
    assert list(ours.columns) == list(names)
    np.testing.assert_allclose(ours.to_numpy(), theirs, rtol=1e-12, atol=1e-12)


def test_apply_adstock_carries_spend_forward_without_history():
    out = tf.apply_adstock([0, 10, 0, 0, 0], [0.5, 0.3, 0.2])
    np.testing.assert_allclose(out, [0, 5, 3, 2, 0])


@pytest.mark.parametrize(
    ("weights", "expected"),
    [([1.0, 0, 0], 1), ([0.5, 0.5], 2), ([0.9, 0.095, 0.005], 2), (tf.geometric_weights(0.5, 12), 7)],
)
def test_effective_l_max_is_shortest_lag_holding_99_percent(weights, expected):
    assert tf.effective_l_max(weights) == expected
