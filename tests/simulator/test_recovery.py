"""Real sampling: the truth is expressed in a form a fitted PyMC-Marketing model is compared against."""

from __future__ import annotations

import numpy as np
import pytest

from bayestune.simulator import simulate
from bayestune.simulator.dataset import ColumnRoles
from bayestune.tuning.model import build_mmm, true_candidate


@pytest.mark.slow
def test_fitting_the_true_structure_recovers_every_channels_roas():
    sim = simulate("recovery", seed=7)
    t = sim.truth
    cols = t["columns"]
    mmm = build_mmm(true_candidate(t), ColumnRoles.from_truth(t))
    mmm.fit(
        sim.data.drop(columns=cols["target"]), sim.data[cols["target"]],
        draws=400, tune=400, chains=2, nuts_sampler="numpyro", random_seed=3, progressbar=False,
    )
    post = mmm.idata.posterior
    scale = float(mmm.idata.constant_data["target_scale"])
    assert scale == pytest.approx(t["parameters"]["scales"]["target_scale"])
    total = post["channel_contribution"].sum("date") * scale
    for c in cols["channels"]:
        roas = (total.sel(channel=c) / sim.data[c].sum()).values.ravel()
        low, high = np.quantile(roas, [0.05, 0.95])
        assert low <= t["roas"][c] <= high, (c, low, t["roas"][c], high)
