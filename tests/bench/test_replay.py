"""bench replay: other selection rules on a suite's stored searches, no fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayestune.bench.replay import summarise, to_markdown
from bayestune.cli import main
from bayestune.simulator import read_dataset, simulate, write_dataset
from bayestune.tuning import load_config, tune
from bayestune.tuning.selection import scored_trials
from tests.conftest import DEMO_TINY

ROOT = Path(__file__).parents[2]
STORED = ROOT / "benchmarks" / "results" / "2026-11-22-selection-2cores"
TINY = {k: v for k, v in DEMO_TINY.items() if k != "trials"} | {
    "trials": 5, "quiet": True, "fitter": "tests.tuning.fakes:FakeFitter",
    "space": {"yearly_seasonality": [1, 4], "l_max": [3, 8]},
}


@pytest.fixture(scope="module")
def suite_out(tmp_path_factory):
    """A suite run's layout with two finished cells, searched through a fake fitter, each with
    replicate refits of its top two trials."""
    out = tmp_path_factory.mktemp("suite")
    for seed in (0, 1):
        extra = {"replicates": 1, "replicate_top": 2}
        cell = out / "cells" / "quickstart" / f"seed{seed}" / "lowest"
        data = write_dataset(simulate("quickstart", seed=seed), cell / "dataset")
        tune(read_dataset(data), load_config(None, TINY | {"seed": seed} | extra), cell / "run", final=False)
        (cell / "cell.json").write_text(json.dumps({"status": "ok"}))
    return out


def _expected(out: Path, choose) -> dict:
    """Fourier/l_max exact counts and mean regret of ``choose`` over the cells, from the files."""
    exact_ys = exact_l = 0
    regrets = []
    for cell in sorted((out / "cells" / "quickstart").glob("seed*/lowest")):
        trials = pd.read_csv(cell / "run" / "trials.csv")
        chosen = choose(trials)
        truth = json.loads((cell / "dataset" / "truth.json").read_text())["structure"]
        oracle = json.loads((cell / "run" / "oracle.json").read_text())
        exact_ys += int(chosen["yearly_seasonality"]) == truth["yearly_seasonality"]
        exact_l += int(chosen["l_max"]) == truth["l_max"]
        weeks = np.concatenate(json.loads(chosen["week_crps"]))
        regrets.append(float(np.mean(weeks - np.concatenate(oracle["week_crps"]))))
    return {"ys": exact_ys, "l": exact_l, "regret": float(np.mean(regrets))}


def test_replay_prints_each_rules_truth_figures_side_by_side(suite_out, capsys):
    from bayestune_example.selection import fewest_lags

    assert main(["bench", "replay", str(suite_out), "--selection", "lowest",
                 "--selection", "bayestune_example.selection:fewest_lags"]) == 0
    printed = capsys.readouterr().out
    assert "bench replay: 2 cell(s)" in printed

    def lowest(trials):
        done = trials[trials["state"] == "COMPLETE"]
        return done.sort_values(["value", "number"]).iloc[0]

    def lags(trials):
        number = fewest_lags(scored_trials(trials)).number
        return trials[trials["number"] == number].iloc[0]

    for name, choose in (("lowest", lowest), ("bayestune_example.selection:fewest_lags", lags)):
        e = _expected(suite_out, choose)
        row = f"| {name} | 2 | {e['ys']}/2 | {e['l']}/2 |"
        line = next(line for line in printed.splitlines() if line.startswith(row))
        assert line.endswith(f"| {e['regret']:+.1f} |"), line
    # replicate refits add each rule on replicate-averaged scores
    assert "| lowest+replicates | 2 |" in printed and "| cells/quickstart/seed1/lowest | " in printed


def test_the_analysis_script_prints_what_bench_replay_prints(suite_out, capsys, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("selection_rules", ROOT / "benchmarks" / "selection_rules.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert main(["bench", "replay", str(suite_out)]) == 0
    replayed = capsys.readouterr().out.split("\n", 1)[1]
    assert script.main([str(suite_out), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == replayed.strip()
    assert (tmp_path / "selection_rules.md").read_text() == replayed


@pytest.mark.parametrize("name", ["lowest-searches", "one-se-replicated-searches", "seed-recipe-searches"])
def test_the_stored_selection_tables_are_what_replay_summarises(name):
    """The stored suite keeps each cell's choices, not its trials: the summary and the table
    replay prints are recomputed from those choices and equal the stored ones."""
    stored = json.loads((STORED / f"selection_rules-{name}.json").read_text())
    summary = summarise(stored["cells"])
    assert summary.keys() == stored["summary"].keys()
    for rule, figures in summary.items():
        assert figures == pytest.approx(stored["summary"][rule], rel=1e-12)
    assert to_markdown(stored["cells"], summary) == (STORED / f"selection_rules-{name}.md").read_text()


def test_replay_errors_are_one_line(tmp_path, capsys, suite_out):
    assert main(["bench", "replay", str(tmp_path / "none")]) == 2
    assert "results dir not found" in capsys.readouterr().err
    assert main(["bench", "replay", str(STORED)]) == 2
    assert "no cells/ here: replay needs the --out dir of a suite run" in capsys.readouterr().err
    (tmp_path / "cells").mkdir()
    assert main(["bench", "replay", str(tmp_path)]) == 2
    assert "no finished cell with a stored search" in capsys.readouterr().err
    assert main(["bench", "replay", str(suite_out), "--selection", "bayestune_example.selection:nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no attribute 'nope'" in err and "--selection" in err
