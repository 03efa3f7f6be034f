"""When no trial completes, the error says why, how often, and what to change."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bayestune.errors import BayestuneError
from bayestune.tuning import load_config, tune
from bayestune.tuning.failures import why_none_completed
from tests.tuning.test_study import TINY, config, dataset  # noqa: F401


def _frame(*rows):
    """trials.csv rows: (state, pruned_reason, error[, interrupted])."""
    return pd.DataFrame([{"state": r[0], "pruned_reason": r[1], "error": r[2],
                          "interrupted": r[3] if len(r) > 3 else False} for r in rows])


GATE = "convergence gate: fold {}: "


def test_each_gate_reason_is_counted_once_per_trial_with_its_remedy():
    frame = _frame(
        ("PRUNED", GATE.format(0) + "bulk ESS 31 < 50 (saturation_lam[tv])", None),
        ("PRUNED", GATE.format(1) + "R-hat 1.32 > 1.10 (adstock_alpha[tv]); bulk ESS 12 < 50 (y_sigma)", None),
        ("PRUNED", GATE.format(0) + "R-hat skipped: needs at least 2 chains, got 1; bulk ESS 40 < 50 (x)", None),
        ("PRUNED", GATE.format(0) + "divergences 12.5% > 10.0%", None),
    )
    text = why_none_completed(frame, load_config(None, {"draws": 300, "tune": 200}))
    parts = text.split("; ")
    assert parts[0] == "bulk ESS < 50 in 3 of 4 trials: raise --draws/--tune (now 300/200) or lower [gate] min_ess"
    assert ("R-hat > 1.10 in 1 of 4 trials: raise --draws/--tune (now 300/200), refit from fresh seeds ([gate] retries, "
            "now 0) or raise [gate] max_rhat") in parts
    assert ("divergences > 10.0% in 1 of 4 trials: raise --tune (now 200) or raise [gate] max_divergence_rate"
            in parts)
    assert "skipped" not in text


def test_the_pruner_errors_and_kills_each_have_their_remedy():
    frame = _frame(
        ("PRUNED", "pruned by the pruner after fold 1", None),
        ("FAIL", None, "FloatingPointError: NaN in the log density at initialisation"),
        ("FAIL", None, "FloatingPointError: NaN in the log density at initialisation"),
        ("FAIL", None, None, True),
    )
    text = why_none_completed(frame, load_config(None, {}))
    assert text.startswith("the fit raised 'FloatingPointError: NaN in the log density at initialisation' "
                           "in 2 of 4 trials")
    assert ('stopped by the median pruner in 1 of 4 trials: set [pruner] name = "none" '
            "or raise [pruner] n_startup_trials (now 5)") in text
    assert "interrupted by a kill in 1 of 4 trials: run the same command again to resume" in text


@pytest.mark.parametrize(("pruner", "remedy"), [
    ({"kind": "percentile", "kwargs": {"percentile": 25.0}},  # the older key is still read
     'stopped by the percentile pruner in 1 of 1 trial: set [pruner] name = "none" '
     "or raise [pruner] n_startup_trials (now 5)"),
    ({"name": "hyperband"},
     'stopped by the hyperband pruner in 1 of 1 trial: set [pruner] name = "none" or change [pruner] kwargs'),
    ({"name": "median", "kwargs": {"n_startup_trials": 2}},
     'stopped by the median pruner in 1 of 1 trial: set [pruner] name = "none" '
     "or raise n_startup_trials in [pruner] kwargs (now 2)"),
])
def test_the_pruner_remedy_names_the_configured_pruner_and_its_keys(pruner, remedy):
    frame = _frame(("PRUNED", "pruned by the pruner after fold 1", None))
    assert why_none_completed(frame, load_config(None, {"pruner": pruner})) == remedy


def test_only_the_three_commonest_kinds_are_named():
    frame = _frame(
        *[("FAIL", None, f"ValueError: problem {i}") for i in range(4)],
        ("FAIL", None, "ValueError: problem 0"),
    )
    text = why_none_completed(frame, load_config(None, {}))
    assert text.startswith("the fit raised 'ValueError: problem 0' in 2 of 5 trials")
    assert text.count("the fit raised") == 3 and text.endswith("(and 1 more kind)")


def test_tune_says_why_no_trial_completed(dataset, tmp_path):  # noqa: F811
    strict = json.loads(json.dumps(TINY["gate"])) | {"min_ess": 50}
    with pytest.raises(BayestuneError) as info:
        tune(dataset, config(trials=3, gate=strict, fitter="tests.tuning.fakes:Ess31"), tmp_path / "run", final=False)
    message = str(info.value)
    assert message.startswith("no trial completed: bulk ESS < 50 in 3 of 3 trials: "
                              "raise --draws/--tune (now 60/60) or lower [gate] min_ess")
    assert message.endswith(f"({tmp_path / 'run' / 'trials.csv'})")
    assert "\n" not in message
