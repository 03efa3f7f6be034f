"""The tuning loop end to end: real sampling, failures recorded, gate pruning, resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from bayestune.errors import BayestuneError
from tests.conftest import DEMO_TINY
from bayestune.simulator import read_dataset, simulate, write_dataset
from bayestune.tuning import load_config, tune
from bayestune.tuning import trial as trial_module
from bayestune.tuning.model import Candidate, FitSettings, fit, predict
from tests.tuning import fakes

# the shared tiny settings, smaller still, with l_max 3 in reach (the failing-trial test uses it)
TINY = {k: v for k, v in DEMO_TINY.items() if k != "trials"} | {
    "draws": 60, "tune": 60, "seed": 3, "quiet": True,
    "space": {"yearly_seasonality": [1, 3], "l_max": [3, 6]},
    "final": {"test_weeks": 8, "draws": 60, "tune": 60, "chains": 2},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = write_dataset(simulate("quickstart", seed=1), tmp_path_factory.mktemp("data") / "q")
    return read_dataset(path)


def config(**changes):
    data = json.loads(json.dumps(TINY))
    data.update(changes)
    return load_config(None, data)


@pytest.mark.slow
def test_a_small_real_study_writes_a_complete_run_dir(tiny_demo):
    """quickstart, 3 trials of real sampling with tiny settings (the shared tiny demo run)."""
    _, run, _ = tiny_demo
    assert {p.name for p in run.iterdir()} >= {
        "config.toml", "study.db", "trials.csv", "best.json", "final.json", "environment.json", "priors.json", "fits",
        "predictions", "oracle.json",
    }
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 3 and set(trials["state"]) == {"COMPLETE"}
    for col in ("seconds_build", "seconds_compile", "seconds_sample", "seconds_predict", "max_rhat", "min_ess_bulk"):
        assert trials[col].notna().all() and (trials[col] >= 0).all()
    best = json.loads((run / "best.json").read_text())
    assert best["schema"] == "bayestune.best/1" and best["crps"] == pytest.approx(trials["value"].min())
    final = json.loads((run / "final.json").read_text())
    assert final["schema"] == "bayestune.final/1" and final["trial"] == best["trial"]
    tt = final["train_test"]
    assert tt["fit_weeks"] == 70 and tt["test_weeks"] == 8 and not tt["test_weeks_seen_by_fit"]
    assert np.isfinite([tt["train_crps"], tt["test_crps"]]).all()
    assert (run / "fits" / "train.nc").stat().st_size > 0 and (run / "fits" / "full.nc").stat().st_size > 0
    assert "strict_gate_passed" in final["full_fit"]
    env = json.loads((run / "environment.json").read_text())
    assert env["sampler"] == "numpyro" and env["packages"]["pymc-marketing"].startswith("1.3")

    # per-fold CRPS equals an independent computation on the saved predictive draws
    for _, row in trials.iterrows():
        folds = json.loads(row["fold_crps"])
        assert len(folds) == 2
        for k, value in enumerate(folds):
            saved = np.load(run / "predictions" / f"trial{row['number']:04d}_fold{k}.npz")
            independent = sr.crps_ensemble(saved["observed"], saved["draws"].T, estimator="fair", backend="numpy")
            assert value == pytest.approx(float(np.mean(independent)), rel=1e-9)
        assert row["value"] == pytest.approx(np.mean(folds))
    saved = np.load(run / "predictions" / "final_train_test.npz")
    independent = sr.crps_ensemble(saved["observed_test"], saved["draws_test"].T, estimator="fair", backend="numpy")
    assert tt["test_crps"] == pytest.approx(float(np.mean(independent)), rel=1e-9)


FAKE = "tests.tuning.fakes:FakeFitter"
SLEEPY = "tests.tuning.fakes:Sleepy"
"""Sampling replaced through the fitter seam (:mod:`tests.tuning.fakes`)."""


@pytest.fixture()
def fits():
    """The fake fitters' log of fits in this test: (seed, weak reference) per fit."""
    fakes.FITS.clear()
    fakes.ALIVE_AT_FIT.clear()
    yield fakes.FITS
    fakes.FITS.clear()
    fakes.ALIVE_AT_FIT.clear()


def test_a_failing_trial_is_recorded_and_the_study_goes_on(dataset, tmp_path, fits):
    tune(dataset, config(trials=8, fitter="tests.tuning.fakes:FailsOnLMax3"), tmp_path / "run", final=False)
    trials = pd.read_csv(tmp_path / "run" / "trials.csv")
    assert len(trials) == 8
    failed = trials[trials["state"] == "FAIL"]
    assert len(failed) >= 1 and (failed["l_max"] == 3).all()
    assert failed["error"].str.contains("FloatingPointError: NaN in the log density").all()
    assert (trials.loc[trials["l_max"] != 3, "state"] == "COMPLETE").all()


def test_a_trial_failing_the_gate_is_pruned_with_its_reason(dataset, tmp_path, fits):
    strict = json.loads(json.dumps(TINY["gate"])) | {"max_rhat": 1.1}
    with pytest.raises(BayestuneError, match="no trial completed"):
        tune(dataset, config(trials=2, gate=strict, fitter="tests.tuning.fakes:Rhat14"), tmp_path / "run", final=False)
    trials = pd.read_csv(tmp_path / "run" / "trials.csv")
    assert list(trials["state"]) == ["PRUNED", "PRUNED"]
    assert (trials["pruned_reason"] == "convergence gate: fold 0: R-hat 1.40 > 1.10 (adstock_alpha[tv])").all()
    assert (trials["max_rhat"] == 1.4).all()


def test_a_real_gate_failure_is_pruned(dataset, tmp_path):
    """Real sampling with 1 warm-up step cannot reach an ESS of 10 000."""
    from bayestune.tuning.folds import Fold
    from bayestune.tuning.gate import GateThresholds

    cand = Candidate(1, 3)
    settings = FitSettings("numpyro", 20, 5, 2)
    record = trial_module.TrialRecord(cand)
    with pytest.raises(trial_module.GateFailed) as info:
        trial_module.run_trial(cand, dataset, [Fold(0, 60, 64)], settings, GateThresholds(0.5, 5.0, 10_000),
                               seed=1, trial_number=0, record=record)
    assert any("bulk ESS" in r and "< 10000" in r for r in info.value.reasons)


@pytest.mark.slow
def test_the_first_held_out_week_carries_adstock_over_from_the_fitted_weeks(tmp_path):
    sim = simulate("quickstart", seed=2)
    data = sim.data.copy()
    cut = 60
    data.loc[cut - 3 : cut - 1, "tv"] = data["tv"].max() * 1.5  # heavy spend just before the cut
    data.loc[cut:, ["tv", "search"]] = 0.0                      # and none after it
    cols = read_dataset(write_dataset(simulate("quickstart", seed=2), tmp_path / "d")).columns
    mmm, _ = fit(Candidate(2, 6), cols, data.iloc[:cut], FitSettings("numpyro", 150, 150, 2), seed=5)
    with_carry, _ = predict(mmm, cols, data.iloc[cut : cut + 4], seed=1, out_of_sample=True)
    X = data.iloc[cut : cut + 4].drop(columns="y")
    pp = mmm.sample_posterior_predictive(X, include_last_observations=False, extend_idata=False, progressbar=False, random_seed=1)
    without = pp["y"].values.T * float(mmm.idata["constant_data"]["target_scale"])
    # the posterior-mean media effect of week `cut` comes only from the spend before it
    gain = with_carry[:, 0].mean() - without[:, 0].mean()
    assert gain > 3 * with_carry[:, 0].std() / np.sqrt(with_carry.shape[0])
    assert gain > 500  # target units: a visible carry-over, not noise
    assert with_carry[:, 0].mean() > with_carry[:, 3].mean()  # and it decays


@pytest.mark.slow
def test_a_killed_study_resumes_without_repeating_trials(dataset, tmp_path):
    cfg = tmp_path / "tiny.toml"
    import tomli_w

    cfg.write_text(tomli_w.dumps(TINY | {"fitter": "tests.tuning.fakes:SlowFit"}))  # a second a fit
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "bayestune.cli", "tune", "--data", str(dataset.path), "--out", str(run),
           "--config", str(cfg), "--trials", "3", "--folds", "1", "--no-final", "--no-oracle", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        csv = run / "trials.csv"
        if csv.exists() and (pd.read_csv(csv)["state"] == "COMPLETE").sum() >= 1:
            break
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = pd.read_csv(run / "trials.csv")
    done_before = before[before["state"] == "COMPLETE"]
    assert 1 <= len(done_before) < 3

    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=400)
    after = pd.read_csv(run / "trials.csv")
    counted = after[~after["interrupted"]]
    assert len(counted) == 3 and (counted["state"] == "COMPLETE").all()
    # the trials finished before the kill are kept as they were, not re-run
    kept = after.set_index("number").loc[done_before["number"]]
    np.testing.assert_allclose(kept["value"], done_before["value"])
    assert after["interrupted"].sum() == len(after) - 3


def test_fits_are_released_after_each_trial(dataset, tmp_path, fits):
    """Memory must not grow with trials: no fitted model outlives its fold."""
    tune(dataset, config(trials=5, fitter=FAKE), tmp_path / "run", final=False)
    # 5 trials and the oracle trial, 2 folds each; none alive at the next fit
    assert len(fits) == 12 and fakes.ALIVE_AT_FIT == [0] * 12
    assert all(ref() is None for _, ref in fits)


class _Terminal:
    """A stderr that says it is a terminal and keeps what is written."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s
        return len(s)

    def flush(self):
        pass

    def isatty(self):
        return True


@pytest.mark.parametrize("quiet, ci, shown", [(False, None, "bar"), (True, None, None), (False, "true", "lines")])
def test_progress_bar_on_a_terminal_with_the_current_best(dataset, tmp_path, monkeypatch, quiet, ci, shown):
    """A bar on a terminal; in CI a line per trial (as in a log, tests/test_progress.py); quiet: nothing."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    tune(dataset, config(trials=3, quiet=quiet, fitter=FAKE), tmp_path / "run", final=False)
    if shown == "bar":
        assert "3/3" in terminal.text and "best CRPS" in terminal.text
    elif shown == "lines":
        assert "\r" not in terminal.text and terminal.text.count("\ntrial ") + terminal.text.startswith("trial ") == 3
    else:
        assert terminal.text == ""


@pytest.mark.slow
def test_parallel_workers_share_one_journal_storage(dataset, tmp_path):
    """Two worker processes (fits faked through the seam, resolved by each worker): one journal,
    the requested total, no duplicated trial."""
    run = tmp_path / "run"
    tune(dataset, config(trials=3, workers=2, folds=1, fitter=SLEEPY), run, final=False)
    assert (run / "study.journal").exists() and not (run / "study.db").exists()
    trials = pd.read_csv(run / "trials.csv")
    # each worker stops once the total is reached; a trial already in flight on the other
    # worker still finishes, so a run may hold up to workers - 1 extra trials
    assert 3 <= len(trials) <= 4
    assert (trials["state"] == "COMPLETE").all()
    assert trials["number"].is_unique
    # a second call finds the total reached and runs nothing more
    tune(dataset, config(trials=3, workers=2, folds=1, fitter=SLEEPY), run, final=False)
    assert len(pd.read_csv(run / "trials.csv")) == len(trials)


def test_the_oracle_scores_the_true_structure_outside_the_study(dataset, tmp_path, fits):
    lenient = json.loads(json.dumps(TINY["gate"]))
    run = tmp_path / "run"
    tune(dataset, config(trials=2, gate=lenient, fitter="tests.tuning.fakes:Rhat15"), run, final=False)
    oracle = json.loads((run / "oracle.json").read_text())
    truth = dataset.truth["structure"]
    assert oracle["candidate"] == {k: truth[k] for k in ("yearly_seasonality", "l_max", "adstock", "saturation")}
    assert oracle["state"] == "COMPLETE" and len(oracle["week_crps"]) == 2
    assert oracle["value"] == pytest.approx(np.mean(np.concatenate(oracle["week_crps"])))
    assert sorted(p.name for p in (run / "predictions").glob("oracle_fold*.npz")) == ["oracle_fold0.npz", "oracle_fold1.npz"]
    # never in the study, so never selectable
    assert len(pd.read_csv(run / "trials.csv")) == 2
    # a gate failure does not stop the reference: it is scored and the failure recorded
    strict = lenient | {"max_rhat": 1.1}
    run2 = tmp_path / "run2"
    with pytest.raises(BayestuneError, match="no trial completed"):
        tune(dataset, config(trials=1, gate=strict, fitter="tests.tuning.fakes:Rhat15"), run2, final=False)
    oracle = json.loads((run2 / "oracle.json").read_text())
    assert oracle["state"] == "COMPLETE" and oracle["gate_failures"][0].startswith("fold 0: R-hat 1.50 > 1.10")


def test_no_oracle_without_truth_or_when_turned_off(dataset, tmp_path, fits):
    import dataclasses

    own = dataclasses.replace(dataset, truth=None)
    tune(own, config(trials=1, fitter=FAKE), tmp_path / "own", final=False)
    assert not (tmp_path / "own" / "oracle.json").exists()
    tune(dataset, config(trials=1, oracle=False, fitter=FAKE), tmp_path / "off", final=False)
    assert not (tmp_path / "off" / "oracle.json").exists()


def test_the_selection_rule_chooses_the_best_trial_and_can_change_on_resume(dataset, tmp_path, fits):
    from bayestune.tuning.selection import scored_trials, select, simplicity

    run = tmp_path / "run"
    tune(dataset, config(trials=6, oracle=False, fitter=FAKE), run, final=False)
    trials = pd.read_csv(run / "trials.csv")
    done = trials[trials["state"] == "COMPLETE"]
    lowest = json.loads((run / "best.json").read_text())
    assert lowest["trial"] == int(done.loc[done["value"].idxmin(), "number"])
    assert lowest["selection_rule"]["rule"] == "lowest"

    result = tune(dataset, config(trials=6, oracle=False, selection="one-se", fitter=FAKE), run, final=False)
    best = json.loads((run / "best.json").read_text())
    assert best["selection_rule"]["rule"] == "one-se" and best["selection_rule"]["lowest_trial"] == lowest["trial"]
    expected = select(scored_trials(trials), "one-se")
    assert best["trial"] == expected.chosen.number and best["selection_rule"]["within_one_se"] == expected.within
    chosen = done[done["number"] == best["trial"]].iloc[0]
    for _, t in done[done["number"].isin(expected.within)].iterrows():
        assert simplicity(chosen) <= simplicity(t)
    assert result.best.to_dict() == {k: (int(chosen[k]) if k in ("yearly_seasonality", "l_max") else chosen[k])
                                     for k in ("yearly_seasonality", "l_max", "adstock", "saturation")}


def test_replicate_refits_average_the_top_candidates_and_resume(dataset, tmp_path, fits, capsys):
    from bayestune.tuning.replicates import top_trials
    from bayestune.tuning.storage import open_study, storage_url

    run = tmp_path / "run"
    folds = TINY["folds"]
    result = tune(dataset, config(trials=6, oracle=False, replicates=2, replicate_top=3, fitter=FAKE), run,
                  final=False)
    seeds = [seed for seed, _ in fits]
    assert len(seeds) == (6 + 3 * 2) * folds
    assert len(set(seeds)) == len(seeds), "every fit has its own seed"
    reps = json.loads((run / "replicates.json").read_text())
    trials = pd.read_csv(run / "trials.csv").set_index("number")
    study = open_study(storage_url(run, config(fitter=FAKE)), 3, config(fitter=FAKE))
    top = [t.number for t in top_trials(study, 3)]
    assert reps["top"] == top and len(reps["fits"]) == 6
    assert sorted({f["trial"] for f in reps["fits"]}) == sorted(top)
    # the choice: the lowest CRPS averaged over each top trial's three fits, recomputed here
    mean = {n: np.mean([np.mean(np.concatenate(json.loads(trials.loc[n, "week_crps"])))]
                       + [np.mean(np.concatenate(f["week_crps"])) for f in reps["fits"] if f["trial"] == n])
            for n in top}
    best = json.loads((run / "best.json").read_text())
    assert best["trial"] == min(mean, key=mean.get)
    assert best["crps_replicate_mean"] == pytest.approx(mean[best["trial"]])
    assert best["crps"] == pytest.approx(trials.loc[best["trial"], "value"]) == pytest.approx(result.best_crps)
    summary = best["selection_rule"]["replicates"]
    assert summary["fits"] == 6 and summary["candidates"] == top and summary["seconds"] > 0
    assert len(summary["per_trial"][str(top[0])]["values"]) == 3 and summary["mcmc_sd_median"] > 0
    assert "averaged over replicate refits" in best["selection"]

    fits.clear()
    tune(dataset, config(trials=6, oracle=False, replicates=2, replicate_top=3, fitter=FAKE), run, final=False)
    assert fits == [], "a resumed run reuses its replicate refits"
    tune(dataset, config(trials=6, oracle=False, replicates=3, replicate_top=3, fitter=FAKE), run, final=False)
    assert len(fits) == 3 * folds, "one more replicate of each top candidate"
    tune(dataset, config(trials=6, oracle=False, fitter=FAKE), run, final=False)
    assert "replicates" not in json.loads((run / "best.json").read_text())["selection_rule"]

    from bayestune.cli import main

    fits.clear()
    capsys.readouterr()
    assert main(["tune", "--data", str(dataset.path), "--out", str(run), "--config", str(run / "config.toml"),
                 "--replicates", "3", "--no-final"]) == 0
    assert fits == []
    assert "Replicate refits: 9 more trial(s), 3 candidate(s) x 3 seed(s), in " in capsys.readouterr().out


def test_resuming_a_run_from_before_final_json_keeps_its_final_stage(dataset, tmp_path, fits):
    """An older ``best.json`` held the final stage under ``"final"``; the resumed search rewrites
    ``best.json`` in the current layout, so the final stage moves to ``final.json`` first."""
    from tests.test_rundir import FINAL

    run = tmp_path / "run"
    tune(dataset, config(trials=2, oracle=False, fitter=FAKE), run, final=False)
    best = json.loads((run / "best.json").read_text())
    old = {k: v for k, v in best.items() if k != "schema"} | {"final": FINAL}
    (run / "best.json").write_text(json.dumps(old))
    assert not (run / "final.json").exists()
    tune(dataset, config(trials=3, oracle=False, fitter=FAKE), run, final=False)
    final = json.loads((run / "final.json").read_text())
    assert final["schema"] == "bayestune.final/1" and final["trial"] == best["trial"]
    assert final["train_test"]["test_crps"] == FINAL["train_test"]["test_crps"]
    assert final["full_fit"] == FINAL["full_fit"]
    assert "final" not in json.loads((run / "best.json").read_text())


def test_resuming_with_another_worker_count_keeps_the_run_dirs_storage(dataset, tmp_path, fits):
    """``workers`` may change on resume; the storage is the file the run dir holds, not the one
    a new run with that many workers would get (which would be another, empty study)."""
    import optuna

    from bayestune.tuning.storage import STUDY_NAME, counted, open_study, storage_url

    run = tmp_path / "run"
    tune(dataset, config(trials=2, oracle=False, fitter=FAKE), run, final=False)
    url = storage_url(run, config(workers=3, fitter=FAKE))
    assert url.endswith("study.db") and counted(open_study(url, 3, config(fitter=FAKE))) == 2
    # a run dir whose study is a journal (it was made with several workers), resumed with one
    journal = tmp_path / "journal"
    journal.mkdir()
    for name in ("config.toml", "dataset.json"):
        (journal / name).write_bytes((run / name).read_bytes())
    optuna.copy_study(from_study_name=STUDY_NAME, from_storage=f"sqlite:///{run / 'study.db'}",
                      to_storage=optuna.storages.JournalStorage(
                          optuna.storages.journal.JournalFileBackend(str(journal / "study.journal"))))
    tune(dataset, config(trials=3, oracle=False, fitter=FAKE), journal, final=False)
    assert not (journal / "study.db").exists()
    assert len(pd.read_csv(journal / "trials.csv")) == 3
