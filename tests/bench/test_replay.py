"""bench replay: other selection rules on a suite's stored searches, no fit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bayestune.bench import load_suite, run_suite
from bayestune.bench.replay import replay, summarise, to_markdown
from bayestune.bench.searches import KEPT
from bayestune.cli import main
from bayestune.tuning.selection import scored_trials

ROOT = Path(__file__).parents[2]
STORED = ROOT / "benchmarks" / "results" / "2026-11-22-selection-2cores"
# Two seeds, each searched once per methodology through a fake fitter. The same seed gives both
# methodologies the same search; "lowest" also refits its top two trials once more each.
FAKE_SUITE = """
[suite]
name = "fake-selection"
scenarios = ["quickstart"]
seeds = [0, 1]
[tuning]
trials = 5
folds = 2
horizon = 6
fitter = "tests.tuning.fakes:FakeFitter"
space = { yearly_seasonality = [1, 4], l_max = [3, 8] }
gate = { max_rhat = 3.0, min_ess = 2, max_divergence_rate = 0.9 }
final = { test_weeks = 8 }
pruner = { kind = "none" }
[methodology.lowest]
tuning = { selection = "lowest", replicates = 1, replicate_top = 2 }
[methodology.one-se]
tuning = { selection = "one-se" }
[gate]
methodologies = ["lowest"]
"""


def _fake_evaluate(run, data):
    """The report's only part a suite needs here: what was chosen (a fake fit has no posterior
    for the truth figures, which replay does not use)."""
    best = json.loads((Path(run) / "best.json").read_text())
    return SimpleNamespace(data={"run": {"chosen": best["candidate"]}})


@pytest.fixture(scope="module")
def suite_out(tmp_path_factory):
    """A suite run's --out dir: four finished cells, searched and refitted through a fake fitter."""
    import bayestune.evaluation

    out = tmp_path_factory.mktemp("suite")
    (out / "fake.toml").write_text(FAKE_SUITE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bayestune.evaluation, "evaluate", _fake_evaluate)
        payload = run_suite(load_suite(out / "fake.toml"), out / "out", progress=None)
    assert [c["status"] for c in payload["cells"]] == ["ok"] * 4
    return out / "out"


@pytest.fixture(scope="module")
def results_folder(suite_out, tmp_path_factory):
    """What is stored of that run: results.json, summary.md, figures/ and searches/, no cells/."""
    folder = tmp_path_factory.mktemp("results")
    for name in ("results.json", "summary.md"):
        shutil.copy(suite_out / name, folder / name)
    shutil.copytree(suite_out / "searches", folder / "searches")
    if (suite_out / "figures").is_dir():  # drawn only where a paired difference has figures
        shutil.copytree(suite_out / "figures", folder / "figures")
    return folder


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

    assert main(["bench", "replay", str(suite_out), "--methodology", "lowest", "--selection", "lowest",
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
    assert "no cells/ or searches/ here: replay needs the --out dir of a suite run" in capsys.readouterr().err
    (tmp_path / "cells").mkdir()
    assert main(["bench", "replay", str(tmp_path)]) == 2
    assert "no finished cell with a stored search" in capsys.readouterr().err
    assert main(["bench", "replay", str(suite_out), "--selection", "bayestune_example.selection:nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no attribute 'nope'" in err and "--selection" in err


def _replayed(capsys, *argv: str) -> str:
    """What ``bench replay`` prints, less its first line (which names the dir)."""
    assert main(["bench", "replay", *argv]) == 0
    return capsys.readouterr().out.split("\n", 1)[1]


def test_the_suite_keeps_each_finished_cells_search_and_not_its_fits(suite_out):
    cells = json.loads((suite_out / "results.json").read_text())["cells"]
    assert len(cells) == 4
    for cell in cells:
        source, kept = suite_out / cell["dir"], suite_out / "searches" / cell["key"]
        files = sorted(p.relative_to(kept).as_posix() for p in kept.rglob("*") if p.is_file())
        assert files == sorted(name for name in KEPT if (source / name).is_file())
        for name in files:
            assert (kept / name).read_bytes() == (source / name).read_bytes(), name
        assert ("run/replicates.json" in files) == (cell["cell"]["methodology"] == "lowest")
        assert {"run/trials.csv", "run/oracle.json", "run/best.json", "dataset/truth.json"} <= set(files)
        assert (source / "run" / "predictions").is_dir() and (source / "run" / "fits").is_dir()


def test_replay_reads_a_results_folder_as_it_reads_the_out_dir(suite_out, results_folder, tmp_path, capsys):
    old = tmp_path / "old"  # an --out dir from before searches were kept: cells/ only
    shutil.copytree(suite_out, old, ignore=shutil.ignore_patterns("searches"))
    for argv in ([], ["--methodology", "one-se", "--selection", "lowest"]):
        from_out = _replayed(capsys, str(suite_out), *argv)
        assert "| cells/quickstart/seed1/" in from_out
        assert _replayed(capsys, str(results_folder), *argv) == from_out
        assert _replayed(capsys, str(old), *argv) == from_out


def test_a_resumed_suite_keeps_the_searches_of_the_cells_it_had_finished(suite_out, tmp_path):
    from tests.tuning.fakes import FITS

    old = tmp_path / "old"
    shutil.copytree(suite_out, old, ignore=shutil.ignore_patterns("searches"))
    fits = len(FITS)
    run_suite(load_suite(suite_out.parent / "fake.toml"), old, progress=None)
    assert len(FITS) == fits  # nothing ran again
    kept = sorted(p.relative_to(old).as_posix() for p in (old / "searches").rglob("*") if p.is_file())
    assert kept == sorted(p.relative_to(suite_out).as_posix() for p in (suite_out / "searches").rglob("*")
                          if p.is_file())


def test_replaying_a_rule_on_another_methodologys_search_gives_that_rules_own_choice(results_folder):
    """Both methodologies ran the same search on a seed, so the one-SE rule replayed on the
    lowest methodology's trials chooses what the one-se methodology chose (and the lowest
    rule, on the replicate-averaged scores, what the lowest methodology chose)."""
    chosen = {c["key"]: c["chosen"] for c in json.loads((results_folder / "results.json").read_text())["cells"]}
    rows, _ = replay(results_folder, ["lowest", "one-se"], "lowest")
    assert len(rows) == 2
    assert any(row["one-se"]["trial"] != row["lowest"]["trial"] for row in rows)  # the rules differ somewhere
    for row in rows:
        seed = row["cell"].split("/")[2]
        searched = [pd.read_csv(results_folder / "searches" / "quickstart" / seed / m / "run" / "trials.csv")
                    for m in ("lowest", "one-se")]
        same = ["number", "state", "value", "yearly_seasonality", "l_max", "week_crps", "seed"]
        pd.testing.assert_frame_equal(searched[0][same], searched[1][same])
        for rule, methodology in (("one-se", "one-se"), ("lowest+replicates", "lowest")):
            want = chosen[f"quickstart/{seed}/{methodology}"]
            got = row[rule]
            assert (got["yearly_seasonality"], got["l_max"]) == (want["yearly_seasonality"], want["l_max"]), rule


def test_a_truth_without_its_structure_is_one_line_naming_the_file(results_folder, tmp_path, capsys):
    folder = tmp_path / "results"
    shutil.copytree(results_folder, folder)
    truth_path = sorted(folder.glob("searches/**/dataset/truth.json"))[0]
    truth = json.loads(truth_path.read_text())
    del truth["structure"]
    truth_path.write_text(json.dumps(truth))
    assert main(["bench", "replay", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bayestune: error: truth.json has no structure") and err.count("\n") == 1
    assert str(truth_path) in err
