"""The final stage's refit of the true structure (the honest regret's other half), through the
fake fitter: same training weeks, same test weeks, its own seed; no second fit when the chosen
structure is the true one; a missing structure or a failed fit recorded, never raised."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from bayestune.evaluation.metrics import crps_ensemble
from bayestune.rundir import FinalRecord, read_record, write_record
from bayestune.simulator import read_dataset, simulate, write_dataset
from bayestune.tuning.final import run_final
from bayestune.tuning.model import Candidate, true_candidate
from bayestune.tuning.trial import FINAL_STAGE, fold_seed
from tests.tuning import fakes
from tests.tuning.test_study import config

FAKE = "tests.tuning.fakes:FakeFitter"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = write_dataset(simulate("quickstart", seed=1), tmp_path_factory.mktemp("data") / "q")
    return read_dataset(path)


@pytest.fixture()
def windows():
    fakes.WINDOWS.clear()
    yield fakes.WINDOWS
    fakes.WINDOWS.clear()


def _run(tmp_path, dataset, candidate, fitter=FAKE, **final):
    cfg = config(fitter=fitter, final=config().final.model_dump() | final)
    (tmp_path / "predictions").mkdir(parents=True, exist_ok=True)
    (tmp_path / "fits").mkdir(exist_ok=True)
    result = run_final(candidate, dataset, cfg, tmp_path)
    record = FinalRecord(trial=0, candidate=candidate.to_dict(), **result.to_dict())
    write_record(tmp_path, record)
    return cfg, read_record(tmp_path, FinalRecord)


def test_the_true_structure_is_refitted_on_the_same_weeks_and_scored_per_test_week(dataset, tmp_path, windows):
    truth = true_candidate(dataset.truth)
    chosen = Candidate(truth.yearly_seasonality + 1, truth.l_max)
    lines = []
    cfg = config(fitter=FAKE)
    (tmp_path / "predictions").mkdir()
    (tmp_path / "fits").mkdir()
    result = run_final(chosen, dataset, cfg, tmp_path, say=lines.append)
    final = FinalRecord(trial=0, **result.to_dict())
    o, tt = final.oracle_test, final.train_test
    train_end = dataset.weeks - cfg.final.test_weeks
    # three fits: the chosen structure on the training weeks, the truth on the same weeks, the chosen on all
    assert [(c, n) for c, _, n in windows] == [(chosen, train_end), (truth, train_end), (chosen, dataset.weeks)]
    assert o.state == "COMPLETE" and Candidate(**o.candidate.model_dump()) == truth
    assert o.fit_range == tt.fit_range == (0, train_end) and o.test_range == tt.test_range
    assert o.seed == fold_seed(cfg.seed, FINAL_STAGE, 2) == windows[1][1]
    assert len({w[1] for w in windows}) == 3  # a seed of its own
    assert len(o.test_week_crps) == cfg.final.test_weeks and o.test_crps == pytest.approx(np.mean(o.test_week_crps))
    saved = np.load(tmp_path / o.draws)
    assert np.allclose(crps_ensemble(saved["observed_test"], saved["draws_test"]), o.test_week_crps)
    assert np.array_equal(saved["observed_test"], dataset.data[dataset.columns.target].to_numpy()[train_end:])
    # the fake shifts each prediction by 100 per Fourier order: the truth predicts better
    assert o.test_crps < tt.test_crps
    assert o.strict_gate_passed and o.timings["sample"] > 0
    assert any(line.startswith("final refit of the true structure in ") and "never-searched" in line for line in lines)


def test_a_chosen_structure_that_is_the_truth_is_not_fitted_twice(dataset, tmp_path, windows):
    truth = true_candidate(dataset.truth)
    _, final = _run(tmp_path, dataset, truth)
    assert len(windows) == 2  # the train-only and the full-data fit, no third
    o = final.oracle_test
    assert o.state == "SAME_AS_CHOSEN" and o.seed is None and o.draws is None
    assert o.test_week_crps == final.train_test.test_week_crps and o.test_range == final.train_test.test_range


def test_final_oracle_false_skips_the_refit_and_says_so(dataset, tmp_path, windows):
    _, final = _run(tmp_path, dataset, Candidate(1, 4), oracle=False)
    assert len(windows) == 2
    assert final.oracle_test.state == "SKIPPED" and "final.oracle = false" in final.oracle_test.error


def test_a_failed_refit_or_a_truth_without_structure_is_recorded_not_raised(dataset, tmp_path, windows):
    truth = copy.deepcopy(dataset.truth)
    truth["structure"]["l_max"] = 3  # FailsOnLMax3 raises for the true structure only
    failing = dataclasses.replace(dataset, truth=truth)
    _, final = _run(tmp_path / "a", failing, Candidate(1, 4), fitter="tests.tuning.fakes:FailsOnLMax3")
    o = final.oracle_test
    assert o.state == "FAIL" and o.error == "FloatingPointError: NaN in the log density at initialisation"
    assert final.full_fit.path == "fits/full.nc"  # the final stage went on
    assert not (tmp_path / "a" / "predictions" / "final_oracle_test.npz").exists()

    del truth["structure"]
    _, final = _run(tmp_path / "b", dataclasses.replace(dataset, truth=truth), Candidate(1, 4))
    assert final.oracle_test.state == "FAIL" and "the true structure cannot be refitted: structure" in final.oracle_test.error

    _, final = _run(tmp_path / "c", dataclasses.replace(dataset, truth=None), Candidate(1, 4))
    assert final.oracle_test is None
