"""Resolving plug-ins: built-in name, entry point, import path; a bad one is one line, exit 2,
nothing written, no sampling started, for every seam, in a tuning config and in a suite."""

from __future__ import annotations

import pytest
import tomli_w

from bayestune.bench.suite import load_suite
from bayestune.cli import main
from bayestune.errors import BayestuneError
from bayestune.plugins import entry_point_names
from bayestune.simulator import simulate, write_dataset
from bayestune.tuning.selection import resolve_rule

BAD = [
    # (config keys, what the line must say): a bad path, a missing attribute, a wrong signature per seam
    ({"selection": "no_such_package.rules:rule"}, "selection: cannot import 'no_such_package.rules'"),
    ({"selection": "bayestune_example.selection:missing"}, "selection: 'bayestune_example.selection' has no attribute 'missing'"),
    ({"selection": "bayestune_example.score:dawid_sebastiani"}, "selection: 'bayestune_example.score:dawid_sebastiani' has the wrong signature"),
    ({"selection": "fewest-lag"}, "selection: unknown name 'fewest-lag' (known: lowest, one-se, fewest-lags;"),
    ({"score": "no_such_package:score"}, "score: cannot import 'no_such_package'"),
    ({"score": "bayestune_example.score:missing"}, "score: 'bayestune_example.score' has no attribute 'missing'"),
    ({"score": "bayestune_example.selection:fewest_lags"}, "must take 2 positional argument(s)"),
    ({"fitter": "no_such_package:Fitter"}, "fitter: cannot import 'no_such_package'"),
    ({"fitter": "bayestune_example.fitter:Missing"}, "fitter: 'bayestune_example.fitter' has no attribute 'Missing'"),
    ({"fitter": "tests.tuning.fakes:WrongPredict"}, "method 'predict' has the wrong signature"),
    ({"fitter": "tests.tuning.fakes:NoDiagnose"}, "has no method 'diagnose'"),
    ({"optuna_sampler": "no_such_package:Sampler"}, "optuna_sampler: cannot import 'no_such_package'"),
    ({"optuna_sampler": "bayestune_example.sampler:Missing"}, "optuna_sampler: 'bayestune_example.sampler' has no attribute"),
    ({"optuna_sampler": {"name": "tpe", "kwargs": {"n_startup": 2}}}, "unexpected keyword argument 'n_startup'"),
    ({"optuna_sampler": "bayestune_example.pruner:PatientMedianPruner"}, "is not an Optuna sampler class"),
    ({"pruner": {"name": "no_such_package:Pruner"}}, "pruner: cannot import 'no_such_package'"),
    ({"pruner": {"name": "bayestune_example.pruner:Missing"}}, "pruner: 'bayestune_example.pruner' has no attribute"),
    ({"pruner": {"name": "patient-median", "kwargs": {"patience": 1, "warmup": 3}}}, "unexpected keyword argument 'warmup'"),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_dataset(simulate("quickstart", seed=0), tmp_path_factory.mktemp("data") / "q")


@pytest.mark.parametrize("keys, message", BAD, ids=lambda v: str(v)[:60] if isinstance(v, dict) else "")
def test_a_bad_plugin_in_a_config_is_one_line_and_nothing_is_written(tmp_path, capsys, data_dir, keys, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(tomli_w.dumps({"trials": 1} | keys))
    run = tmp_path / "run"
    assert main(["tune", "--data", str(data_dir), "--out", str(run), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bayestune: error: invalid config: ") and err.count("\n") == 1, err
    assert message in err and str(cfg) in err
    assert not run.exists()


def test_a_bad_plugin_flag_is_one_line(tmp_path, capsys, data_dir):
    run = tmp_path / "run"
    assert main(["tune", "--data", str(data_dir), "--out", str(run), "--selection", "bayestune_example.selection:nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no attribute 'nope'" in err and "flags" in err
    assert not run.exists()


SUITE = """
[suite]
name = "t"
scenarios = ["quickstart"]
seeds = [0]
[methodology.mine]
tuning = { trials = 2, selection = "SELECTION", score = "dawid-sebastiani", optuna_sampler = { name = "halton" } }
[gate]
methodologies = ["mine"]
"""


def test_a_suite_carries_plugin_names_into_its_cells_and_fingerprint(tmp_path, capsys):
    (tmp_path / "t.toml").write_text(SUITE.replace("SELECTION", "fewest-lags"))
    suite = load_suite(tmp_path / "t.toml")
    cell = suite.cells()[0].to_dict()
    assert cell["tuning"]["selection"] == "fewest-lags" and cell["tuning"]["score"] == "dawid-sebastiani"
    (tmp_path / "u.toml").write_text(SUITE.replace("SELECTION", "bayestune_example.selection:fewest_lags"))
    assert load_suite(tmp_path / "u.toml").fingerprint() != suite.fingerprint(), "the name is what is hashed"

    (tmp_path / "bad.toml").write_text(SUITE.replace("SELECTION", "bayestune_example.selection:nope"))
    out = tmp_path / "out"
    assert main(["bench", "--suite", str(tmp_path / "bad.toml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "methodology.mine" in err and "has no attribute 'nope'" in err
    assert not out.exists()


def test_resolution_order_and_entry_points():
    from bayestune_example.selection import fewest_lags

    from bayestune.tuning.selection.one_se import one_se

    assert "fewest-lags" in entry_point_names("selection")
    assert resolve_rule("fewest-lags") is fewest_lags
    assert resolve_rule("bayestune_example.selection:fewest_lags") is fewest_lags
    assert resolve_rule("one-se") is one_se
    with pytest.raises(BayestuneError, match="not an import path"):
        resolve_rule(":fewest_lags")


def test_a_factory_named_with_an_argument_is_called_with_it():
    """``package.module:factory(ARG)``: the object is called with the text in the parentheses."""
    from bayestune.plugins import load

    got = load("fitter", "bayestune.bench.mutants.carry_over:NoCarryOver(tests.tuning.fakes:FakeFitter)", {}, "t")
    from tests.tuning.fakes import FakeFitter

    assert isinstance(got.inner, FakeFitter)
    assert load("x", "collections:OrderedDict", {}, "t").__name__ == "OrderedDict"  # no parentheses: the object
