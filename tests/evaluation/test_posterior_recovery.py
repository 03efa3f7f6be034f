"""Reading a saved fit and scoring its recovery, on a small synthetic fit file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from bayestune.evaluation.posterior import FitPosterior
from bayestune.evaluation.recovery import channel_recovery, parameter_recovery
from bayestune.evaluation.runtime import runtime_section
from bayestune.simulator.transforms import geometric_weights, normalise

CHANNELS = ["tv", "search"]


def _fit_file(tmp_path, *, adstock="GeometricAdstock", target_scale=100.0):
    rng = np.random.default_rng(1)
    chains, draws, weeks = 2, 50, 4
    alpha = np.stack([np.full((chains, draws), 0.5), np.full((chains, draws), 0.2)], axis=-1)
    alpha[0, :, 0] = 0.4  # tv: half the draws at 0.4, half at 0.5
    contrib = np.ones((chains, draws, weeks, 2)) * np.array([0.2, 0.1])
    lam = rng.normal([2.0, 3.0], 0.1, (chains, draws, 2))
    posterior = xr.Dataset({
        "adstock_alpha": (("chain", "draw", "channel"), alpha),
        "saturation_lam": (("chain", "draw", "channel"), lam),
        "y_sigma": (("chain", "draw"), rng.normal(0.02, 0.001, (chains, draws))),
        "channel_contribution": (("chain", "draw", "date", "channel"), contrib),
    }, coords={"channel": CHANNELS, "chain": [0, 1], "draw": np.arange(draws),
               "date": np.arange(weeks)})
    prior = xr.Dataset({
        "adstock_alpha": (("chain", "draw", "channel"), rng.uniform(0, 1, (1, 1000, 2))),
        "saturation_lam": (("chain", "draw", "channel"), rng.gamma(3, 1, (1, 1000, 2))),
        "y_sigma": (("chain", "draw"), rng.uniform(0, 0.1, (1, 1000))),
    }, coords={"channel": CHANNELS})
    tree = xr.DataTree.from_dict({
        "posterior": posterior, "prior": prior,
        "constant_data": xr.Dataset({"target_scale": ((), target_scale)}),
    })
    tree.attrs["adstock"] = json.dumps({"__type__": f"pymc_marketing.mmm.components.adstock.{adstock}", "l_max": 3})
    tree.attrs["saturation"] = json.dumps({"__type__": "pymc_marketing.mmm.components.saturation.LogisticSaturation"})
    path = tmp_path / "fit.nc"
    tree.to_netcdf(path)
    return FitPosterior.load(path)


TRUTH = {
    "structure": {"adstock": "geometric", "saturation": "logistic", "l_max": 3, "yearly_seasonality": 1},
    "parameters": {"scaled": {"adstock_alpha": {"tv": 0.5, "search": 0.9}, "saturation_lam": {"tv": 2.0, "search": 3.0},
                              "y_sigma": 0.02, "saturation_beta": {"tv": 1.0, "search": 1.0}},
                   "scales": {"target_scale": 100.0}},
    "roas": {"tv": 2.0, "search": 1.0},
    "contribution_share": {"tv": 0.5, "search": 0.5},
}


def test_a_saved_fit_reads_as_arrays_in_target_units(tmp_path):
    post = _fit_file(tmp_path)
    assert post.channels == CHANNELS and post.n_draws == 100 and post.adstock == ("geometric", 3)
    contrib = post.channel_contributions()
    assert contrib.shape == (100, 4, 2) and np.allclose(contrib[..., 0], 20.0)  # 0.2 x target scale 100
    kernels = post.adstock_kernels
    # tv: half the draws alpha 0.4, half 0.5 -> the mean of the two normalised kernels
    expected = (normalise(geometric_weights(0.4, 3)) + normalise(geometric_weights(0.5, 3))) / 2
    np.testing.assert_allclose(kernels["tv"], expected)
    assert kernels["tv"].sum() == pytest.approx(1.0)


def test_parameter_recovery_uses_only_parameters_shared_with_the_truth(tmp_path):
    post = _fit_file(tmp_path)
    rec = parameter_recovery(post, TRUTH)
    keys = set(rec["parameters"])
    # saturation_beta is in the truth but was not sampled (no prior in the file)
    assert keys == {"adstock_alpha[tv]", "adstock_alpha[search]", "saturation_lam[tv]", "saturation_lam[search]", "y_sigma"}
    a = rec["parameters"]["adstock_alpha[search]"]
    assert a["mean"] == pytest.approx(0.2) and not a["covered"]  # truth 0.9 far from a point mass at 0.2
    assert a["contraction"] == pytest.approx(1.0)  # zero posterior variance
    lam = rec["parameters"]["saturation_lam[tv]"]
    var_post = float(post.tree["posterior"]["saturation_lam"].sel(channel="tv").var())
    var_prior = float(post.tree["prior"]["saturation_lam"].sel(channel="tv").var())
    assert lam["contraction"] == pytest.approx(1 - var_post / var_prior)
    assert 0 <= rec["calibration_error"] <= 0.5


def test_other_forms_or_another_scale_share_nothing(tmp_path):
    post = _fit_file(tmp_path, adstock="DelayedAdstock")
    assert not any(k.startswith("adstock_") for k in parameter_recovery(post, TRUTH)["parameters"])
    (tmp_path / "other").mkdir()
    post = _fit_file(tmp_path / "other", target_scale=50.0)
    assert parameter_recovery(post, TRUTH)["parameters"] == {}


def test_a_true_form_the_fit_does_not_share_skips_its_parameters_and_says_why(tmp_path):
    post = _fit_file(tmp_path)  # logistic saturation, geometric adstock
    for form, reason in (
        ("hill", "the truth's saturation form is hill, the fit's logistic: their saturation_* parameters "
                 "mean different things"),
        ("hill_curve", "the truth's saturation form 'hill_curve' is not one bayestune fits, so its saturation_* "
                       "parameters have no counterpart in the model"),
    ):
        truth = {**TRUTH, "structure": {**TRUTH["structure"], "saturation": form}}
        rec = parameter_recovery(post, truth)
        assert rec["skipped"] == {"saturation_*": reason}
        # everything else is still scored
        assert set(rec["parameters"]) == {"adstock_alpha[tv]", "adstock_alpha[search]", "y_sigma"}
    assert parameter_recovery(post, TRUTH)["skipped"] == {}
    (tmp_path / "other").mkdir()
    rec = parameter_recovery(_fit_file(tmp_path / "other", target_scale=50.0), TRUTH)
    assert rec["skipped"] == {"*": "the fit's target scale 50 is not the truth's 100, so values on "
                                    "PyMC-Marketing's scale are not comparable"}


def test_channel_recovery_on_a_hand_example():
    # 2 weeks, 2 channels, 3 draws; tv contributes 10, 20, 30 per week in the three draws
    contrib = np.zeros((3, 2, 2))
    contrib[:, :, 0] = np.array([10.0, 20.0, 30.0])[:, None]
    contrib[:, :, 1] = 20.0
    spend = np.array([[10.0, 20.0], [10.0, 20.0]])
    true = np.array([[20.0, 20.0], [20.0, 20.0]])
    truth = {"roas": {"tv": 2.0, "search": 1.0}, "contribution_share": {"tv": 0.5, "search": 0.5}}
    out = channel_recovery(contrib, ["tv", "search"], spend, truth, true, level=0.9)
    tv = out["channels"]["tv"]
    # ROAS draws: 20/20, 40/20, 60/20 = 1, 2, 3; mean 2; 90% interval [1.1, 2.9]
    assert tv["roas_mean"] == pytest.approx(2.0) and tv["roas_covered"]
    assert (tv["roas_lo"], tv["roas_hi"]) == pytest.approx((1.1, 2.9))
    # shares: 20/60, 40/80, 60/100 -> mean (1/3 + 1/2 + 3/5) / 3
    assert tv["share_mean"] == pytest.approx((1 / 3 + 1 / 2 + 3 / 5) / 3)
    # search is exact: NRMSE 0 (truth range 0, so it is normalised by the mean)
    assert out["channels"]["search"]["contribution_nrmse"] == 0.0
    with pytest.raises(ValueError, match="disagree"):
        channel_recovery(contrib, ["tv", "search"], spend[:1], truth, true)


def test_runtime_section_sums_phases_and_rates_ess(tmp_path):
    import pandas as pd

    trials = pd.DataFrame({
        "number": [0, 1], "state": ["COMPLETE", "FAIL"],
        "seconds_build": [1.0, 0.5], "seconds_compile": [2.0, None], "seconds_sample": [10.0, None],
        "seconds_predict": [1.0, None], "seconds_total": [14.0, 0.6], "min_ess_bulk": [200.0, None],
        "fold_seeds": ["[1, 2]", "[3]"],
    })
    final = {"full_fit": {"timings": {"build": 1, "compile": 2, "sample": 20, "predict": 0},
                          "diagnostics": {"min_ess_bulk": 400.0}}}
    out = runtime_section(trials, n_folds=2, final=final, oracle=None, environment={"sampler": "numpyro", "cores": 2})
    assert out["totals"]["seconds_build"] == 1.5 and out["totals"]["seconds_sample"] == 10.0
    # 200 effective draws per fold of 5 s sampling (10 s over 2 folds)
    assert out["trials"][0]["ess_per_second"] == pytest.approx(40.0)
    assert out["trials"][1]["ess_per_second"] is None
    assert out["final"]["full_fit"]["ess_per_second"] == pytest.approx(20.0)
    assert out["median_seconds_per_complete_trial"] == 14.0
