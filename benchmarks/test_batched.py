"""The batched sampler fits each window as its own fit would: posterior means against nutpie's.

Two windows of one structure (quickstart's truth, seed 1), fitted once in one vmapped program
(:func:`bayestune.tuning.batched.sample`) and once each by the ``pymc-marketing-nutpie``
fitter; every parameter's posterior mean, on the unconstrained scale, must agree within four
combined Monte Carlo standard errors. Here and not in ``tests/``: the vmapped program takes
about half a minute to compile on 2 cores. The log density itself is checked, without
sampling, by ``tests/tuning/test_batched.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayestune.simulator import simulate
from bayestune.simulator.dataset import ColumnRoles
from bayestune.tuning.batched import batched_density, padded_windows, sample
from bayestune.tuning.compiled import ProgramCache
from bayestune.tuning.fitters.pymc_marketing_nutpie import PyMCMarketingNutpieFitter
from bayestune.tuning.model import Candidate, FitSettings, build_mmm, quiet_sampling

TRUE = Candidate(2, 6, "geometric", "logistic")
ENDS = (46, 62)
SETTINGS = FitSettings("numpyro", draws=500, tune=500, chains=2)
UNCONSTRAIN = {"_logodds__": lambda x: np.log(x) - np.log1p(-x), "_log__": np.log}


def _unconstrained(posterior, name):
    """nutpie's draws of the parameter behind value variable ``name``, on the sampler's scale."""
    for suffix, forward in UNCONSTRAIN.items():
        if name.endswith(suffix):
            return forward(np.asarray(posterior[name.removesuffix(suffix)].values))
    return np.asarray(posterior[name].values)


def _mean_and_mcse(draws):
    import arviz as az

    return np.mean(draws, axis=(0, 1)), np.asarray(az.mcse(draws, method="mean"))


@pytest.mark.slow
def test_batched_posteriors_agree_with_separate_nutpie_fits():
    sim = simulate("quickstart", seed=1)
    cols = ColumnRoles.from_truth(sim.truth)
    mmm = build_mmm(TRUE, cols)
    with quiet_sampling():
        mmm.build_model(sim.data.drop(columns=cols.target), sim.data[cols.target])
    density = batched_density(mmm.model)
    data, mask = padded_windows(cols, sim.data, ENDS)
    out = sample(density, data, mask, tune=SETTINGS.tune, draws=SETTINGS.draws, chains=SETTINGS.chains, seed=3)
    assert out.posterior["y_sigma_log__"].shape == (len(ENDS), SETTINGS.chains, SETTINGS.draws)
    assert out.compile_seconds > 0
    fitter = PyMCMarketingNutpieFitter(ProgramCache())
    for k, end in enumerate(ENDS):
        fitted, _ = fitter.fit(TRUE, cols, sim.data.iloc[:end], SETTINGS, 7 + k)
        posterior = fitted.idata["posterior"]
        for name in density.value_names:
            mean_b, se_b = _mean_and_mcse(out.posterior[name][k])
            mean_n, se_n = _mean_and_mcse(_unconstrained(posterior, name))
            assert np.all(np.abs(mean_b - mean_n) <= 4 * np.hypot(se_b, se_n)), (end, name, mean_b, mean_n)
    sigma = out.posterior["y_sigma_log__"]
    again = sample(density, data, mask, tune=SETTINGS.tune, draws=SETTINGS.draws, chains=SETTINGS.chains, seed=3)
    assert again.compile_seconds == 0
    np.testing.assert_array_equal(again.posterior["y_sigma_log__"], sigma)
