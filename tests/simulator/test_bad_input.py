"""Every bad input ends in one line, ``bayestune: error: ...``, exit status 2, nothing lost."""

from __future__ import annotations

import json

import pytest
import tomli_w

from bayestune.cli import main
from bayestune.simulator import simulate, write_dataset
from bayestune.errors import BayestuneError

from tests.simulator.scenarios import scenario_dict


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bayestune: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def write_scenario(tmp_path, data, name="scenario.toml"):
    path = tmp_path / name
    path.write_text(tomli_w.dumps(data))
    return path


def test_unknown_preset(capsys, tmp_path):
    code, _, err = run(capsys, "simulate", "--preset", "nope", "--out", str(tmp_path / "d"))
    assert_one_line_error(code, err, "unknown preset 'nope'", "quickstart", "(--preset)")
    assert not (tmp_path / "d").exists()


def test_unknown_flag(capsys):
    code, _, err = run(capsys, "simulate", "--preset", "quickstart", "--sed", "3")
    assert_one_line_error(code, err, "--sed")


def test_missing_scenario_file(capsys, tmp_path):
    code, _, err = run(capsys, "simulate", "--scenario", str(tmp_path / "x.toml"), "--out", str(tmp_path / "d"))
    assert_one_line_error(code, err, "scenario file not found", "x.toml")


def test_scenario_that_is_not_toml(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("weeks = = 3\n")
    code, _, err = run(capsys, "simulate", "--scenario", str(bad), "--out", str(tmp_path / "d"))
    assert_one_line_error(code, err, "not valid TOML", "bad.toml")


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda d: d.update(colour="red"), ("unknown key 'colour'",)),
        (lambda d: d["channels"][0].update(budget=3), ("unknown key 'budget'", "channels.0")),
        (lambda d: d.update(weeks="many"), ("weeks", "integer")),
        (lambda d: d["adstock"].update(l_max=-3), ("adstock.l_max", "greater than 0")),
        (lambda d: d["channels"][0]["adstock"].update(alpha=1.0), ("alpha = 1.0 is outside [0.0, 1.0)", "'tv'")),
        (lambda d: d["channels"][1]["adstock"].update(alpha=-0.1), ("alpha = -0.1 is outside",)),
        (lambda d: d.update(weeks=20), ("too few weeks: 20",)),
        (lambda d: d["channels"][0]["saturation"].pop("lam"), ("missing lam",)),
        (lambda d: d["channels"][0]["spend"].update(pattern="sometimes"), ("channels.0.spend",)),
        (lambda d: d["seasonality"].update(order=3), ("order is 3 but 2",)),
        (lambda d: d["channels"][1].update(name="tv"), ("'tv' is used twice",)),
    ],
    ids=["unknown-key", "unknown-nested-key", "wrong-type", "negative-l_max", "decay-1",
         "decay-negative", "too-few-weeks", "missing-parameter", "unknown-pattern",
         "seasonality-pairs", "duplicate-name"],
)
def test_invalid_scenario(capsys, tmp_path, change, fragments):
    data = scenario_dict()
    change(data)
    path = write_scenario(tmp_path, data)
    code, _, err = run(capsys, "simulate", "--scenario", str(path), "--out", str(tmp_path / "d"))
    assert_one_line_error(code, err, "invalid scenario", str(path), *fragments)
    assert not (tmp_path / "d").exists()


def test_non_empty_out_dir_without_force_keeps_what_is_there(capsys, tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / "mine.txt").write_text("precious")
    code, _, err = run(capsys, "simulate", "--preset", "quickstart", "--out", str(out))
    assert_one_line_error(code, err, "not empty", "--force", str(out))
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert (out / "mine.txt").read_text() == "precious"


def test_force_replaces_an_existing_dataset(capsys, tmp_path):
    out = tmp_path / "d"
    assert run(capsys, "simulate", "--preset", "quickstart", "--seed", "1", "--out", str(out))[0] == 0
    assert run(capsys, "simulate", "--preset", "short", "--seed", "2", "--out", str(out), "--force")[0] == 0
    assert json.loads((out / "truth.json").read_text())["scenario"]["name"] == "short"
    assert [p.name for p in tmp_path.iterdir()] == ["d"]  # no temporary dirs left behind


def test_unwritable_out_dir(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = run(capsys, "simulate", "--preset", "quickstart", "--out", str(blocker / "d"))
    assert_one_line_error(code, err, "cannot write the dataset", str(blocker / "d"))
    assert blocker.read_text() == "not a directory"


def test_out_path_that_is_a_file(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    code, _, err = run(capsys, "simulate", "--preset", "quickstart", "--out", str(blocker))
    assert_one_line_error(code, err, "not a directory")
    assert blocker.read_text() == "keep me"


def test_a_failure_mid_write_leaves_no_half_written_dir_and_the_old_one_intact(tmp_path):
    out = tmp_path / "d"
    write_dataset(simulate("quickstart", seed=1), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def explode(_):
        raise OSError(28, "No space left on device")

    with pytest.raises(BayestuneError, match="No space left on device"):
        write_dataset(simulate("short", seed=2), out, force=True, extra=explode)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["d"]
    with pytest.raises(BayestuneError):
        write_dataset(simulate("short", seed=2), tmp_path / "new", extra=explode)
    assert not (tmp_path / "new").exists()


def test_simulate_needs_a_source_and_an_out_dir(capsys, tmp_path):
    code, _, err = run(capsys, "simulate", "--out", str(tmp_path / "d"))
    assert_one_line_error(code, err, "--preset NAME or --scenario FILE")
    code, _, err = run(capsys, "simulate", "--preset", "quickstart")
    assert_one_line_error(code, err, "(--out)")


def test_debug_shows_the_traceback_and_keeps_status_2(capsys, tmp_path):
    code, _, err = run(capsys, "--debug", "simulate", "--preset", "nope", "--out", str(tmp_path / "d"))
    assert code == 2
    assert "Traceback" in err and "BayestuneError" in err
    assert err.strip().splitlines()[-1].startswith("bayestune: error: ")


def test_debug_keeps_status_2_for_a_usage_error(capsys):
    code, _, err = run(capsys, "--debug", "tune", "--trails", "3")
    assert code == 2
    assert "Traceback" in err
