"""The planted mutants, each on its own: every plug-in does what its name says, reruns share
the dataset and change the study seed, the space cut excludes the truth, and the flags and
suite table that plant them."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bayestune.bench.mutants import MUTANTS, RERUN
from bayestune.bench.mutants.carry_over import NoCarryOver, name_for
from bayestune.bench.mutants.in_sample import in_sample
from bayestune.bench.mutants.selection import highest, most_complex
from bayestune.bench.mutants.space import cut, true_structure
from bayestune.bench.suite import load_suite, with_mutants
from bayestune.cli import main
from bayestune.tuning.config import config_from_dict
from bayestune.tuning.fitters import resolve_fitter
from bayestune.tuning.folds import fold_plan
from bayestune.tuning.model import Candidate
from bayestune.tuning.selection import Scored, select

SUITE = """
[suite]
name = "m"
scenarios = ["quickstart"]
seeds = [0, 1]
[tuning]
trials = 4
folds = 2
horizon = 6
fitter = "tests.tuning.fakes:TruthShaped"
space = { yearly_seasonality = [1, 4], l_max = [3, 8] }
final = { test_weeks = 8 }
[methodology.default]
tuning = { selection = "one-se" }
[methodology.seed-recipe]
reference = true
tuning = { validation = "tail", horizon = 12 }
"""


def _trial(number, ys, l_max, value):
    return Scored(number, {"yearly_seasonality": ys, "l_max": l_max, "adstock": "geometric",
                           "saturation": "logistic"}, value, [[value, value]])


TRIALS = [_trial(0, 2, 6, 10.0), _trial(1, 4, 3, 30.0), _trial(2, 3, 8, 20.0), _trial(3, 4, 5, 30.0)]


def test_highest_score_chooses_the_worst_trial():
    assert highest(TRIALS).number == 1  # the highest mean, the earlier of the tie
    chosen = select(TRIALS, "bayestune.bench.mutants.selection:highest")
    assert chosen.chosen.number == 1 and chosen.lowest.number == 0


def test_most_complex_chooses_the_largest_structure_whatever_its_score():
    assert most_complex(TRIALS).number == 3  # Fourier 4 beats 3; l_max 5 beats 3 among the Fourier 4s
    assert most_complex(TRIALS[:3]).number == 1
    assert select(TRIALS, "bayestune.bench.mutants.selection:most_complex").chosen.number == 3


class Recording:
    """Records what the wrapper passes on."""

    def __init__(self):
        self.calls = []

    def fit(self, candidate, columns, data, settings, seed):
        from bayestune.tuning.model import Timings

        self.calls.append(("fit", len(data), seed))
        return "fitted", Timings()

    def predict(self, fitted, columns, data, *, seed, out_of_sample):
        self.calls.append(("predict", len(data), out_of_sample))
        return np.zeros((2, len(data))), 0.0

    def diagnose(self, fitted):
        from tests.tuning.fakes import FakeFitter

        self.calls.append(("diagnose",))
        return FakeFitter().diagnose(fitted)

    def save(self, fitted, path, seed):
        self.calls.append(("save", seed))

    def release(self):
        self.calls.append(("release",))


def test_no_carry_over_passes_everything_on_but_predicts_held_out_weeks_from_zero_adstock():
    inner = Recording()
    mutant = NoCarryOver(inner)
    mutant.fit(None, None, pd.DataFrame({"y": range(5)}), None, 3)
    mutant.predict("fitted", None, pd.DataFrame({"y": range(4)}), seed=1, out_of_sample=True)
    mutant.diagnose("fitted"), mutant.save("fitted", Path("x"), 7), mutant.release()
    assert inner.calls == [("fit", 5, 3), ("predict", 4, False), ("diagnose",), ("save", 7), ("release",)]


def test_no_carry_over_held_out_predictions_lose_the_carried_adstock(quickstart):
    """On the truth-shaped fake (whose held-out weeks carry adstock over from the fit), the
    mutant's first held-out weeks are lower and the later ones the same."""
    from tests.tuning.fakes import Fitted, TruthShaped

    columns = SimpleNamespace(target=quickstart.truth["columns"]["target"])
    fitted = Fitted(Candidate(2, 6), 0)
    held = quickstart.data.iloc[50:62]
    honest, _ = TruthShaped().predict(fitted, columns, held, seed=1, out_of_sample=True)
    mutant, _ = NoCarryOver(TruthShaped()).predict(fitted, columns, held, seed=1, out_of_sample=True)
    gap = honest.mean(0) - mutant.mean(0)
    assert np.all(gap[:6] > 0) and gap[0] > gap[5] and np.allclose(gap[6:], 0)


def test_no_carry_over_is_named_around_any_fitter():
    for inner in ("tests.tuning.fakes:FakeFitter", "pymc-marketing"):
        fitter = resolve_fitter(name_for(inner))
        assert isinstance(fitter, NoCarryOver) and inner in fitter.description
    assert type(resolve_fitter(name_for("tests.tuning.fakes:FakeFitter")).inner).__name__ == "FakeFitter"
    config = config_from_dict({"fitter": name_for("tests.tuning.fakes:Ess31")}, "t")
    assert resolve_fitter(config.fitter).inner.ess == 31.0


def test_in_sample_folds_score_weeks_the_fit_saw():
    config = config_from_dict({"folds": 3, "horizon": 6, "final": {"test_weeks": 8},
                               "validation": "bayestune.bench.mutants.in_sample:in_sample"}, "t")
    folds = fold_plan(104, config)
    honest = fold_plan(104, config.model_copy(update={"validation": "rolling"}))
    assert [(f.train_end, f.test_end) for f in folds] == [(f.train_end, f.test_end) for f in honest]
    assert all(f.in_sample and f.fit_end == f.test_end for f in folds)
    assert all(not f.in_sample and f.fit_end == f.train_end for f in honest)
    assert in_sample(104, config) == folds


def test_an_in_sample_trial_fits_the_scored_weeks_and_predicts_them_in_sample(quickstart, tmp_path):
    from bayestune.simulator.dataset import read_dataset, write_dataset
    from bayestune.tuning.gate import GateThresholds
    from bayestune.tuning.model import FitSettings
    from bayestune.tuning.trial import TrialRecord, run_trial

    dataset = read_dataset(write_dataset(quickstart, tmp_path / "d"))
    config = config_from_dict({"folds": 2, "horizon": 6, "final": {"test_weeks": 8},
                               "validation": "bayestune.bench.mutants.in_sample:in_sample"}, "t")
    inner = Recording()
    run_trial(Candidate(2, 6), dataset, fold_plan(dataset.weeks, config), FitSettings("numpyro", 10, 10, 1, {}),
              GateThresholds(1, 9, 0), seed=0, trial_number=0, record=TrialRecord(Candidate(2, 6)), fitter=inner)
    fits = [c for c in inner.calls if c[0] == "fit"]
    predicts = [c for c in inner.calls if c[0] == "predict"]
    n = dataset.weeks - 8
    assert [f[1] for f in fits] == [n - 6, n] and predicts == [("predict", n - 6, False), ("predict", n, False)]


def test_the_space_cut_excludes_the_truth():
    assert cut(3, 8, 6, 1) == (3, 5)
    assert cut(1, 4, 1, 0) == (2, 4)  # the truth at the low end: the part above
    assert cut(4, 8, 2, 1) == (4, 8)  # already without it
    assert cut(6, 6, 6, 1) is None


def test_space_without_truth_cells_exclude_each_seeds_truth_and_reruns_only_change_the_study_seed(tmp_path):
    (tmp_path / "m.toml").write_text(SUITE)
    suite = with_mutants(load_suite(tmp_path / "m.toml"))
    names = list(suite.methodologies)
    assert names == ["default", "seed-recipe", *MUTANTS, "default-rerun1", "default-rerun2"]
    cells = {c.key: c for c in suite.cells()}
    assert len(cells) == 2 * len(names), "every key is unique"
    for seed in (0, 1):
        truth = true_structure("quickstart", seed)
        space = cells[f"quickstart/seed{seed}/space-without-truth"].tuning["space"]
        for dim in ("yearly_seasonality", "l_max"):
            lo, hi = space[dim]
            assert not lo <= truth[dim] <= hi and hi - lo >= 0
        default = cells[f"quickstart/seed{seed}/default"]
        for k in (1, 2):
            rerun = cells[f"quickstart/seed{seed}/default-rerun{k}"]
            assert rerun.seed == default.seed == seed, "the same dataset"
            assert rerun.tuning["seed"] == seed + 1000 * k != default.tuning["seed"]
            assert {**rerun.tuning, "seed": 0} == {**default.tuning, "seed": 0}, "the unchanged default"
            assert suite.methodologies[rerun.methodology].mutant == RERUN
    carry = cells["quickstart/seed0/no-carry-over"].tuning
    assert carry["fitter"] == name_for("tests.tuning.fakes:TruthShaped")
    random = cells["quickstart/seed0/random-choice"].tuning
    assert (random["trials"], random["optuna_sampler"]) == (1, "random")
    assert cells["quickstart/seed0/highest-score"].tuning["selection"].endswith(":highest")
    assert suite.fingerprint() != load_suite(tmp_path / "m.toml").fingerprint()


def test_a_suites_mutants_table_plants_the_named_ones(tmp_path):
    (tmp_path / "m.toml").write_text(SUITE + '[mutants]\nnames = ["highest-score"]\nreruns = 1\n')
    suite = load_suite(tmp_path / "m.toml")
    assert list(suite.methodologies) == ["default", "seed-recipe", "highest-score", "default-rerun1"]
    assert with_mutants(suite) is suite, "planted once"
    more = with_mutants(suite, reruns=3)  # `bench --mutants --reruns 3` on that suite
    assert list(more.methodologies) == ["default", "seed-recipe", "highest-score", *(f"default-rerun{k}" for k in (1, 2, 3))]
    assert more.spec.mutants.reruns == 3 and more.spec.mutants.names == ("highest-score",)
    assert list(with_mutants(suite, reruns=0).methodologies) == ["default", "seed-recipe", "highest-score"]


def test_a_mutant_drawn_several_times_differs_only_in_its_study_seed(tmp_path):
    (tmp_path / "m.toml").write_text(SUITE + '[mutants]\nnames = ["random-choice"]\nreruns = 0\ndraws = 3\n')
    suite = load_suite(tmp_path / "m.toml")
    names = ["random-choice", "random-choice-draw2", "random-choice-draw3"]
    assert list(suite.methodologies) == ["default", "seed-recipe", *names]
    draws = [suite.methodologies[n] for n in names]
    assert [m.study_seed for m in draws] == [0, 1000, 2000] and {m.mutant for m in draws} == {"random-choice"}
    assert all(m.tuning == draws[0].tuning for m in draws)
    cells = {c.key: c for c in suite.cells()}
    assert cells["quickstart/seed0/random-choice-draw3"].tuning["seed"] == 2000


@pytest.mark.parametrize(("edit", "argv", "message"), [
    (lambda s: s + '[mutants]\nnames = ["nope"]\n', [], "unknown mutant 'nope' (known: random-choice"),
    (lambda s: s + '[methodology.highest-score]\n', ["--mutants"], "already has a methodology named 'highest-score'"),
    (lambda s: s.replace("l_max = [3, 8]", "l_max = [6, 6]"), ["--mutants"], "holds only the true value 6"),
    (lambda s: s, ["--reruns", "2"], "--reruns goes with --mutants"),
    (lambda s: s, ["--mutants", "--reruns", "-1"], "must be 0 or more (--reruns)"),
])
def test_bad_mutants_are_one_line_errors(tmp_path, capsys, edit, argv, message):
    (tmp_path / "m.toml").write_text(edit(SUITE))
    out = tmp_path / "out"
    assert main(["bench", "--suite", str(tmp_path / "m.toml"), "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bayestune: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_a_bad_fold_plan_is_a_one_line_error(capsys, tmp_path):
    (tmp_path / "c.toml").write_text('validation = "nowhere.at_all:plan"\n')
    assert main(["tune", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--config", str(tmp_path / "c.toml")]) == 2
    err = capsys.readouterr().err
    assert "validation: cannot import 'nowhere.at_all'" in err and err.count("\n") == 1
    assert json.loads(json.dumps(sorted(MUTANTS))) == sorted(MUTANTS)


def test_exclude_truth_cuts_only_the_named_dimensions(tmp_path):
    (tmp_path / "m.toml").write_text(SUITE + '[methodology.short]\nexclude_truth = ["l_max"]\n')
    cell = next(c for c in load_suite(tmp_path / "m.toml").cells((0,)) if c.methodology == "short")
    assert cell.tuning["space"] == {"yearly_seasonality": [1, 4], "l_max": [3, true_structure("quickstart", 0)["l_max"] - 1],
                                    "adstock": ["geometric"], "saturation": ["logistic"]}
