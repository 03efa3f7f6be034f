"""Reading a dataset dir validates it and names the offending column or lines."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bayestune.cli import main
from bayestune.errors import BayestuneError
from bayestune.simulator import ColumnRoles, read_dataset, required_weeks, simulate, write_dataset


@pytest.fixture()
def dataset_dir(tmp_path, quickstart):
    return write_dataset(quickstart, tmp_path / "data")


def edit_csv(path, edit):
    lines = (path / "data.csv").read_text().splitlines()
    edit(lines)
    (path / "data.csv").write_text("\n".join(lines) + "\n")


def test_reads_a_simulated_dataset_with_its_truth(dataset_dir, quickstart):
    ds = read_dataset(dataset_dir)
    assert ds.has_truth and ds.weeks == 78
    assert ds.columns == ColumnRoles("date", "y", ("tv", "search"), ("promo",))
    np.testing.assert_array_equal(ds.data["y"].to_numpy(), quickstart.data["y"].to_numpy())
    assert str(ds.data["date"].dtype).startswith("datetime64")
    assert list(ds.contributions.columns) == ["date", "tv", "search"]


def test_a_users_own_csv_needs_column_roles(dataset_dir):
    (dataset_dir / "truth.json").unlink()
    with pytest.raises(BayestuneError, match="no truth.json names the column roles"):
        read_dataset(dataset_dir)
    ds = read_dataset(dataset_dir, ColumnRoles("date", "y", ("tv", "search")))
    assert not ds.has_truth and ds.contributions is None


@pytest.mark.parametrize(
    ("edit", "message", "where"),
    [
        (lambda ls: ls.__setitem__(0, ls[0].replace(",search", ",srch")), "missing column(s): search", "data.csv"),
        (lambda ls: ls.__setitem__(3, "2022-13-45" + ls[3][10:]), "not ISO dates", "line(s) 4"),
        (lambda ls: ls.__setitem__(3, ls[2]), "duplicate dates", "line(s) 3, 4"),
        (lambda ls: ls.__setitem__(3, ls[3].replace(ls[3][:10], "2021-01-04")), "not sorted", "line(s) 4"),
        (lambda ls: ls.pop(5), "not weekly without gaps (steps of [14] days)", "line(s) 6"),
        (lambda ls: ls.__setitem__(7, ",".join(ls[7].split(",")[:-1] + ["lots"])), "'y' has non-numeric", "line(s) 8"),
        (lambda ls: ls.__setitem__(8, ",".join(ls[8].split(",")[:-1] + [""])), "target 'y' has missing", "line(s) 9"),
        (lambda ls: ls.__setitem__(9, ",".join([ls[9].split(",")[0], "-5"] + ls[9].split(",")[2:])), "channel 'tv' has negative spend", "line(s) 10"),
    ],
    ids=["missing-column", "bad-date", "duplicate", "unsorted", "gap", "non-numeric", "missing-target", "negative-spend"],
)
def test_each_problem_names_its_column_or_lines(dataset_dir, edit, message, where):
    edit_csv(dataset_dir, edit)
    with pytest.raises(BayestuneError) as info:
        read_dataset(dataset_dir)
    assert message in str(info.value)
    assert where in str(info.value)


def test_too_few_weeks_for_the_largest_l_max_and_holdout(dataset_dir):
    assert required_weeks(12, 24) == 37
    read_dataset(dataset_dir, min_weeks=78)
    with pytest.raises(BayestuneError, match="too few weeks: 78, need at least 79"):
        read_dataset(dataset_dir, min_weeks=79)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"date,y\n", "no rows"), (b'date,tv\n"2022-01-03,1\n', "cannot be parsed"),
     (b"\xff\xfe\x00garbage", "cannot be parsed")],
    ids=["empty", "header-only", "unclosed-quote", "binary"],
)
def test_broken_csv_from_the_command_line(capsys, dataset_dir, content, message):
    (dataset_dir / "data.csv").write_bytes(content)
    code = main(["validate", "--data", str(dataset_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("bayestune: error: ")
    assert message in err and "data.csv" in err


def test_validate_command_on_good_and_truthless_data(capsys, dataset_dir, tmp_path):
    assert main(["validate", "--data", str(dataset_dir)]) == 0
    assert "valid. 78 weeks" in capsys.readouterr().out
    own = tmp_path / "own"
    own.mkdir()
    shutil.copy(dataset_dir / "data.csv", own / "data.csv")
    assert main(["validate", "--data", str(own)]) == 2
    assert main(["validate", "--data", str(own), "--channels", "tv,search", "--controls", "promo"]) == 0
    assert "truth: none" in capsys.readouterr().out


def test_a_short_dataset_is_too_short_for_the_default_search(capsys, tmp_path):
    write_dataset(simulate("short", seed=0), tmp_path / "s")
    assert main(["validate", "--data", str(tmp_path / "s"), "--max-l-max", "30"]) == 2
    assert "too few weeks: 52, need at least 55" in capsys.readouterr().err


def test_every_problem_is_reported_by_line_in_one_error(capsys, dataset_dir):
    def edit(ls):
        ls[10] = ",".join(ls[10].split(",")[:-1] + [""])  # line 11: the target is missing
        ls[20] = ls[19]  # lines 20 and 21: the same date
        ls[30] = ",".join([ls[30].split(",")[0], "lots"] + ls[30].split(",")[2:])  # line 31: text as spend

    edit_csv(dataset_dir, edit)
    with pytest.raises(BayestuneError) as info:
        read_dataset(dataset_dir)
    text = str(info.value)
    assert text.startswith("3 problems: ")
    assert "column 'date' has duplicate dates (line(s) 20, 21)" in text
    assert "column 'tv' has non-numeric values (line(s) 31)" in text
    assert "target 'y' has missing values (line(s) 11)" in text
    assert text.endswith(f"({dataset_dir / 'data.csv'})")
    # the same from every command that reads a dataset: one line, exit status 2
    for argv in (["validate", "--data", str(dataset_dir)],
                 ["tune", "--data", str(dataset_dir), "--out", str(dataset_dir.parent / "run")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == f"bayestune: error: {text}\n"
    assert not (dataset_dir.parent / "run").exists()


def test_a_missing_column_does_not_hide_the_problems_of_the_others(dataset_dir):
    def edit(ls):
        ls[0] = ls[0].replace(",search", ",srch")
        ls[4] = "2022-13-45" + ls[4][10:]

    edit_csv(dataset_dir, edit)
    with pytest.raises(BayestuneError) as info:
        read_dataset(dataset_dir)
    assert "missing column(s): search; " in str(info.value)
    assert "not ISO dates (YYYY-MM-DD) (line(s) 5)" in str(info.value)


def test_column_roles_round_trip_through_plain_json_data():
    import json

    roles = ColumnRoles("date", "y", ("tv", "search"), ("promo",))
    data = json.loads(json.dumps(roles.to_dict()))  # what dataset.json and a worker's spec hold
    assert data == {"date": "date", "target": "y", "channels": ["tv", "search"], "controls": ["promo"]}
    assert ColumnRoles.from_dict(data) == roles
    assert ColumnRoles.from_dict({k: v for k, v in data.items() if k != "controls"}).controls == ()
