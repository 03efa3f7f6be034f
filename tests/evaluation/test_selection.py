"""Truth scores of a choice, on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from bayestune.evaluation.selection import (
    final_regret,
    flatten_weeks,
    hyperparameter_scores,
    kernel_scores,
    rank_among_trials,
    regret,
)

TRUTH = {"yearly_seasonality": 2, "l_max": 6, "adstock": "geometric", "saturation": "logistic"}


def test_hyperparameter_scores_count_errors_and_exact_matches():
    chosen = {"yearly_seasonality": 3, "l_max": 6, "adstock": "geometric", "saturation": "hill"}
    s = hyperparameter_scores(chosen, TRUTH)
    assert s["yearly_seasonality"] == {"chosen": 3, "true": 2, "abs_error": 1, "exact": False}
    assert s["l_max"] == {"chosen": 6, "true": 6, "abs_error": 0, "exact": True}
    assert s["adstock"]["exact"] and s["adstock"]["abs_error"] is None
    assert not s["saturation"]["exact"]
    assert s["all_exact"] is False
    assert hyperparameter_scores(TRUTH, TRUTH)["all_exact"] is True


def test_regret_is_the_paired_mean_difference_with_its_standard_error():
    # two folds of 2 weeks; differences chosen - true = 1, 3, -1, 5
    chosen = [[11.0, 13.0], [9.0, 15.0]]
    oracle = [[10.0, 10.0], [10.0, 10.0]]
    r = regret(chosen, oracle)
    # mean 2; sample sd of (1, 3, -1, 5) = sqrt(((1)+(1)+(9)+(9))/3) = sqrt(20/3); se = that / 2
    assert r["regret"] == pytest.approx(2.0)
    assert r["se"] == pytest.approx(np.sqrt(20 / 3) / 2)
    assert r["weeks"] == 4 and r["relative"] == pytest.approx(0.2)
    assert r["equivalent"] is True  # |2| <= 1.96 * 1.29
    far = regret([[20.0, 21.0], [22.0, 20.5]], oracle)
    assert far["equivalent"] is False and far["regret"] > 0


def test_regret_refuses_different_weeks():
    with pytest.raises(ValueError, match="different weeks"):
        regret([[1.0, 2.0, 3.0]], [[1.0, 2.0]])


def test_flatten_weeks_keeps_fold_then_week_order():
    assert flatten_weeks([[1, 2], [3]]).tolist() == [1.0, 2.0, 3.0]
    assert flatten_weeks([]).size == 0


def test_rank_of_the_truth_among_trials():
    assert rank_among_trials([5.0, 3.0, 9.0, np.nan], 4.0) == {"rank": 2, "of": 4, "trials_better_than_truth": 1}
    assert rank_among_trials([], 4.0)["rank"] == 1


def test_kernel_scores_forgive_an_l_max_past_the_true_kernel():
    true = {"tv": list(0.3 ** np.arange(6))}
    longer = {"tv": 0.3 ** np.arange(10) / (0.3 ** np.arange(10)).sum()}
    other = {"tv": 0.8 ** np.arange(6) / (0.8 ** np.arange(6)).sum()}
    near = kernel_scores(true, longer, {"tv": 4})
    assert near["channels"]["tv"]["l1"] < 0.01
    assert near["channels"]["tv"] == pytest.approx(
        {"l1": near["channels"]["tv"]["l1"], "fitted_l_max": 10, "true_l_max": 6, "true_effective_l_max": 4})
    assert kernel_scores(true, other)["mean_l1"] > 0.5
    assert kernel_scores({}, other)["channels"]["tv"]["l1"] is None


def _final(chosen_weeks, oracle_weeks, state="COMPLETE", **block):
    tt = {"fit_range": [0, 70], "test_range": [70, 70 + len(chosen_weeks)], "test_week_crps": chosen_weeks,
          "test_crps": float(np.mean(chosen_weeks))}
    return {"train_test": tt, "oracle_test": {
        "state": state, "fit_range": [0, 70], "test_range": [70, 70 + len(oracle_weeks)],
        "test_week_crps": oracle_weeks, "test_crps": float(np.mean(oracle_weeks)) if oracle_weeks else None,
        "strict_gate_passed": True, "strict_gate_failures": []} | block}


def test_the_honest_regret_pairs_the_final_test_weeks():
    chosen, oracle = [12.0, 9.0, 14.0, 11.0], [10.0, 9.0, 11.0, 10.0]
    g = final_regret(_final(chosen, oracle))
    d = np.subtract(chosen, oracle)
    assert g["available"] and g["regret"] == pytest.approx(d.mean())
    assert g["se"] == pytest.approx(d.std(ddof=1) / 2) and g["weeks"] == 4
    assert (g["chosen_test_crps"], g["true_test_crps"]) == (11.5, 10.0) and not g["same_structure"]
    assert "free of the winner's curse" in g["window"]


def test_the_honest_regret_is_exactly_zero_when_the_choice_is_the_truth():
    weeks = [12.0, 9.0, 14.0]
    g = final_regret(_final(weeks, weeks, state="SAME_AS_CHOSEN"))
    assert (g["regret"], g["se"], g["z"], g["equivalent"], g["same_structure"]) == (0.0, 0.0, 0.0, True, True)


def test_the_honest_regret_says_why_it_is_not_available():
    assert final_regret(None)["reason"] == "the run has no final stage (tuned with --no-final)"
    old = _final([1.0, 2.0], [1.0, 2.0])
    del old["oracle_test"]
    assert not final_regret(old)["available"] and "did not refit the true structure" in final_regret(old)["reason"]
    failed = final_regret(_final([1.0, 2.0], [], state="FAIL", error="FloatingPointError: NaN"))
    assert failed == {"available": False, "state": "FAIL", "reason": "FloatingPointError: NaN"}
    other_weeks = _final([1.0, 2.0], [1.0, 2.0])
    other_weeks["oracle_test"]["fit_range"] = [0, 60]
    assert final_regret(other_weeks)["reason"] == "the true structure's final refit used other weeks than the chosen one's"
