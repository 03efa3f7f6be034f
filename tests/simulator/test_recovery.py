"""Real sampling: the truth is expressed in a form a fitted PyMC-Marketing model is compared against."""

from __future__ import annotations

import numpy as np
import pymc_marketing.mmm as pmm
import pytest

from bayestune.simulator import simulate
from bayestune.simulator.transforms import ADSTOCK_FORMS, SATURATION_FORMS


@pytest.mark.slow
def test_fitting_the_true_structure_recovers_every_channels_roas():
    sim = simulate("recovery", seed=7)
    t = sim.truth
    cols, s = t["columns"], t["structure"]
    mmm = pmm.MMM(
        date_column=cols["date"], channel_columns=cols["channels"], target_column=cols["target"],
        control_columns=cols["controls"],
        adstock=getattr(pmm, ADSTOCK_FORMS[s["adstock"]].pymc_class)(l_max=s["l_max"]),
        saturation=getattr(pmm, SATURATION_FORMS[s["saturation"]].pymc_class)(),
        yearly_seasonality=s["yearly_seasonality"],
    )
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
