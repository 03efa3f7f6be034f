"""The executors, and a real suite run end to end: a two-cell suite on a Dask LocalCluster whose
gate fails for a methodology whose search space excludes the truth."""

from __future__ import annotations

import json

import pytest

from bayestune.bench.cell import run_cell
from bayestune.bench.executor import InProcess, ProcessPool, make_executor
from bayestune.cli import main
from bayestune.errors import BayestuneError

BAD_CELL = {"scenario": "no-such-preset", "seed": 0, "methodology": "m", "tuning": {"seed": 0}}


def test_in_process_and_process_pool_carry_failed_cells_as_results(tmp_path):
    from functools import partial

    fn = partial(run_cell, root=str(tmp_path))
    (item, result), = InProcess().map_unordered(fn, [BAD_CELL])
    assert item is BAD_CELL and result["status"] == "failed" and "no-such-preset" in result["error"]
    cells = [BAD_CELL | {"seed": s, "tuning": {"seed": s}} for s in (1, 2)]
    got = list(ProcessPool(2).map_unordered(fn, cells))
    assert sorted(r["cell"]["seed"] for _, r in got) == [1, 2]
    assert all(r["status"] == "failed" for _, r in got)
    assert (tmp_path / "cells" / "no-such-preset" / "seed2" / "m" / "cell.json").exists()


def _wait_for_flag(item):
    """The slow cell: done only once the follow-on of the fast cell has run (or after a minute)."""
    import time
    from pathlib import Path

    flag = Path(item["flag"])
    if item["name"] == "slow":
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return {"saw_follow_on": flag.exists()}
    if item["name"] == "follow-on":
        flag.write_text("ran")
    return {}


def _follow_on(item, result):
    return [item | {"name": "follow-on"}] if item["name"] == "fast" else []


@pytest.mark.parametrize("executor", ["in-process", "process-pool", "dask"])
def test_a_follow_on_starts_as_soon_as_its_source_is_done(tmp_path, executor):
    """``then`` submits a finished item's follow-ons at once: with two workers the fast item's
    follow-on runs while the slow item still runs (the slow one waits for it), instead of after
    every first item is done."""
    flag = str(tmp_path / "flag")
    if executor == "in-process":
        got = list(InProcess().map_unordered(_wait_for_flag, [{"name": "fast", "flag": flag}], then=_follow_on))
        assert [i["name"] for i, _ in got] == ["fast", "follow-on"]
        return
    items = [{"name": "slow", "flag": flag}, {"name": "fast", "flag": flag}]
    if executor == "dask":
        distributed = pytest.importorskip("distributed")
        from bayestune.bench.executor import DaskCluster

        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                      dashboard_address=None, silence_logs=40) as cluster:
            dask = DaskCluster(cluster.scheduler_address)
            try:
                got = {i["name"]: r for i, r in dask.map_unordered(_wait_for_flag, items, then=_follow_on)}
            finally:
                dask.close()
    else:
        got = {i["name"]: r for i, r in ProcessPool(2).map_unordered(_wait_for_flag, items, then=_follow_on)}
    assert set(got) == {"slow", "fast", "follow-on"}
    assert got["slow"] == {"saw_follow_on": True}, "the follow-on waited for every first item"


def test_make_executor_choices():
    assert isinstance(make_executor(), InProcess) and isinstance(make_executor(1), InProcess)
    assert isinstance(make_executor(3), ProcessPool)
    with pytest.raises(BayestuneError, match="must be at least 1"):
        make_executor(0)
    with pytest.raises(BayestuneError, match="cannot connect to the Dask scheduler"):
        from bayestune.bench.executor import DaskCluster

        DaskCluster("tcp://127.0.0.1:9", timeout=2)


# Tiny MCMC settings: the figures are not meant to be good, only real. The "broken" methodology
# can only choose l_max 1 while the truth has l_max 6: its fitted kernel puts all weight on
# week 0, and the worst channel's kernel L1 is about 1.0 whatever the sampler does. No oracle
# trial and no refit of the true structure in the final stage: the kernels come from the final
# refit, and the oracles would only add fits per cell.
TWO_CELLS = """
[suite]
name = "two-cells"
scenarios = ["quickstart"]
seeds = [1]
[tuning]
trials = 1
validation = "tail"
horizon = 6
draws = 60
tune = 60
chains = 2
gate = { max_rhat = 3.0, min_ess = 2, max_divergence_rate = 0.9 }
final = { test_weeks = 8, draws = 60, tune = 60, chains = 2, oracle = false }
pruner = { kind = "none" }
oracle = false
[methodology.sane]
tuning = { space = { yearly_seasonality = [2, 2], l_max = [6, 6] } }
[methodology.broken]
description = "a search space that excludes the true l_max"
tuning = { space = { yearly_seasonality = [2, 2], l_max = [1, 1] } }
[gate]
methodologies = ["sane", "broken"]
max_kernel_l1 = 0.5
"""


@pytest.mark.slow
def test_a_two_cell_suite_on_a_dask_local_cluster_and_a_gate_that_fails(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    suite = tmp_path / "two.toml"
    suite.write_text(TWO_CELLS)
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        status = main(["gate", "--suite", str(suite), "--out", str(out), "--scheduler", cluster.scheduler_address])
    printed = capsys.readouterr()
    assert status == 1, printed.out + printed.err
    assert "dask (tcp://" in printed.out
    assert "pass  quickstart · sane: max_kernel_l1" in printed.out
    assert "FAIL  quickstart · broken: max_kernel_l1" in printed.out
    results = json.loads((out / "results.json").read_text())
    assert results["executor"].startswith("dask") and len(results["cells"]) == 2
    by_method = {c["cell"]["methodology"]: c for c in results["cells"]}
    assert all(c["status"] == "ok" for c in by_method.values()), results["cells"]
    assert by_method["broken"]["chosen"]["l_max"] == 1
    assert by_method["broken"]["metrics"]["kernel_l1_max"] > 0.8
    assert by_method["sane"]["metrics"]["kernel_l1_max"] < 0.5
    for c in by_method.values():
        assert (out / "cells" / c["key"] / "run" / "report.json").exists()
    assert "| quickstart · broken | 1 |" in (out / "summary.md").read_text()

    # running it again finds both cells done and runs nothing; --results re-checks without running
    before = (out / "cells" / "quickstart" / "seed1" / "sane" / "cell.json").read_text()
    assert main(["bench", "--suite", str(suite), "--out", str(out)]) == 0
    assert "2 cells (2 already done)" in capsys.readouterr().out
    assert (out / "cells" / "quickstart" / "seed1" / "sane" / "cell.json").read_text() == before
    assert main(["gate", "--suite", str(suite), "--results", str(out)]) == 1
