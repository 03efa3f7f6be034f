"""Every seam in a real study: a plug-in of the example package (``examples/bayestune-example``)
chosen by import path and by entry point, run on tiny settings, named in ``config.toml``.

Sampling is not the point here: the studies fit through fake fitters
(:mod:`tests.tuning.fakes`) or the example's least-squares fitter, both named by the config.
"""

from __future__ import annotations

import json
import tomllib

import numpy as np
import optuna
import pandas as pd
import pytest
import scoringrules as sr

from bayestune.simulator import read_dataset, simulate, write_dataset
from bayestune.tuning import load_config, tune
from bayestune.tuning.selection import scored_trials
from bayestune.tuning.space import suggest
from bayestune.tuning.storage import open_study, storage_url
from tests.conftest import DEMO_TINY

FAKE = "tests.tuning.fakes:FakeFitter"
TINY = {k: v for k, v in DEMO_TINY.items() if k != "trials"} | {
    "seed": 3, "quiet": True, "oracle": False, "fitter": FAKE,
    "space": {"yearly_seasonality": [1, 3], "l_max": [3, 6]},
    "final": {"test_weeks": 8, "draws": 60, "tune": 60, "chains": 2},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return read_dataset(write_dataset(simulate("quickstart", seed=1), tmp_path_factory.mktemp("data") / "q"))


def config(**changes):
    return load_config(None, json.loads(json.dumps(TINY)) | changes)


def recorded(run):
    return tomllib.loads((run / "config.toml").read_text())


@pytest.mark.parametrize("name", ["fewest-lags", "bayestune_example.selection:fewest_lags"])
def test_selection_plugin_chooses_the_trial(dataset, tmp_path, name):
    from bayestune_example.selection import fewest_lags

    run = tmp_path / "run"
    tune(dataset, config(trials=6, selection=name), run, final=False)
    trials = pd.read_csv(run / "trials.csv")
    expected = fewest_lags(scored_trials(trials))
    best = json.loads((run / "best.json").read_text())
    assert best["trial"] == expected.number
    assert best["selection_rule"]["rule"] == name
    assert best["selection"] == "shortest l_max within 2% of the lowest mean score"
    assert recorded(run)["selection"] == name


@pytest.mark.parametrize("name", ["dawid-sebastiani", "bayestune_example.score:dawid_sebastiani"])
def test_score_plugin_scores_every_trial_and_the_oracle(dataset, tmp_path, name):
    run = tmp_path / "run"
    tune(dataset, config(trials=3, score=name, oracle=True), run, final=False)
    trials = pd.read_csv(run / "trials.csv")
    for _, row in trials.iterrows():
        for k, weeks in enumerate(json.loads(row["week_crps"])):
            saved = np.load(run / "predictions" / f"trial{row['number']:04d}_fold{k}.npz")
            np.testing.assert_allclose(weeks, sr.dssuv_ensemble(saved["observed"], saved["draws"].T), rtol=1e-9)
    oracle = json.loads((run / "oracle.json").read_text())
    saved = np.load(run / "predictions" / "oracle_fold0.npz")
    np.testing.assert_allclose(oracle["week_crps"][0], sr.dssuv_ensemble(saved["observed"], saved["draws"].T),
                               rtol=1e-9)
    best = json.loads((run / "best.json").read_text())
    assert best["score"] == name and "Dawid-Sebastiani" in best["crps_units"]
    assert recorded(run)["score"] == name


def test_a_built_in_score_other_than_crps(dataset, tmp_path):
    run = tmp_path / "run"
    tune(dataset, config(trials=2, score="log"), run, final=False)
    row = pd.read_csv(run / "trials.csv").iloc[0]
    saved = np.load(run / "predictions" / f"trial{row['number']:04d}_fold1.npz")
    np.testing.assert_allclose(json.loads(row["week_crps"])[1], sr.logs_ensemble(saved["observed"], saved["draws"].T),
                               rtol=1e-9)


@pytest.mark.parametrize("name", ["least-squares", "bayestune_example.fitter:LeastSquaresFitter"])
def test_fitter_plugin_fits_the_search_and_the_final_stage(dataset, tmp_path, name):
    """The example's least-squares fitter end to end; the final train/test pair stays in CRPS."""
    run = tmp_path / "run"
    result = tune(dataset, config(trials=3, fitter=name, score="interval"), run)
    trials = pd.read_csv(run / "trials.csv")
    assert (trials["state"] == "COMPLETE").all() and (trials["min_ess_bulk"] == 400).all()
    tt = result.final["train_test"]
    saved = np.load(run / "predictions" / "final_train_test.npz")
    assert saved["draws_test"].shape == (400, 8)
    expected = sr.crps_ensemble(saved["observed_test"], saved["draws_test"].T, estimator="fair", backend="numpy")
    assert tt["test_crps"] == pytest.approx(float(np.mean(expected)), rel=1e-9)
    saved_fit = json.loads((run / "fits" / "full.nc").read_text())
    assert saved_fit["columns"] == [*dataset.columns.channels, *dataset.columns.controls]
    assert recorded(run)["fitter"] == name


SAMPLERS = [
    "halton", "bayestune_example.sampler:HaltonSampler", "random", "qmc", "cmaes", "grid",
    {"name": "TPESampler", "kwargs": {"n_startup_trials": 2, "multivariate": True}},
]


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda s: s if isinstance(s, str) else s["name"])
def test_optuna_sampler_proposes_what_the_named_sampler_proposes(dataset, tmp_path, sampler):
    """Shared over the samplers on offer: the study's proposals equal an independent Optuna
    study's with the same sampler and seed, told the same values."""
    from bayestune.tuning.optuna_sampler import make_sampler

    cfg = config(trials=5, optuna_sampler=sampler, pruner={"name": "none"},
                 space={"yearly_seasonality": [1, 2], "l_max": [3, 4]})
    run = tmp_path / "run"
    tune(dataset, cfg, run, final=False)
    trials = pd.read_csv(run / "trials.csv")
    # a grid of 2 x 2 stops the study after its 4 points
    assert len(trials) == (4 if sampler == "grid" else 5)
    s = cfg.optuna_sampler
    replay = optuna.create_study(direction="minimize", sampler=make_sampler(s.name, s.kwargs, cfg.space, cfg.seed))
    for i, row in trials.iterrows():
        t = replay.ask()
        proposed = suggest(t, cfg.space).to_dict()
        assert proposed == {k: (int(row[k]) if k in ("yearly_seasonality", "l_max") else row[k]) for k in proposed}
        if i < len(trials) - 1:  # the last tell would make a grid sampler stop a study outside optimize
            replay.tell(t, float(row["value"]))
    if sampler == "grid":
        assert len({(r.yearly_seasonality, r.l_max) for r in trials.itertuples()}) == 4
    assert recorded(run)["optuna_sampler"]["name"] == s.name


@pytest.mark.parametrize("name", ["patient-median", "bayestune_example.pruner:PatientMedianPruner"])
def test_pruner_plugin_is_the_study_pruner(dataset, tmp_path, name):
    from bayestune_example.pruner import PatientMedianPruner

    cfg = config(trials=2, pruner={"name": name, "kwargs": {"patience": 2}})
    run = tmp_path / "run"
    tune(dataset, cfg, run, final=False)
    study = open_study(storage_url(run, cfg), cfg.seed, cfg)
    assert isinstance(study.pruner, PatientMedianPruner) and study.pruner._patience == 2
    assert recorded(run)["pruner"] == {"name": name, "kwargs": {"patience": 2}, "n_startup_trials": 5,
                                       "n_warmup_steps": 0}


def test_a_pruner_by_optuna_class_name_prunes_and_the_old_keys_still_work(dataset, tmp_path):
    from bayestune.errors import BayestuneError

    run = tmp_path / "run"
    with pytest.raises(BayestuneError, match="no trial completed"):
        tune(dataset, config(trials=2, pruner={"name": "ThresholdPruner", "kwargs": {"upper": 1.0}}), run,
             final=False)
    trials = pd.read_csv(run / "trials.csv")
    assert (trials["pruned_reason"] == "pruned by the pruner after fold 0").all()
    old = config(pruner={"kind": "median", "n_startup_trials": 1})
    assert old.pruner.name == "median" and old.pruner.n_startup_trials == 1
    assert isinstance(open_study("sqlite://", 0, old).pruner, optuna.pruners.MedianPruner)
    assert isinstance(open_study("sqlite://", 0, config(pruner={"kind": "none"})).pruner, optuna.pruners.NopPruner)


def test_worker_processes_resolve_the_names_themselves(dataset, tmp_path):
    """Two spawned workers receive the config's strings and resolve the plug-ins on their own."""
    run = tmp_path / "run"
    tune(dataset, config(trials=3, workers=2, folds=1, score="dawid-sebastiani",
                         fitter="bayestune_example.fitter:LeastSquaresFitter"), run, final=False)
    trials = pd.read_csv(run / "trials.csv")
    assert (run / "study.journal").exists() and 3 <= len(trials) <= 4 and (trials["state"] == "COMPLETE").all()
    assert (trials["min_ess_bulk"] == 400).all(), "fitted by the least-squares plug-in"
    row = trials.iloc[0]
    saved = np.load(run / "predictions" / f"trial{row['number']:04d}_fold0.npz")
    np.testing.assert_allclose(json.loads(row["week_crps"])[0], sr.dssuv_ensemble(saved["observed"], saved["draws"].T),
                               rtol=1e-9)


def test_a_resumed_run_keeps_its_plugins(dataset, tmp_path):
    from bayestune.errors import BayestuneError

    run = tmp_path / "run"
    tune(dataset, config(trials=1, score="bayestune_example.score:dawid_sebastiani"), run, final=False)
    with pytest.raises(BayestuneError, match=r"other settings \(score\)"):
        tune(dataset, config(trials=2, score="crps"), run, final=False)
    # the same name resumes; the selection rule alone may change
    tune(dataset, config(trials=2, score="bayestune_example.score:dawid_sebastiani", selection="fewest-lags"), run,
         final=False)
    assert len(pd.read_csv(run / "trials.csv")) == 2 and recorded(run)["selection"] == "fewest-lags"


def test_a_rolling_step_fits_and_scores_every_fold(dataset, tmp_path):
    """``step`` reaches the study: each trial fits and scores ``folds`` overlapping windows."""
    run = tmp_path / "run"
    tune(dataset, config(trials=2, validation="rolling", folds=4, horizon=2, step=1), run)
    assert recorded(run)["step"] == 1
    trials = pd.read_csv(run / "trials.csv")
    for weeks in trials["week_crps"].map(json.loads):
        assert [len(w) for w in weeks] == [2, 2, 2, 2]
