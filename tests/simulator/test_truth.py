"""A truth.json written by another generator: checked against the minimal schema, part by part."""

from __future__ import annotations

import json

import pytest

from bayestune.cli import main
from bayestune.errors import BayestuneError
from bayestune.simulator import read_dataset, write_dataset
from bayestune.simulator.truth import check_truth


def foreign_truth(truth: dict) -> dict:
    """The truth as a generator other than bayestune's might write it: the fields the report
    needs under the documented names, but no parameters, scenario or generator record."""
    keep = ("schema", "columns", "structure", "roas", "contribution_share", "adstock_kernel", "effective_l_max")
    return {k: truth[k] for k in keep}


@pytest.fixture()
def dataset_dir(tmp_path, quickstart):
    return write_dataset(quickstart, tmp_path / "data")


def rewrite(path, change):
    truth = json.loads((path / "truth.json").read_text())
    truth = change(truth) or truth
    (path / "truth.json").write_text(json.dumps(truth))


def test_our_own_truth_lacks_nothing(dataset_dir):
    check = read_dataset(dataset_dir).truth_check()
    assert check.problems == [] and check.unavailable == {}


def test_a_foreign_truth_without_parameters_leaves_only_parameter_recovery_out(dataset_dir):
    rewrite(dataset_dir, foreign_truth)
    check = read_dataset(dataset_dir).truth_check()
    assert check.problems == ["parameters.scaled is missing: parameter recovery is not available"]
    assert list(check.unavailable) == ["parameter_recovery"]
    assert check.available("hyperparameters") and check.available("channel_recovery")


def test_one_line_per_problem_naming_what_each_leaves_out(dataset_dir, quickstart):
    def change(truth):
        del truth["structure"]["l_max"]
        truth["share"] = truth.pop("contribution_share")  # renamed
        truth["roas"].pop("search")
        truth["adstock_kernel"]["tv"] = [0, 0]
        truth["parameters"]["scales"]["target_scale"] = -1

    rewrite(dataset_dir, change)
    (dataset_dir / "contributions.csv").write_text(
        quickstart.contributions.rename(columns={"tv": "TV"}).to_csv(index=False))
    check = read_dataset(dataset_dir).truth_check()
    assert check.problems == [
        "structure.l_max is missing: the chosen structure against the true one is not available",
        "adstock_kernel.tv is not a list of non-negative weights, not all zero: the adstock kernel comparison is not available",
        "roas has no value for channel(s) search: the recovery of ROAS, contribution shares and contributions is not available",
        "contribution_share is missing: the recovery of ROAS, contribution shares and contributions is not available",
        "contributions.csv has no column(s) tv: the recovery of ROAS, contribution shares and contributions is not available",
        "parameters.scales.target_scale is -1, not a positive number: parameter recovery is not available",
    ]
    assert check.unavailable == {
        "hyperparameters": "structure.l_max is missing",
        "adstock_kernels": "adstock_kernel.tv is not a list of non-negative weights, not all zero",
        "channel_recovery": "roas has no value for channel(s) search",
        "parameter_recovery": "parameters.scales.target_scale is -1, not a positive number",
    }


def test_validate_prints_each_problem_and_still_passes(capsys, dataset_dir):
    rewrite(dataset_dir, lambda t: {k: v for k, v in foreign_truth(t).items() if k != "roas"})
    assert main(["validate", "--data", str(dataset_dir)]) == 0
    out = capsys.readouterr().out
    assert "  truth: yes; 2 problem(s), the rest is scored:\n" in out
    assert "    truth.json: roas is missing: the recovery of ROAS, contribution shares and contributions is not available\n" in out
    assert "    truth.json: parameters.scaled is missing: parameter recovery is not available\n" in out


def test_a_truth_that_cannot_name_the_columns_is_refused_with_every_problem(capsys, dataset_dir):
    rewrite(dataset_dir, lambda t: {"schema": "other/2", "columns": {"date": "date", "channels": []}})
    with pytest.raises(BayestuneError) as info:
        read_dataset(dataset_dir)
    assert str(info.value) == (
        "3 problems: truth.json schema is 'other/2', expected 'bayestune.truth/1'; truth.json columns.target "
        "is not a column name; truth.json columns.channels is not a non-empty list of column names "
        f"({dataset_dir / 'truth.json'})")
    assert main(["validate", "--data", str(dataset_dir)]) == 2
    assert capsys.readouterr().err == f"bayestune: error: {info.value}\n"


def test_check_truth_without_contributions_or_structure():
    check = check_truth({"roas": {"tv": 1.0}, "contribution_share": {"tv": 1.0}}, ["tv"])
    assert check.unavailable["channel_recovery"] == "contributions.csv is missing"
    assert check.unavailable["hyperparameters"] == "structure is missing"
    assert check.problems[0] == ("structure is missing: the chosen structure against the true one and "
                                 "parameter recovery are not available")
