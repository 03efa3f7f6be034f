"""The records name the fitter that ran and the sampler it ran, whatever ``--sampler`` says.

A whole run's (``trials.csv``, ``environment.json``, the report, a suite cell):
``tests/evaluation/test_evaluate.py``, on the fake fitter's run it evaluates.
"""

from __future__ import annotations

import pandas as pd
import pytest

from bayestune import rundir
from bayestune.tuning.fitters import UNKNOWN_SAMPLER, resolve_fitter, sampler_name

NAMED = "tests.tuning.fakes:NamedSampler"


@pytest.mark.parametrize(("fitter", "configured", "ran"), [
    ("pymc-marketing", "numpyro", "numpyro"),
    ("pymc-marketing", "pymc", "pymc"),
    ("pymc-marketing-nutpie", "numpyro", "nutpie"),
    (NAMED, "numpyro", "fake-nuts"),
    ("tests.tuning.fakes:FakeFitter", "numpyro", UNKNOWN_SAMPLER),
])
def test_the_sampler_that_runs_is_the_fitters_own(fitter, configured, ran):
    assert sampler_name(resolve_fitter(fitter), configured) == ran


def test_a_trials_csv_from_before_the_fitter_was_recorded_still_reads(tmp_path):
    row = rundir.TrialRow(number=0, state="COMPLETE", value=1.5, yearly_seasonality=2, l_max=6, adstock="geometric",
                          saturation="logistic", fold_crps="[1.5]", week_crps="[[1.5]]", max_divergence_rate=0.0,
                          max_rhat=1.0, min_ess_bulk=500.0, seconds_build=0.1, seconds_compile=0.2,
                          seconds_sample=0.3, seconds_predict=0.1, seconds_total=1.0, sampler="numpyro", seed=0,
                          fold_seeds="[9]", pruned_reason=None, error=None, interrupted=False)
    rundir.write_trials(tmp_path, [row])
    path = tmp_path / rundir.TRIALS_FILE
    pd.read_csv(path).drop(columns=["fitter", "interrupted"]).to_csv(path, index=False)
    frame = rundir.read_trials(tmp_path)
    assert tuple(frame.columns) == rundir.TRIAL_COLUMNS
    assert frame["fitter"].isna().all() and list(frame["sampler"]) == ["numpyro"] and not frame["interrupted"].any()
