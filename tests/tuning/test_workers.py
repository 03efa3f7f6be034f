"""Parallel workers: one writer for the records, checked endings, fast fake fits."""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import threading

import pandas as pd
import pytest
import tomli_w

from bayestune.simulator import read_dataset, simulate, write_dataset
from bayestune.tuning import load_config, tune, workers
from tests.tuning import fake_workers
from tests.tuning.test_study import TINY

SPACE = {"yearly_seasonality": [1, 4], "l_max": [4, 8]}
FAKE = "tests.tuning.fakes:Sleepy"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return read_dataset(write_dataset(simulate("quickstart", seed=1), tmp_path_factory.mktemp("data") / "q"))


def test_three_workers_finishing_together_leave_whole_records(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(workers, "work", fake_workers.work)
    monkeypatch.setattr(workers, "REFRESH_SECONDS", 0.05)
    run = tmp_path / "run"
    seen, errors, stop = [], [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                if (run / "trials.csv").exists():
                    seen.append(len(pd.read_csv(run / "trials.csv")))
            except Exception as exc:  # noqa: BLE001 - a torn file is what this test looks for
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        config = load_config(None, TINY | {"trials": 12, "workers": 3, "folds": 1, "oracle": False, "space": SPACE,
                                         "fitter": FAKE})
        tune(dataset, config, run, final=False)
    finally:
        stop.set()
        reader.join()
    assert not errors
    trials = pd.read_csv(run / "trials.csv")
    # each worker stops once the total is reached; trials in flight on the others still finish
    assert 12 <= len(trials) <= 14 and trials["number"].is_unique
    assert (trials["state"] == "COMPLETE").all() and not trials["interrupted"].any()
    assert seen and min(seen) < len(trials)  # refreshed while the workers ran
    assert json.loads((run / "best.json").read_text())["crps"] == pytest.approx(trials["value"].min())
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]


def test_a_worker_that_dies_fails_the_command_with_its_reason(dataset, tmp_path, monkeypatch):
    from bayestune.cli import main

    monkeypatch.setattr(workers, "work", fake_workers.fail_on_rank_1_die_on_rank_2)
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(tomli_w.dumps(TINY | {"space": SPACE, "fitter": FAKE}))
    run = tmp_path / "run"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["tune", "--data", str(dataset.path), "--out", str(run), "--config", str(cfg), "--trials", "3",
                   "--workers", "3", "--folds", "1", "--no-final", "--no-oracle", "--quiet"])
    assert rc == 1
    assert err.getvalue().splitlines() == [
        f"bayestune: error: worker 1 failed: RuntimeError: the disk is full; "
        f"worker 2 failed: killed by SIGKILL ({run})"
    ]
    # what the surviving worker did is in the records
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 3 and (trials["state"] == "COMPLETE").all()


def test_workers_are_stopped_when_the_parents_refresh_fails(dataset, tmp_path):
    """A parent that cannot write its records leaves no worker running on the study."""
    from bayestune.tuning.context import SearchContext, make_folds

    config = load_config(None, TINY | {"trials": 4, "workers": 2, "folds": 1, "space": SPACE, "fitter": FAKE})
    ctx = SearchContext(dataset, config, make_folds(dataset, config), tmp_path / "run")

    def refresh():
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        workers.run_workers(ctx, "unused", refresh=refresh, every=0.05, target=fake_workers.sleep)
    assert multiprocessing.active_children() == []
