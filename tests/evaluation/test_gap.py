"""The train/test gap and the in-sample flag."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bayestune.evaluation.gap import IN_SAMPLE_FLAG, check_train_test, overlap, train_test_section
from bayestune.evaluation.metrics import crps_ensemble


def test_overlap_of_half_open_week_ranges():
    assert overlap((0, 80), (80, 104)) == 0
    assert overlap((0, 104), (80, 104)) == 24
    assert overlap((10, 20), (15, 30)) == 5


def test_an_honest_pair_has_no_flag():
    out = check_train_test((0, 80), (80, 104), 200.0, 300.0)
    assert out["gap"] == 100.0 and out["ratio"] == 1.5
    assert not out["in_sample_test"] and out["flags"] == [] and out["warnings"] == []


def test_an_in_sample_test_score_raises_the_flag():
    """The first seed's final table: refit on all 104 weeks, then 'test' on the last 24."""
    out = check_train_test((0, 104), (80, 104), 250.0, 240.0)
    assert out["in_sample_test"] and out["test_weeks_fitted"] == 24
    assert out["flags"] and out["flags"][0].startswith(IN_SAMPLE_FLAG)
    assert "24 of 24 test weeks were fitted" in out["flags"][0]


def test_a_large_ratio_warns_at_the_configured_threshold():
    assert check_train_test((0, 80), (80, 104), 100.0, 250.0)["warnings"]
    assert not check_train_test((0, 80), (80, 104), 100.0, 250.0, max_ratio=3.0)["warnings"]


def test_the_section_recomputes_the_crps_from_the_saved_draws(tmp_path):
    rng = np.random.default_rng(0)
    obs_fit, obs_test = rng.normal(0, 1, 20), rng.normal(0, 1, 6)
    d_fit, d_test = rng.normal(0, 1, (300, 20)), rng.normal(0.5, 2, (300, 6))
    (tmp_path / "predictions").mkdir()
    np.savez(tmp_path / "predictions" / "f.npz", draws_fit=d_fit, observed_fit=obs_fit,
             draws_test=d_test, observed_test=obs_test)
    train, test = crps_ensemble(obs_fit, d_fit).mean(), crps_ensemble(obs_test, d_test).mean()
    final = {"train_test": {"fit_range": [0, 20], "test_range": [20, 26], "train_crps": train,
                            "test_crps": test, "draws": "predictions/f.npz", "test_weeks_seen_by_fit": False}}
    out = train_test_section(final, tmp_path)
    assert out["recomputed_from_draws_matches_run"] is True
    assert out["ratio"] == pytest.approx(test / train)
    # a run that claims an honest split but fitted the test weeks is still flagged
    lying = json.loads(json.dumps(final))
    lying["train_test"]["fit_range"] = [0, 26]
    assert train_test_section(lying, tmp_path)["in_sample_test"]
    # a wrong stored score is caught by the recomputation
    lying["train_test"]["test_crps"] = test / 2
    assert train_test_section(lying, tmp_path)["recomputed_from_draws_matches_run"] is False
    assert train_test_section(None, tmp_path) == {
        "available": False, "reason": "the run has no final stage (it was tuned with --no-final)"}
