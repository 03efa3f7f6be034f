"""The run dir contract: versioned records round-trip, old layouts are read or refused in one
line, and evaluation reads a run dir only through :mod:`bayestune.rundir`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from bayestune import rundir
from bayestune.cli import main
from bayestune.errors import BayestuneError
from bayestune.rundir import (
    BestRecord,
    FinalRecord,
    OracleRecord,
    ReplicatesRecord,
    RunDir,
    TrialRow,
    read_best,
    read_record,
    read_trials,
    write_record,
    write_trials,
)

CANDIDATE = {"yearly_seasonality": 2, "l_max": 6, "adstock": "geometric", "saturation": "logistic"}
FIT = {"path": "fits/full.nc", "seed": 7, "diagnostics": {"max_rhat": 1.01}, "strict_gate_passed": True,
       "strict_gate_failures": [], "timings": {"build": 0.1, "compile": 1.0, "sample": 2.0, "predict": 0.0}}
FINAL = {
    "crps_units": "target units, mean per week (fair estimator)",
    "train_test": {"fit_weeks": 70, "test_weeks": 8, "fit_range": [0, 70], "test_range": [70, 78],
                   "train_crps": 100.0, "test_crps": 130.0, "gap": 30.0, "ratio": 1.3,
                   "test_weeks_seen_by_fit": False, "test_weeks_seen_by_search": False,
                   "draws": "predictions/final_train_test.npz", "train_week_crps": [100.0] * 70,
                   "test_week_crps": [130.0] * 8},
    "train_fit": FIT | {"path": "fits/train.nc"},
    "full_fit": FIT,
}
BEST = {"selection": "lowest mean CV CRPS", "selection_rule": {"rule": "lowest", "lowest_trial": 3},
        "trial": 3, "crps": 120.5, "candidate": CANDIDATE, "fold_crps": [120.0, 121.0],
        "week_crps": [[120.0, 120.0], [121.0, 121.0]]}
RECORDS = [
    BestRecord(**BEST),
    FinalRecord(trial=3, candidate=CANDIDATE, **FINAL),
    FinalRecord(trial=3, candidate=CANDIDATE, **FINAL, oracle_test={
        "state": "COMPLETE", "candidate": CANDIDATE | {"l_max": 4}, "fit_range": [0, 70], "test_range": [70, 78],
        "seed": 11, "test_crps": 120.0, "test_week_crps": [120.0] * 8, "draws": "predictions/final_oracle_test.npz",
        "diagnostics": {"max_rhat": 1.0}, "strict_gate_passed": True, "timings": {"sample": 2.0}}),
    OracleRecord(candidate=CANDIDATE, state="COMPLETE", value=118.0, seeds=[1, 2], fold_crps=[118.0],
                 week_crps=[[118.0]], diagnostics=[{"max_rhat": 1.0}], timings={"sample": 1.0}, gate_failures=[]),
    ReplicatesRecord(top=[3], replicates=1, fits=[{
        "trial": 3, "replicate": 1, "seed": 0, "value": 121.0, "week_crps": [[121.0]], "fold_seeds": [5],
        "gate_failures": [], "timings": {"sample": 1.0}, "seconds": 1.5}]),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_each_record_round_trips_through_its_file_with_its_schema(tmp_path, record):
    path = write_record(tmp_path, record)
    assert path.name == record.FILE
    assert json.loads(path.read_text())["schema"] == record.SCHEMA
    assert read_record(tmp_path, type(record)) == record


def test_trials_round_trip_with_every_column(tmp_path):
    row = TrialRow(number=0, state="COMPLETE", value=1.5, yearly_seasonality=2, l_max=6, adstock="geometric",
                   saturation="logistic", fold_crps="[1.5]", week_crps="[[1.5]]", max_divergence_rate=0.0,
                   max_rhat=1.0, min_ess_bulk=500.0, seconds_build=0.1, seconds_compile=0.2, seconds_sample=0.3,
                   seconds_predict=0.1, seconds_total=1.0, sampler="numpyro", seed=0, fold_seeds="[9]",
                   pruned_reason=None, error=None, interrupted=False)
    write_trials(tmp_path, [row])
    frame = read_trials(tmp_path)
    assert tuple(frame.columns) == rundir.TRIAL_COLUMNS
    assert TrialRow(**{k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].to_dict().items()}) == row
    write_trials(tmp_path, [])  # before the first trial ends: a header, which reads as no rows
    assert len(read_trials(tmp_path)) == 0


def test_a_best_json_from_before_schemas_is_read_with_its_final_stage(tmp_path):
    (tmp_path / "best.json").write_text(json.dumps(BEST | {"crps_units": "target units", "final": FINAL}))
    best, final = read_best(tmp_path)
    assert best == BestRecord(**BEST | {"crps_units": "target units"})
    assert final.trial == 3 and final.train_test.test_crps == 130.0 and final.full_fit.seed == 7


def test_the_final_stage_of_another_trial_is_not_the_chosen_ones(tmp_path):
    write_record(tmp_path, BestRecord(**BEST))
    write_record(tmp_path, FinalRecord(trial=1, **FINAL))
    assert read_best(tmp_path)[1] is None
    write_record(tmp_path, FinalRecord(trial=3, **FINAL))
    assert read_best(tmp_path)[1].trial == 3


def test_another_schema_is_refused_in_one_line_naming_it(tmp_path, capsys):
    write_trials(tmp_path, [])
    (tmp_path / "config.toml").write_text('validation = "tail"\n')
    (tmp_path / "best.json").write_text(json.dumps(BEST | {"schema": "bayestune.best/2"}))
    with pytest.raises(BayestuneError, match=r"best.json has schema 'bayestune.best/2'; this bayestune reads "
                                             r"'bayestune.best/1'"):
        RunDir.read(tmp_path)
    assert main(["evaluate", "--run", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bayestune.best/2" in err[0] and err[0].startswith("bayestune: error: ")


def test_a_record_missing_a_field_is_refused_naming_the_schema_and_the_key(tmp_path):
    broken = {k: v for k, v in BEST.items() if k != "trial"} | {"schema": "bayestune.best/1"}
    (tmp_path / "best.json").write_text(json.dumps(broken))
    with pytest.raises(BayestuneError, match=r"invalid best.json \(bayestune.best/1\).*trial"):
        read_best(tmp_path)


READS = re.compile(r"read_text\(|read_bytes\(|np\.load\(|read_csv\(|tomllib|json\.load\(|\bopen\(")


def test_evaluation_reads_a_run_dir_only_through_rundir():
    """No module of the evaluation layer opens a run-dir file itself. The one exception is the
    saved fits (netCDF, opened by xarray at the path the final stage's record gives)."""
    root = Path(__file__).resolve().parents[1] / "src" / "bayestune" / "evaluation"
    found = {p.name: READS.findall(p.read_text()) for p in sorted(root.glob("*.py"))}
    assert {name: hits for name, hits in found.items() if hits} == {}
    assert "from bayestune.rundir import" in (root / "report.py").read_text()
