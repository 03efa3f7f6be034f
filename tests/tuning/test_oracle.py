"""The oracle trial on a truth that does not name its structure: recorded as failed, never raised."""

from __future__ import annotations

import json
from types import SimpleNamespace

from bayestune.simulator import read_dataset, write_dataset
from bayestune.rundir import ORACLE_FILE
from bayestune.tuning.oracle import run_oracle


def test_a_truth_without_a_structure_gives_a_failed_oracle_with_the_reason(tmp_path, quickstart):
    data = write_dataset(quickstart, tmp_path / "data")
    truth = json.loads((data / "truth.json").read_text())
    del truth["structure"]["saturation"]
    (data / "truth.json").write_text(json.dumps(truth))
    run = tmp_path / "run"
    run.mkdir()
    ctx = SimpleNamespace(dataset=read_dataset(data), run=run)  # no fit is reached
    payload = run_oracle(ctx)
    assert payload["state"] == "FAIL" and payload["candidate"] is None
    assert payload["error"] == "the true structure cannot be scored: structure.saturation is missing in the truth"
    assert json.loads((run / ORACLE_FILE).read_text()) == payload
