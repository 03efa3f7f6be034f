"""The headline and the warnings of a report, from hand-built report sections (no sampling)."""

from __future__ import annotations

import copy

from bayestune.evaluation.report import headline, report_warnings

CHOSEN = {"yearly_seasonality": 2, "l_max": 6, "adstock": "geometric", "saturation": "logistic"}
RHAT_FAILURE = "max R-hat 1.012 > 1.01 (saturation_lam[search])"
ESS_FAILURE = "min bulk ESS 399.6 < 400 (saturation_lam[search])"


def _report() -> dict:
    """A report of 8 trials, 6 completed, whose train-only refit failed the strict gate."""
    passed = {"strict_gate_passed": True, "failures": [], "diagnostics": {}}
    failed = {"strict_gate_passed": False, "failures": [RHAT_FAILURE, ESS_FAILURE], "diagnostics": {}}
    return {
        "run": {"chosen": CHOSEN, "chosen_cv_crps": 254.8, "trials": 8,
                "states": {"COMPLETE": 6, "PRUNED": 2}},
        "truth": {"available": True, "true_structure": CHOSEN,
                  "oracle": {"available": True, "cv_crps": 260.0, "rank": {"rank": 5, "of": 7},
                             "gate_failures": []}},
        "recovery": {"available": False, "reason": "no contributions.csv"},
        "train_test": {"available": True, "train_crps": 200.0, "test_crps": 300.0, "ratio": 1.5,
                       "fit_range": [0, 62], "test_range": [62, 78], "flags": [], "warnings": []},
        "convergence": {"available": True, "train_fit": failed, "full_fit": passed},
        "warnings": [],
    }


def test_the_headline_counts_the_completed_trials_beside_those_run():
    lines = headline(_report())
    assert "best of 6 completed trials (8 run)" in lines[0]
    all_done = copy.deepcopy(_report())
    all_done["run"]["states"] = {"COMPLETE": 8}
    assert "best of 8 trials, all completed" in headline(all_done)[0]


def test_a_train_only_refit_that_fails_the_strict_gate_is_a_warning_and_in_the_headline():
    report = _report()
    report["warnings"] = report_warnings(report)
    assert any(w.startswith("the train-only refit failed the strict convergence gate") and RHAT_FAILURE in w
               and ESS_FAILURE in w and "train/test" in w for w in report["warnings"])
    assert not any("full-data refit" in w for w in report["warnings"])
    text = "\n".join(headline(report))
    assert "Train-only refit (the train/test figures): strict convergence gate FAILED: " + RHAT_FAILURE in text
    assert "Full-data refit: strict convergence gate passed." in text


def test_a_full_data_refit_that_fails_the_strict_gate_is_a_warning_too():
    report = _report()
    report["convergence"]["train_fit"], report["convergence"]["full_fit"] = (
        report["convergence"]["full_fit"], report["convergence"]["train_fit"])
    warnings = report_warnings(report)
    assert len(warnings) == 1 and warnings[0].startswith("the full-data refit failed the strict convergence gate")
    report["warnings"] = warnings
    text = "\n".join(headline(report))
    assert "Train-only refit (the train/test figures): strict convergence gate passed." in text


def test_the_headline_names_another_score_than_crps_with_its_units():
    report = _report()
    report["truth"]["regret"] = {"regret": 0.5, "se": 0.2, "weeks": 12, "equivalent": False}
    assert "cross-validated CRPS 254.8 per week (target units; " in headline(report)[0]
    report["run"] |= {"score": "interval", "crps_units": "score 'interval' (weighted interval score), per week"}
    lines = headline(report)
    assert lines[0].startswith("Chosen: ") and "cross-validated interval score 254.80 per week (score 'interval'" in lines[0]
    assert any(line.startswith("Regret: 0.5 ± 0.2 interval score (chosen minus") for line in lines)
    assert not any("CRPS" in line for line in lines if not line.startswith("Train/test"))


HONEST = {"available": True, "regret": 12.0, "se": 4.0, "z": 3.0, "weeks": 16, "equivalent": False,
          "fit_range": [0, 62], "test_range": [62, 78], "same_structure": False,
          "true_fit_strict_gate_passed": False, "true_fit_strict_gate_failures": [RHAT_FAILURE]}


def test_the_headline_shows_both_regrets_and_which_is_free_of_the_winners_curse():
    report = _report()
    report["truth"]["regret"] = {"regret": -30.0, "se": 10.0, "weeks": 16, "equivalent": False}
    report["truth"]["final_regret"] = HONEST
    lines = headline(report)
    search = next(line for line in lines if line.startswith("Regret: "))
    honest = next(line for line in lines if line.startswith("Honest regret: "))
    assert "-30.0 ± 10.0 CRPS" in search and "where the choice was made" in search
    assert honest.startswith("Honest regret: 12.0 ± 4.0 CRPS (chosen minus true structure, both refitted on the same "
                             "62 weeks, paired over 16 never-searched test weeks): worse than the truth beyond noise.")
    assert "Only this regret is free of the winner's curse" in honest
    same = HONEST | {"same_structure": True, "regret": 0.0, "se": 0.0, "z": 0.0, "equivalent": True}
    report["truth"]["final_regret"] = same
    assert any(line.startswith("Honest regret: exactly 0 CRPS on the 16 never-searched test weeks") for line in headline(report))


def test_a_true_structure_refit_failing_the_strict_gate_is_a_warning():
    report = _report()
    report["truth"]["final_regret"] = HONEST
    assert any(w.startswith("the true structure's final refit failed the strict convergence gate (" + RHAT_FAILURE)
               and w.endswith("the honest regret carries extra MCMC noise") for w in report_warnings(report))
    report["truth"]["final_regret"] = HONEST | {"true_fit_strict_gate_passed": True}
    assert not any("true structure's final refit" in w for w in report_warnings(report))
