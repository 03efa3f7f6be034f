"""The simulator: reproducible, internally consistent, and expressed the way PyMC-Marketing fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytest

from bayestune.simulator import preset_names, simulate, write_dataset
from bayestune.simulator.generate import TRUTH_SCHEMA
from bayestune.simulator.scenario import scenario_from_dict
from bayestune.simulator.dataset import ColumnRoles
from bayestune.tuning.model import build_mmm, true_candidate

from tests.simulator.scenarios import small_scenario


def _files(path):
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_same_seed_gives_byte_identical_files(tmp_path):
    for name in ("a", "b"):
        write_dataset(simulate("seed-blog", seed=11), tmp_path / name)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert set(first) == {"data.csv", "truth.json", "contributions.csv", "components.csv"}
    assert first == second


def test_different_seed_gives_different_data():
    a, b = simulate("seed-blog", seed=1), simulate("seed-blog", seed=2)
    assert not np.allclose(a.data["y"], b.data["y"])
    assert not np.allclose(a.data["tv"], b.data["tv"])
    assert a.truth["roas"] != b.truth["roas"]


@pytest.mark.parametrize("preset", preset_names())
def test_components_add_up_to_the_target(preset):
    sim = simulate(preset, seed=5)
    parts = sim.components.drop(columns="date").sum(axis=1)
    media = sim.contributions.drop(columns="date").sum(axis=1)
    np.testing.assert_allclose(parts + media, sim.data["y"], rtol=1e-12)
    assert (sim.data[sim.truth["columns"]["channels"]] >= 0).all().all()


@pytest.mark.parametrize("preset", preset_names())
def test_roas_and_shares_follow_from_the_contributions(preset):
    sim = simulate(preset, seed=3)
    channels = sim.truth["columns"]["channels"]
    contrib = sim.contributions[channels].sum()
    for c in channels:
        assert sim.truth["roas"][c] == pytest.approx(contrib[c] / sim.data[c].sum(), rel=1e-12)
        assert sim.truth["contribution_share"][c] == pytest.approx(contrib[c] / contrib.sum(), rel=1e-12)
    assert sum(sim.truth["contribution_share"].values()) == pytest.approx(1.0)


def test_truth_holds_every_documented_key(quickstart):
    t = quickstart.truth
    assert t["schema"] == TRUTH_SCHEMA
    assert {"name", "seed", "spec"} <= set(t["scenario"])
    assert set(t["columns"]) == {"date", "target", "channels", "controls"}
    assert {"adstock", "l_max", "saturation", "yearly_seasonality"} <= set(t["structure"])
    assert {"original", "scaled", "scales"} <= set(t["parameters"])
    for key in ("roas", "contribution_share", "adstock_kernel", "effective_l_max"):
        assert set(t[key]) == set(t["columns"]["channels"])
    for c, kernel in t["adstock_kernel"].items():
        assert len(kernel) == t["structure"]["l_max"]
        assert sum(kernel) == pytest.approx(1.0)
        assert 1 <= t["effective_l_max"][c] <= t["structure"]["l_max"]
    # the spec round-trips: the truth alone reproduces the dataset
    again = simulate(scenario_from_dict(t["scenario"]["spec"], "truth"), seed=t["scenario"]["seed"])
    pd.testing.assert_frame_equal(again.data, quickstart.data)


def test_misspecified_preset_says_what_the_mmm_cannot_express():
    t = simulate("misspecified", seed=0).truth
    assert t["structure"]["well_specified"] is False
    joined = " ".join(t["structure"]["misspecifications"])
    for word in ("trend", "multiplicative", "Student-t"):
        assert word in joined
    assert simulate("quickstart", seed=0).truth["structure"]["well_specified"] is True


def _mmm_mu_at_truth(sim) -> np.ndarray:
    """PyMC-Marketing's own mean, evaluated with every parameter fixed at the scaled truth."""
    t = sim.truth
    cols = t["columns"]
    mmm = build_mmm(true_candidate(t), ColumnRoles.from_truth(t))
    X = sim.data.drop(columns=cols["target"])
    mmm.build_model(X, sim.data[cols["target"]])
    model = mmm.model
    scaled = t["parameters"]["scaled"]
    values = {}
    for rv in model.free_RVs:
        truth = scaled[rv.name]
        if isinstance(truth, dict):
            dim = model.named_vars_to_dims[rv.name][0]
            truth = [truth[str(k)] for k in model.coords[dim]]
        values[rv] = np.asarray(truth, dtype=float)
    fixed = pm.do(model, values)
    return np.asarray(fixed["mu"].eval()) * t["parameters"]["scales"]["target_scale"]


@pytest.mark.parametrize(
    ("adstock", "saturation"),
    [("geometric", "logistic"), ("delayed", "hill"), ("weibull_pdf", "michaelis_menten"),
     ("weibull_cdf", "tanh")],
)
def test_pymc_marketing_reproduces_the_noise_free_target_at_the_scaled_truth(adstock, saturation):
    sim = simulate(small_scenario(adstock, saturation), seed=4)
    expected = sim.data["y"] - sim.components["noise"]
    np.testing.assert_allclose(_mmm_mu_at_truth(sim), expected, rtol=1e-9)
