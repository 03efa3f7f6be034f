"""PSIS-LFO (``validation = "lfo"``): the weighted scores, the plan and the refit bookkeeping.

Fits are fakes (:mod:`tests.tuning.fakes`' ``LFO*``); the check against exact refits with real
sampling is ``test_lfo_real.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from bayestune.errors import BayestuneError
from bayestune.scores import per_week
from bayestune.scores.weighted import normalised, resample, weighted_crps, weighted_per_week
from bayestune.simulator import read_dataset, simulate, write_dataset
from bayestune.tuning import load_config, tune
from bayestune.tuning.folds import fold_plan
from bayestune.tuning.gate import GateThresholds
from bayestune.tuning.lfo import LFOBlock, psis
from bayestune.tuning.model import Candidate, FitSettings
from bayestune.tuning.trial import TrialRecord, run_trial
from tests.tuning import fakes

RNG = np.random.default_rng(3)
DRAWS = RNG.normal(1000.0, 120.0, size=(300, 7))
OBSERVED = RNG.normal(1000.0, 150.0, size=7)
LOG_WEIGHTS = RNG.normal(0.0, 1.5, size=(300, 7))


def test_the_weighted_crps_of_equal_weights_is_the_fair_crps():
    np.testing.assert_allclose(weighted_crps(OBSERVED, DRAWS, np.ones_like(DRAWS)), per_week("crps", OBSERVED, DRAWS),
                               rtol=1e-12)
    np.testing.assert_allclose(weighted_per_week("crps", OBSERVED, DRAWS, np.zeros_like(DRAWS)),
                               per_week("crps", OBSERVED, DRAWS), rtol=1e-12)


def test_the_weighted_crps_is_the_brute_force_double_sum_and_scoringrules():
    w = normalised(LOG_WEIGHTS)
    ours = weighted_per_week("crps", OBSERVED, DRAWS, LOG_WEIGHTS)
    for k in range(OBSERVED.size):
        x, wk = DRAWS[:, k], w[:, k]
        pairs = np.sum(wk[:, None] * wk[None, :] * np.abs(x[:, None] - x[None, :]))
        brute = np.sum(wk * np.abs(x - OBSERVED[k])) - pairs / (2 * (1 - np.sum(wk**2)))
        assert ours[k] == pytest.approx(brute, rel=1e-10)
    expected = sr.crps_ensemble(OBSERVED, DRAWS.T, ens_w=w.T, estimator="fair", backend="numpy")
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_a_score_without_a_weighted_form_scores_the_resampled_predictive():
    # equal weights resample every draw once: the unweighted score
    np.testing.assert_allclose(weighted_per_week("interval", OBSERVED, DRAWS, np.zeros_like(DRAWS)),
                               per_week("interval", OBSERVED, DRAWS), rtol=1e-12)
    # all the weight on one draw: the ensemble is that draw, m times
    lw = np.full_like(DRAWS, -np.inf)
    lw[5] = 0.0
    np.testing.assert_array_equal(resample(DRAWS, normalised(lw)), np.repeat(DRAWS[5:6], 300, axis=0))
    np.testing.assert_allclose(weighted_per_week("interval", OBSERVED, DRAWS, lw), np.abs(OBSERVED - DRAWS[5]),
                               rtol=1e-12)


def test_psis_smooths_with_arviz_stats_and_flags_degenerate_weights():
    flat, k_flat = psis(np.zeros(400))
    assert k_flat == 0.0 and np.allclose(np.exp(flat), 1 / 400)
    mild, k_mild = psis(RNG.normal(0, 0.3, 400))
    spiky, k_spiky = psis(RNG.normal(0, 3.0, 400))
    assert k_mild < 0.5 < 0.7 < k_spiky
    assert np.exp(mild).sum() == pytest.approx(1.0) and np.exp(spiky).sum() == pytest.approx(1.0)
    # the weights follow the ratios: the draw with the largest ratio weighs most
    ratios = RNG.normal(0, 0.5, 400)
    assert np.argmax(psis(ratios)[0]) == np.argmax(ratios)
    assert psis(-((RNG.normal(0, 200, 400)) ** 2) / 2)[1] > 10  # a likelihood far more peaked than the draws


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return read_dataset(write_dataset(simulate("quickstart", seed=1), tmp_path_factory.mktemp("data") / "q"))


BASE = {"trials": 2, "folds": 2, "horizon": 6, "quiet": True, "validation": "lfo", "fitter": "tests.tuning.fakes:LFOFake",
        "space": {"yearly_seasonality": [1, 3], "l_max": [4, 7]}, "pruner": {"kind": "none"},
        "gate": {"max_rhat": 3.0, "min_ess": 2, "max_divergence_rate": 0.9}, "final": {"test_weeks": 8}}


def config(**changes):
    return load_config(None, json.loads(json.dumps(BASE)) | changes)


def test_the_plan_scores_the_rolling_folds_weeks_in_blocks(dataset):
    blocks = fold_plan(dataset.weeks, config())
    rolling = fold_plan(dataset.weeks, config(validation="rolling"))
    assert all(isinstance(b, LFOBlock) for b in blocks) and len(blocks) == 2
    assert [(b.train_end, b.test_end) for b in blocks] == [(f.train_end, f.test_end) for f in rolling] == [(58, 64), (64, 70)]
    ahead = fold_plan(dataset.weeks, config(lfo={"min_history": 40, "ahead": 3}))
    assert ahead[0].train_end == 42 and ahead[-1].test_end == 70 and {b.ahead for b in ahead} == {3}
    with pytest.raises(BayestuneError, match="too few weeks for validation \"lfo\""):
        fold_plan(dataset.weeks, config(lfo={"min_history": 3}))


def test_lfo_needs_a_fitter_with_a_log_likelihood():
    with pytest.raises(BayestuneError, match=r"fitter 'pymc-marketing' has none; use fitter = \"pymc-marketing-nutpie\""):
        config(fitter="pymc-marketing")
    config(fitter="pymc-marketing-nutpie")


def _run(dataset, fitter, tmp_path, ahead=1, threshold=0.7):
    blocks = [LFOBlock(0, 50, 60, ahead=ahead, k_threshold=threshold), LFOBlock(1, 60, 70, ahead=ahead, k_threshold=threshold)]
    record = TrialRecord(Candidate(2, 6))
    fakes.WINDOWS.clear()
    value = run_trial(Candidate(2, 6), dataset, blocks, FitSettings("fake", 1, 1, 1), GateThresholds(0.9, 3.0, 2),
                      seed=1, trial_number=0, record=record, predictions_dir=tmp_path, fitter=fitter)
    return value, record, [n for _, _, n in fakes.WINDOWS]


def _refit_origins(record, weeks, ahead):
    """The origins where k̂ says a refit was due: past the threshold, or too degenerate to smooth."""
    ks = [k for block in record.pareto_k for k in block]
    return [w - ahead + 1 for w, k in list(zip(weeks, ks, strict=True))[1:] if k is None or k > 0.7]


@pytest.mark.parametrize(("fitter", "ahead"), [(fakes.LFOFake, 1), (fakes.LFOFake, 3), (fakes.LFOPeaked, 1)])
def test_refits_happen_exactly_where_k_hat_passes_the_threshold(dataset, tmp_path, fitter, ahead):
    value, record, windows = _run(dataset, fitter(), tmp_path, ahead=ahead)
    refits = _refit_origins(record, range(50, 70), ahead)
    assert windows == [50 - ahead + 1, *refits] and record.fits == 1 + len(refits) == len(record.seeds)
    assert record.pareto_k[0][0] is None  # the first week is the first fit's
    assert value == pytest.approx(np.mean(np.concatenate(record.week_crps)))
    # each week's score is the weighted CRPS of its saved draws and weights
    for b, block in enumerate(record.week_crps):
        saved = np.load(tmp_path / f"trial0000_fold{b}.npz")
        np.testing.assert_allclose(block, weighted_crps(saved["observed"], saved["draws"], np.exp(saved["log_weights"])),
                                   rtol=1e-9)


def test_a_peaked_likelihood_refits_nearly_every_week_and_a_flat_one_never(dataset, tmp_path):
    _, peaked, _ = _run(dataset, fakes.LFOPeaked(), tmp_path)
    ks = [k for block in peaked.pareto_k for k in block if k is not None]
    assert peaked.fits >= 15 and max(ks) > 10
    _, flat, windows = _run(dataset, fakes.LFOFlat(), tmp_path)
    assert windows == [50] and flat.fits == 1
    assert all(k <= 0.7 for k in [k for block in flat.pareto_k for k in block][1:])


def test_a_study_records_the_scores_k_hats_and_fits_in_trials_csv(dataset, tmp_path):
    run = tmp_path / "run"
    tune(dataset, config(), run, final=False)
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 2 and set(trials["state"]) == {"COMPLETE"}
    for _, t in trials.iterrows():
        weeks, ks = json.loads(t["week_crps"]), json.loads(t["pareto_k"])
        assert [len(w) for w in weeks] == [len(k) for k in ks] == [6, 6]
        flat = [k for block in ks for k in block]
        assert t["fits"] == 1 + sum(k is None or k > 0.7 for k in flat[1:])
        assert t["value"] == pytest.approx(np.mean(np.concatenate(weeks)))
    oracle = json.loads((run / "oracle.json").read_text())
    assert [len(w) for w in oracle["week_crps"]] == [6, 6]


def test_the_command_line_refuses_lfo_without_a_log_likelihood_in_one_line(tmp_path, capsys):
    from bayestune.cli import main

    assert main(["tune", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "run"), "--validation", "lfo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("bayestune: error:") and "pymc-marketing-nutpie" in err
    assert not (tmp_path / "run").exists()
