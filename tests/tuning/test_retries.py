"""``[gate] retries``: a search fit that fails the convergence gate is made again from a fresh
seed before its trial is pruned. Fits are fakes (:class:`tests.tuning.fakes.FlakyGate`: every
other fit of a fitter object fails with R-hat 1.3)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bayestune.errors import BayestuneError
from bayestune.simulator import read_dataset, simulate, write_dataset
from bayestune.tuning import load_config, tune
from bayestune.tuning.gate import GateThresholds
from bayestune.tuning.lfo import LFOBlock
from bayestune.tuning.model import Candidate, FitSettings
from bayestune.tuning.trial import GateFailed, TrialRecord, fold_seed, run_trial
from tests.conftest import DEMO_TINY
from tests.tuning import fakes

TINY = {k: v for k, v in DEMO_TINY.items() if k != "trials"} | {
    "seed": 5, "quiet": True, "oracle": False, "trials": 3, "folds": 2, "horizon": 4,
    "space": {"yearly_seasonality": [1, 3], "l_max": [3, 6]},
    "final": {"test_weeks": 8, "draws": 60, "tune": 60, "chains": 2},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return read_dataset(write_dataset(simulate("quickstart", seed=1), tmp_path_factory.mktemp("data") / "q"))


def _study(dataset, run, retries, fitter="tests.tuning.fakes:FlakyGate"):
    config = load_config(None, json.loads(json.dumps(TINY)) | {"fitter": fitter, "gate": {"retries": retries}})
    try:
        tune(dataset, config, run, final=False)
    except BayestuneError as exc:  # no trial completed: the message names the remedy
        assert "refit from fresh seeds ([gate] retries, now 0)" in str(exc)
    return pd.read_csv(run / "trials.csv")


def test_a_retry_refits_each_failed_fold_from_a_fresh_seed_and_the_trial_completes(dataset, tmp_path):
    trials = _study(dataset, tmp_path / "run", retries=1)
    assert (trials["state"] == "COMPLETE").all()
    assert (trials["fits"] == 4).all()  # two folds, each fitted twice
    assert (trials["max_rhat"] == 1.0).all()  # the discarded fits' diagnostics are not the trial's
    for _, t in trials.iterrows():
        retried = json.loads(t["gate_retries"])
        assert [r.split(":")[0] for r in retried] == ["fold 0", "fold 1"]
        assert all("R-hat 1.3" in r for r in retried)
        seeds = json.loads(t["fold_seeds"])
        assert seeds == [fold_seed(5, t["number"], 0), fold_seed(5, t["number"], 0, 1),
                         fold_seed(5, t["number"], 1), fold_seed(5, t["number"], 1, 1)]
        assert len(set(seeds)) == 4


def test_without_retries_the_same_fits_prune_every_trial(dataset, tmp_path):
    trials = _study(dataset, tmp_path / "run", retries=0)
    assert (trials["state"] == "PRUNED").all()
    assert trials["pruned_reason"].str.startswith("convergence gate: fold 0: R-hat 1.3").all()
    assert (trials["fits"] == 1).all() and (trials["gate_retries"] == "[]").all()


def test_the_last_retry_that_fails_prunes_the_trial_and_every_attempt_is_recorded(dataset):
    record = TrialRecord(Candidate(2, 6))
    with pytest.raises(GateFailed, match="fold 0: R-hat 1.4"):
        run_trial(Candidate(2, 6), dataset, _rolling(), FitSettings("fake", 1, 1, 1),
                  GateThresholds(0.1, 1.1, 50, retries=2), seed=1, trial_number=0, record=record,
                  fitter=fakes.Rhat14())
    assert record.fits == 3 and len(record.gate_retries) == 2 and len(record.diagnostics) == 1
    assert record.seeds == [fold_seed(1, 0, 0, k) for k in range(3)]


def test_the_oracle_is_not_retried(dataset):
    """A fit scored without the gate enforced (the oracle) is never made again."""
    record = TrialRecord(Candidate(2, 6))
    run_trial(Candidate(2, 6), dataset, _rolling(), FitSettings("fake", 1, 1, 1),
              GateThresholds(0.1, 1.1, 50, retries=3), seed=1, trial_number=0, record=record,
              fitter=fakes.Rhat14(), enforce_gate=False)
    assert record.fits == 2 and not record.gate_retries and len(record.gate_failures) == 2


def test_psis_lfo_retries_its_exact_fits(dataset):
    blocks = [LFOBlock(0, 50, 56), LFOBlock(1, 56, 62)]
    record = TrialRecord(Candidate(2, 6))
    run_trial(Candidate(2, 6), dataset, blocks, FitSettings("fake", 1, 1, 1), GateThresholds(0.9, 1.1, 2, retries=1),
              seed=1, trial_number=0, record=record, fitter=fakes.LFOFlakyGate())
    exact = len(record.diagnostics)
    assert exact >= 1 and record.fits == 2 * exact and len(record.gate_retries) == exact
    assert all(r.startswith("fit ") for r in record.gate_retries)


def test_retries_are_for_search_fits_only_and_not_negative():
    with pytest.raises(BayestuneError, match="retries apply to search fits only"):
        load_config(None, {"final": {"gate": {"retries": 1}}})
    with pytest.raises(BayestuneError, match="retries"):
        load_config(None, {"gate": {"retries": -1}})
    with pytest.raises(ValueError, match="retries must be an integer >= 0"):
        GateThresholds(0.1, 1.1, 50, retries=-1)


def _rolling():
    from bayestune.tuning.folds import Fold

    return [Fold(0, 40, 48), Fold(1, 48, 56)]
