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
