"""The benchmark tests itself: a small mutants suite on fake fits, and its catch matrix.

The fake fitter (``tests.tuning.fakes:TruthShaped``) predicts held-out weeks worse the
further a structure lies from quickstart's truth (Fourier order 2, ``l_max`` 6). A grid over
Fourier 2..3 x ``l_max`` 6..7 lets the default (lowest CV score) find the truth on every
seed; the planted mutants choose otherwise, and the rerun of the default must not be flagged.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bayestune.bench.catch import CALIBRATED, GATE, catch_matrix, rates
from bayestune.bench.catch_figure import FLAGGED, NOT, judges, matrix
from bayestune.bench.paired import suite_contrasts
from bayestune.cli import main

SUITE = """
[suite]
name = "fake-mutants"
scenarios = ["quickstart"]
seeds = [0, 1, 2]
[tuning]
trials = 4
folds = 1
horizon = 8
fitter = "tests.tuning.fakes:TruthShaped"
space = { yearly_seasonality = [2, 3], l_max = [6, 7] }
gate = { max_rhat = 3.0, min_ess = 2, max_divergence_rate = 0.9 }
final = { test_weeks = 8 }
pruner = { kind = "none" }
optuna_sampler = "grid"
[methodology.default]
tuning = { selection = "lowest" }
[gate]
max_regret_z = 3.0
[mutants]
names = ["space-without-truth", "most-complex"]
reruns = 1
"""


@pytest.fixture(scope="module")
def suite_out(tmp_path_factory):
    """The suite run through the command line: 3 seeds x 4 methodologies, fake fits, real evaluation."""
    folder = tmp_path_factory.mktemp("catch")
    (folder / "s.toml").write_text(SUITE)
    assert main(["bench", "--suite", str(folder / "s.toml"), "--out", str(folder / "out"), "--quiet"]) == 0
    return folder / "out"


@pytest.fixture(scope="module")
def payload(suite_out):
    return json.loads((suite_out / "results.json").read_text())


def test_the_default_finds_the_truth_and_the_mutants_do_not(suite_out, payload):
    chosen = {c["key"]: (c["chosen"]["yearly_seasonality"], c["chosen"]["l_max"]) for c in payload["cells"]}
    for seed in (0, 1, 2):
        truth = json.loads((suite_out / f"searches/quickstart/seed{seed}/default/dataset/truth.json")
                           .read_text())["structure"]
        assert (truth["yearly_seasonality"], truth["l_max"]) == (2, 6), "the fake's truth is quickstart's"
        assert chosen[f"quickstart/seed{seed}/default"] == (2, 6)
        assert chosen[f"quickstart/seed{seed}/default-rerun1"] == (2, 6)
        assert chosen[f"quickstart/seed{seed}/most-complex"] == (3, 7)
        assert chosen[f"quickstart/seed{seed}/space-without-truth"] == (3, 7), "the cut space is Fourier 3, l_max 7"


def test_the_catch_matrix_flags_every_mutant_and_not_the_rerun(payload):
    caught = {c.methodology: c for c in catch_matrix(payload, alpha=0.05, power=0.8)}
    assert list(caught) == ["space-without-truth", "most-complex", "default-rerun1"]
    for name in ("space-without-truth", "most-complex"):
        c = caught[name]
        assert c.flagged and c.cells == 3
        assert c.worse == ["final_regret_z", "log gap_ratio"], c.worse  # primary metrics only, one-sided Holm
        assert [t.metric for t in c.tests] == ["final_regret_z", "kernel_l1_max", "abs_error_yearly_seasonality",
                                               "log gap_ratio"]
        assert c.gate_failed and "max_regret_z" in c.gate_failed[0]
    rerun = caught["default-rerun1"]
    assert not rerun.flagged and rerun.worse == [] and rerun.gate_failed == [] and rerun.rerun
    assert rates(list(caught.values())) == ((2, 2), (0, 1))


def test_the_summary_reports_the_rates_and_links_the_figure(suite_out, payload):
    text = (suite_out / "summary.md").read_text()
    section = text.split("## Planted mutants", 1)[1]
    assert "**Catch rate**: 2/2 (100%) mutants flagged." in section
    assert "**False-alarm rate**: 0/1 (0%) reruns of the unchanged default flagged." in section
    assert "one-sided paired t-tests over the cells, Holm-adjusted at level 0.025 over these 4 alone" in section
    assert "The two share alpha 0.05 (Bonferroni): together they flag a rerun at most 0.05 of the time." in section
    # the default and its rerun choose alike on every seed: no resampled null comparison is flagged
    assert ("**False-alarm rate, resampled**: 0.0% of 500 null comparisons flagged by the judges that count (paired "
            "judge 0.0%, calibrated judge not calibrated, gate 0.0%)") in section
    assert "![catch matrix](figures/catch_matrix.png)" in section
    rerun_row = next(line for line in section.splitlines() if line.startswith("| default-rerun1 |"))
    assert rerun_row.startswith("| default-rerun1 | rerun | 3 | no |") and rerun_row.endswith("| passes |")
    mutant_row = next(line for line in section.splitlines() if line.startswith("| most-complex |"))
    assert "| **yes** | **+" in mutant_row, "the flagging primary metric is bold"
    assert (suite_out / "figures" / "catch_matrix.png").stat().st_size > 5000
    # the mutants are judged apart: the suite's own paired family holds no planted methodology
    assert suite_contrasts(payload, alpha=0.05, power=0.8) == []


def test_the_figures_matrix_is_the_catch_matrix(payload):
    caught = catch_matrix(payload, alpha=0.05, power=0.8)
    cols = judges(caught)
    grid = matrix(caught)
    assert cols == ["final_regret_z", "kernel_l1_max", "abs_error_yearly_seasonality", "log gap_ratio", CALIBRATED, GATE]
    assert grid.shape == (3, len(cols))
    assert np.all(grid[:2, cols.index("final_regret_z")] == FLAGGED) and np.all(grid[:2, -1] == FLAGGED)
    assert np.all(grid[:, cols.index("kernel_l1_max")] == NOT)
    # the mutants lie far beyond the default's and its rerun's differences; the rerun, left out of
    # its own null, leaves one run per dataset: it is not calibrated
    assert list(grid[:, cols.index(CALIBRATED)]) == [FLAGGED, FLAGGED, NOT]
    assert caught[2].calibrated is None
    assert np.all(grid[2] == NOT)


def test_a_suite_without_mutants_has_no_catch_section(payload, tmp_path):
    from bayestune.bench.summary import catch_section

    plain = payload | {"cells": [c for c in payload["cells"] if c["cell"]["methodology"] == "default"]}
    assert catch_matrix(plain, alpha=0.05, power=0.8) == []
    assert catch_section(plain, tmp_path, alpha=0.05, power=0.8) == ""
    assert not (tmp_path / "figures").exists()


def test_a_selection_mutant_reads_the_defaults_search_and_computes_what_it_would_alone(suite_out, payload, tmp_path):
    """most-complex differs from the default only in its selection: it resumes a copy of the
    default's study on the same dataset (no trial runs again), and its figures are those of the
    same cell run alone, with no search to share."""
    import pandas as pd

    from bayestune.bench.cell import QUALITY

    cells = {c["key"]: c for c in payload["cells"]}
    for seed in (0, 1, 2):
        assert cells[f"quickstart/seed{seed}/most-complex"]["search_shared_from"] == f"quickstart/seed{seed}/default"
        for own in ("default", "space-without-truth", "default-rerun1"):  # another space, another study seed
            assert "search_shared_from" not in cells[f"quickstart/seed{seed}/{own}"]
        runs = suite_out / f"searches/quickstart/seed{seed}"
        base, copy = (pd.read_csv(runs / m / "run" / "trials.csv") for m in ("default", "most-complex"))
        pd.testing.assert_frame_equal(base, copy)  # the fits' own timings too: copied, not run again
    assert "| quickstart/seed0/most-complex | ok, the search of quickstart/seed0/default |" in (
        suite_out / "summary.md").read_text()

    alone = tmp_path / "alone"
    assert main(["bench", "--suite", str(suite_out.parent / "s.toml"), "--out", str(alone), "--seeds", "0",
                 "--methodologies", "most-complex", "--quiet"]) == 0
    solo = json.loads((alone / "results.json").read_text())["cells"]
    assert [c["key"] for c in solo] == ["quickstart/seed0/most-complex"] and "search_shared_from" not in solo[0]
    shared = cells["quickstart/seed0/most-complex"]
    assert solo[0]["chosen"] == shared["chosen"]
    assert {k: solo[0]["metrics"][k] for k in QUALITY} == {k: shared["metrics"][k] for k in QUALITY}
    theirs = pd.read_csv(alone / "searches/quickstart/seed0/most-complex/run/trials.csv")
    assert not theirs["seconds_total"].equals(base["seconds_total"]), "alone, the trials ran again"
