"""Bad tuning config or data ends in one line and exit status 2, before any sampling."""

from __future__ import annotations

import pytest

from bayestune.cli import main
from bayestune.simulator import simulate, write_dataset
from bayestune.tuning import load_config


@pytest.fixture()
def data_dir(tmp_path):
    return write_dataset(simulate("short", seed=0), tmp_path / "data")


@pytest.mark.parametrize(
    ("config_text", "flags", "fragment"),
    [
        ("trials = 3\ncolour = 1\n", [], "unknown key 'colour'"),
        ("[space]\nl_max = [8, 4]\n", [], "l_max range [8, 4]"),
        ("draws = 'many'\n", [], "draws"),
        ("draws = = 1\n", [], "not valid TOML"),
        ("", ["--trials", "0"], "trials"),
        ("", ["--sampler", "stan"], "invalid choice: 'stan'"),
        ("", [], "too few weeks: 52 weeks leave"),
    ],
    ids=["unknown-key", "empty-range", "wrong-type", "bad-toml", "zero-trials", "bad-sampler", "too-short"],
)
def test_bad_config_or_data_is_one_line(capsys, tmp_path, data_dir, config_text, flags, fragment):
    cfg = tmp_path / "c.toml"
    cfg.write_text(config_text)
    code = main(["tune", "--data", str(data_dir), "--out", str(tmp_path / "run"), "--config", str(cfg), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("bayestune: error: "), err
    assert fragment in err


def test_flags_override_the_config_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("trials = 7\ndraws = 100\n[final]\ntest_weeks = 10\n")
    config = load_config(cfg, {"trials": 3, "draws": None})
    assert (config.trials, config.draws, config.final.test_weeks) == (3, 100, 10)
    assert "test_weeks = 10" in config.to_toml()
