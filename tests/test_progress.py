"""Long work reports itself: a bar on a terminal, a line per finished trial or stage in a log,
nothing with ``--quiet`` (fits are faked: what is printed is under test, not the sampling)."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pandas as pd
import pytest

from bayestune.tuning import tune
from tests.tuning.test_study import _Terminal, config, dataset  # noqa: F401


FAKE = "tests.tuning.fakes:PassesSearchFailsStrict"
"""Search, oracle, replicate and final fits, all faked through the fitter seam: structures with
``l_max`` 3 fail, and the final fits fail the strict gate."""


@pytest.fixture
def outside_ci(monkeypatch):
    """Progress is judged as a user outside CI sees it (CI gets lines, never a bar)."""
    monkeypatch.delenv("CI", raising=False)


def _run(dataset, tmp_path, monkeypatch, stream, **changes):  # noqa: F811
    monkeypatch.setattr("sys.stderr", stream)
    run = tmp_path / "run"
    tune(dataset, config(**{"trials": 5, "replicates": 1, "replicate_top": 2, "quiet": False, "fitter": FAKE} | changes),
         run)
    return run


def test_a_log_gets_one_line_per_finished_trial_and_stage(dataset, tmp_path, monkeypatch, outside_ci):  # noqa: F811
    log = io.StringIO()  # not a terminal
    run = _run(dataset, tmp_path, monkeypatch, log)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue(), "no progress bar in a log"
    trials = pd.read_csv(run / "trials.csv")
    assert set(trials["state"]) == {"COMPLETE", "FAIL"}, "the fake makes some trials fail"
    trial_lines = [line for line in lines if line.startswith("trial ")]
    assert len(trial_lines) == len(trials) == 5
    for k, (line, (_, row)) in enumerate(zip(trial_lines, trials.iterrows(), strict=True), start=1):
        assert line.startswith(f"trial {row['number']} {row['state']} in ")
        assert line.endswith(f"[{k}/5]")
        if row["state"] == "COMPLETE":
            assert f": CRPS {row['value']:.1f}; lowest so far " in line
        else:
            assert "FloatingPointError: NaN in the log density" in line
    assert re.search(r"^oracle \(the true structure, never selectable\) COMPLETE in \d+ s: CRPS \d", log.getvalue(), re.M)
    assert sum(line.startswith("replicate fit ") for line in lines) == 2
    assert re.search(r"^replicate fit 2 of 2 \(trial \d+'s structure, replicate 1\) in \d+ s: CRPS \d", log.getvalue(), re.M)
    assert re.search(r"^final train-only fit in \d+ s: train CRPS \d.*, test CRPS \d.* on 8 never-seen weeks; "
                     r"strict gate FAILED: R-hat 1.02 > 1.01 \(adstock_alpha\[tv\]\)$", log.getvalue(), re.M)
    assert re.search(r"^final full-data fit in \d+ s: strict gate FAILED: R-hat 1.02 > 1.01", log.getvalue(), re.M)
    assert re.search(r"^final refit of the true structure in \d+ s: test CRPS \d.* on the same 8 never-searched "
                     r"weeks; chosen minus true [+-]\d.*; strict gate FAILED: R-hat 1.02 > 1.01", log.getvalue(), re.M)


def test_quiet_prints_nothing(dataset, tmp_path, monkeypatch, outside_ci, caplog):  # noqa: F811
    log = io.StringIO()
    run = _run(dataset, tmp_path, monkeypatch, log, quiet=True)
    assert log.getvalue() == ""
    assert "FAIL" in set(pd.read_csv(run / "trials.csv")["state"])
    assert not [r for r in caplog.records if r.name.startswith("optuna") and r.levelno >= logging.WARNING], \
        "Optuna's own warning for a failed trial is not printed either (trials.csv keeps the error)"


def test_a_terminal_keeps_its_bar_and_gets_no_trial_lines(dataset, tmp_path, monkeypatch, outside_ci):  # noqa: F811
    terminal = _Terminal()
    _run(dataset, tmp_path, monkeypatch, terminal)
    assert "5/5" in terminal.text and "best CRPS" in terminal.text
    assert not re.search(r"^trial \d+ ", terminal.text, re.M)
    assert "final full-data fit in " in terminal.text, "stages still say when they finish"


def test_the_tune_command_is_silent_on_stderr_with_quiet(dataset, tmp_path, capsys, outside_ci):  # noqa: F811
    from bayestune.cli import main

    args = ["tune", "--data", str(dataset.path), "--out", str(tmp_path / "run"), "--trials", "2", "--draws", "60",
            "--tune", "60", "--folds", "2", "--horizon", "6", "--no-final", "--no-oracle", "--fitter", FAKE]
    assert main([*args, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main([*args, "--trials", "3"]) == 0  # capsys's stream is not a terminal: a line per trial
    assert re.findall(r"^trial (\d+) \w+ in ", capsys.readouterr().err, re.M) == ["2"]


def test_the_demo_says_when_each_stage_ends(tmp_path, monkeypatch):
    """The study runs with fits faked through the fitter seam; evaluate is faked."""
    import bayestune.evaluation
    from bayestune.demo import run_demo
    from bayestune.evaluation.report import Report
    from tests.tuning.test_study import TINY

    def fake_evaluate(run, data, named_as=None):
        (Path(run) / "report.md").write_text("# report\n")
        return Report({}, Path(run) / "report.json", Path(run) / "report.md", [Path(run) / "a.png", Path(run) / "b.png"])

    monkeypatch.setattr(bayestune.evaluation, "evaluate", fake_evaluate)
    monkeypatch.setattr("bayestune.simulator.plot.plot_overview", lambda sim, path: path.write_bytes(b""))
    monkeypatch.delenv("CI", raising=False)
    settings = TINY | {"trials": 2, "oracle": False, "fitter": FAKE}
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    run_demo(tmp_path / "demo", seed=0, settings=settings)
    assert re.search(r"^dataset in \d+ s: .*dataset \('quickstart', seed 0, 78 weeks\)$", log.getvalue(), re.M)
    assert len(re.findall(r"^trial \d+ ", log.getvalue(), re.M)) == 2
    assert re.search(r"^evaluation in \d+ s: .*report\.md and 2 figures$", log.getvalue(), re.M)
    log.truncate(0)
    run_demo(tmp_path / "demo", seed=0, quiet=True, settings=settings)
    assert log.getvalue() == ""
