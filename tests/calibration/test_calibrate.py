"""``bayestune calibrate``: bad input, the prior's fixed scale, quantities, a real small run and its resume.

The statistics (ranks, band, verdicts on a correct and on miscalibrated posteriors) are
tested in ``tests/evaluation/test_sbc.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from bayestune.calibration.simulation import Design, quantities
from bayestune.cli import main


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bayestune: error: "), err
    return err


@pytest.mark.parametrize(("args", "says"), [
    (["--sims", "10"], "give exactly one of --preset NAME or --scenario FILE"),
    (["--preset", "nope", "--sims", "10"], "nope"),
    (["--preset", "quickstart", "--sims", "1"], "at least 2 simulations"),
    (["--preset", "quickstart", "--level", "1.5"], "strictly between 0 and 1"),
    (["--preset", "quickstart", "--thin", "0"], "--thin"),
    (["--preset", "quickstart", "--draws", "0"], "--draws"),
    (["--preset", "quickstart", "--scenario", "x.toml"], "not allowed with argument"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, says):
    assert main(["calibrate", "--out", str(tmp_path / "out"), *args]) == 2
    assert says in _error(capsys)
    assert not (tmp_path / "out").exists()


def test_a_non_empty_dir_that_holds_no_calibration_is_refused_and_kept(capsys, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["calibrate", "--preset", "quickstart", "--sims", "5", "--out", str(tmp_path)]) == 2
    assert "holds no calibration" in _error(capsys)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_a_fixed_target_scale_does_not_move_with_the_data(quickstart):
    from bayestune.simulator.dataset import ColumnRoles
    from bayestune.tuning.model import build_mmm, true_candidate

    roles = ColumnRoles.from_truth(quickstart.truth)
    X, y = quickstart.data.drop(columns=roles.target), quickstart.data[roles.target]
    default = build_mmm(true_candidate(quickstart.truth), roles)
    default.build_model(X, 3 * y)
    fixed = build_mmm(true_candidate(quickstart.truth), roles, target_scale=1234.5)
    fixed.build_model(X, 3 * y)
    assert float(default.model["target_scale"].eval()) == pytest.approx(3 * float(y.abs().max()))
    assert float(fixed.model["target_scale"].eval()) == pytest.approx(1234.5)


def test_quantities_are_named_elements_and_roas_in_target_units():
    draws, dates = 3, 4
    rng = np.random.default_rng(0)
    cc = rng.uniform(0, 1, size=(1, draws, dates, 2))
    alpha = rng.uniform(0, 1, size=(1, draws, 2))
    group = xr.Dataset({
        "channel_contribution": (("chain", "draw", "date", "channel"), cc),
        "adstock_alpha": (("chain", "draw", "channel"), alpha),
        "y_sigma": (("chain", "draw"), np.arange(draws, dtype=float)[None]),
    }, coords={"channel": ["tv", "search"]})
    d = Design("x", 0, None, None, None, None, target_scale=10.0, spend={"tv": 5.0, "search": 2.0})
    out = quantities(group, d, ["adstock_alpha[search]", "y_sigma", "roas[tv]", "roas[search]"])
    assert out.shape == (draws, 4)
    np.testing.assert_allclose(out[:, 0], alpha[0, :, 1])
    np.testing.assert_allclose(out[:, 1], [0, 1, 2])
    np.testing.assert_allclose(out[:, 2], cc[0, :, :, 0].sum(axis=1) * 10.0 / 5.0)
    np.testing.assert_allclose(out[:, 3], cc[0, :, :, 1].sum(axis=1) * 10.0 / 2.0)


@pytest.mark.slow
def test_a_small_real_calibration_on_dask_writes_its_report_and_resumes(capsys, tmp_path):
    """Three real simulations on a (threaded) Dask LocalCluster, then a resume in-process."""
    from distributed import LocalCluster

    out = tmp_path / "sbc"
    args = ["calibrate", "--preset", "quickstart", "--sims", "3", "--draws", "30", "--tune", "30",
            "--chains", "1", "--thin", "3", "--out", str(out)]
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        assert main([*args, "--scheduler", cluster.scheduler_address]) == 0
    printed = capsys.readouterr().out
    assert "3 simulations (0 already done), dask" in printed and "3 of 3 simulations finished" in printed
    p = json.loads((out / "calibration.json").read_text())
    assert p["schema"] == "bayestune.calibration/1"
    assert p["simulations"] == {"requested": 3, "ok": 3, "failed": 0, "errors": []}
    assert p["n_draws"] == 10 and p["thin"] == 3
    names = list(p["quantities"])
    assert names[0] == "intercept_contribution" and names[-2:] == ["roas[tv]", "roas[search]"]
    assert len(names) == 15  # intercept, 3 x 2 channel parameters, 1 control, 4 Fourier terms, sigma, 2 ROAS
    for name in names:
        assert all(0 <= r <= 10 for r in p["ranks"][name]) and len(p["ranks"][name]) == 3
        assert set(p["quantities"][name]["coverage"]) == {"0.5", "0.8", "0.9", "0.95"}
    assert (out / "figures" / "sbc_ecdf.png").stat().st_size > 10_000
    md = (out / "calibration.md").read_text()
    assert "| `roas[search]` |" in md and "3 of 3 finished" in md
    # each simulation's truth is its own prior draw, and the fitted target is that draw's
    truths = [json.loads((out / "sims" / f"sim{i:04d}.json").read_text())["truth"] for i in range(3)]
    assert len({t["y_sigma"] for t in truths}) == 3

    before = {f.name: f.stat().st_mtime_ns for f in (out / "sims").iterdir()}
    assert main(args) == 0
    assert "3 simulations (3 already done)" in capsys.readouterr().out
    assert {f.name: f.stat().st_mtime_ns for f in (out / "sims").iterdir()} == before
    assert json.loads((out / "calibration.json").read_text())["ranks"] == p["ranks"]

    assert main([*args[:-2], "--draws", "50", "--out", str(out)]) == 2
    assert "other settings (fit)" in _error(capsys)
