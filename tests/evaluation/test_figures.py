from __future__ import annotations

from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bayestune.evaluation.figures import (
    grid_figure,
    grid_means,
    history_figure,
    plot_by_hyperparameter,
    plot_grid,
    plot_history,
    plot_kernels,
    plot_predictive,
    plot_roas,
)

FIELDS = ["yearly_seasonality", "l_max", "adstock", "saturation"]
TRUTH = {"yearly_seasonality": 3, "l_max": 6, "adstock": "geometric", "saturation": "logistic"}


def _trials(n: int = 24, seed: int = 0) -> pd.DataFrame:
    """A small trials frame shaped like ``trials_frame``: pruned and failed trials, NaNs."""
    rng = np.random.default_rng(seed)
    state = rng.choice(["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED"], n)
    if n > 3:
        state[3] = "FAIL"
    frame = pd.DataFrame({
        "number": np.arange(n),
        "state": state,
        "value": np.where(state == "COMPLETE", rng.normal(150, 15, n), np.nan),
        "yearly_seasonality": rng.integers(0, 5, n).astype(float),
        "l_max": rng.integers(2, 9, n).astype(float),
        "adstock": rng.choice(["geometric", "delayed", "weibull_pdf"], n),
        "saturation": rng.choice(["logistic", "hill", "michaelis_menten"], n),
    })
    frame.loc[frame["state"] == "FAIL", FIELDS] = np.nan  # failed before the parameters
    return frame


def _typical() -> pd.DataFrame:
    """Trials with a far outlier and a COMPLETE trial without a score."""
    trials = _trials()
    complete = trials.index[trials["state"] == "COMPLETE"]
    trials.loc[complete[1], "value"] = 5000.0
    trials.loc[complete[2], "value"] = np.nan
    return trials


def _chosen(trials: pd.DataFrame) -> dict:
    done = trials[trials["state"] == "COMPLETE"].dropna(subset=["value"])
    if done.empty:
        return {}
    row = done.sort_values("value").iloc[0]
    return {f: row[f] for f in FIELDS} | {"number": int(row["number"])}


def _no_complete() -> pd.DataFrame:
    trials = _trials()
    trials.loc[trials["state"] == "COMPLETE", ["state", "value"]] = ["PRUNED", np.nan]
    return trials


CASES = {
    "typical": _typical(),
    "single": _trials(1).assign(state="COMPLETE", value=140.0),
    "no_complete": _no_complete(),  # only pruned and failed trials
    "empty": _trials().iloc[0:0],
}


def _check_png(path: Path, min_w: int = 400, min_h: int = 250) -> None:
    assert path.exists()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    h, w = image.shape[:2]
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert min_w <= w <= 3000 and min_h <= h <= 3000, (w, h)
    assert image[..., :3].std() > 0.02  # not a blank canvas


@pytest.mark.parametrize("case", list(CASES))
def test_plot_history(tmp_path: Path, case: str) -> None:
    trials = CASES[case]
    chosen = _chosen(trials).get("number")
    oracle = {"typical": 131.5, "single": None, "no_complete": float("nan"), "empty": 120.0}[case]
    if case == "no_complete":
        chosen = 1  # a chosen trial without a CV score
    out = plot_history(trials, tmp_path / "history.png", chosen=chosen, oracle_crps=oracle,
                       units="sales per week")
    assert out == tmp_path / "history.png"
    _check_png(out)


def _demo_trials() -> pd.DataFrame:
    """The demo's trials: trial 7 pruned after fold 0 at 377.5, trials 2 and 5 pruned by the gate
    before any fold was scored; the chosen trial 1 scored 258.0."""
    values = [268.1, 258.0, np.nan, 290.2, 305.6, np.nan, 267.9, 377.5]
    state = ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE", "COMPLETE", "PRUNED", "COMPLETE", "PRUNED"]
    folds = ["[1, 2]", "[1, 2]", "[]", "[1, 2]", "[1, 2]", "[]", "[1, 2]", "[377.5]"]
    weeks = ["[[1], [2]]", "[[1], [2]]", "[]", "[[1], [2]]", "[[1], [2]]", "[]", "[[1], [2]]", "[[370.0, 385.0]]"]
    return pd.DataFrame({"number": range(8), "state": state, "value": values, "fold_crps": folds,
                         "week_crps": weeks, "yearly_seasonality": [3, 3, 2, 2, 4, 4, 3, 1],
                         "l_max": [8, 6, 7, 9, 5, 6, 9, 3]})


def _marks(ax, label_start: str):
    return [line for line in ax.get_lines() if line.get_label().startswith(label_start)]


@pytest.mark.parametrize("with_value", [True, False], ids=["value", "week_crps-only"])
def test_history_draws_a_pruned_trial_at_its_partial_score_and_unscored_ones_apart(with_value):
    trials = _demo_trials()
    if not with_value:  # the partial score from the weeks it scored
        trials.loc[7, "value"] = np.nan
    fig = history_figure(trials, chosen=1, oracle_crps=291.6)
    main, strip = fig.axes[0], fig.axes[1]
    (pruned,) = _marks(main, "pruned, partial CRPS")
    assert list(pruned.get_xdata()) == [7] and list(pruned.get_ydata()) == [pytest.approx(377.5)]
    assert "not comparable" in pruned.get_label() and "(1)" in pruned.get_label()
    assert main.get_ylim()[1] > 377.5  # on the axis, above the chosen trial's 258.0
    # no marker of a pruned or failed trial is drawn on the CRPS axis without a score
    assert not [line for line in main.get_lines() if line.get_label().startswith(("pruned (", "failed"))]
    (unscored,) = _marks(strip, "pruned, no fold scored")
    assert sorted(unscored.get_xdata()) == [2, 5] and "(2)" in unscored.get_label()
    assert strip.get_ylabel() == "no score"
    labels = fig.legends[0].get_texts()
    assert any("partial CRPS" in t.get_text() for t in labels)


def test_grid_shows_the_oracles_score_in_a_true_cell_without_a_complete_trial():
    trials = _demo_trials()
    truth = {"yearly_seasonality": 2, "l_max": 6}
    fig = grid_figure(trials, chosen={"yearly_seasonality": 3, "l_max": 6}, truth=truth, oracle_crps=291.6)
    ax = fig.axes[0]
    image = ax.get_images()[0].get_array()
    i, j = [3, 4, 5, 6, 7, 8, 9].index(6), [1, 2, 3, 4].index(2)  # rows l_max 3..9, columns order 1..4
    assert not np.ma.is_masked(image[i, j]) and image[i, j] == pytest.approx(291.6)
    assert any(t.get_text() == "oracle\n291.6" for t in ax.texts)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "hatched: true cell, oracle trial only" in labels
    # a true cell with complete trials keeps their mean, and still shows the oracle's score
    fig = grid_figure(trials, chosen={}, truth={"yearly_seasonality": 3, "l_max": 6}, oracle_crps=291.6)
    image = fig.axes[0].get_images()[0].get_array()
    assert image[3, 2] == pytest.approx(258.0)
    assert any(t.get_text() == "oracle\n291.6" for t in fig.axes[0].texts)


@pytest.mark.parametrize("case", list(CASES))
def test_plot_by_hyperparameter(tmp_path: Path, case: str) -> None:
    trials = CASES[case]
    fields, truth = FIELDS[:2], TRUTH
    if case == "typical":
        # Truth outside the tried values, truth lacking a field, a field not in the trials,
        # a field with one value, more than four panels (a second row).
        trials = trials.assign(constant=7)
        truth = {"yearly_seasonality": 12, "adstock": "weibull_cdf", "l_max": 6}
        fields = [*FIELDS, "constant", "missing"]
    elif case == "single":
        fields, truth = ["l_max", "adstock"], None
    out = plot_by_hyperparameter(trials, tmp_path / "hp.png", fields=fields,
                                 chosen=_chosen(trials), truth=truth, units="sales per week")
    _check_png(out)
    if case == "typical":
        assert matplotlib.image.imread(out).shape[0] > 500  # two rows of panels


def test_grid_means_hand_example() -> None:
    trials = pd.DataFrame({
        "number": range(7),
        "state": ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED", "COMPLETE", "FAIL", "COMPLETE"],
        "value": [10.0, 20.0, 30.0, np.nan, 40.0, np.nan, np.nan],
        "yearly_seasonality": [1, 1, 3, 2, 3, np.nan, 1],
        "l_max": [2, 2, 2, 4, 4, np.nan, 4],
    })
    means = grid_means(trials, "yearly_seasonality", "l_max")
    assert list(means.columns) == [1, 2, 3]  # the full integer range, 2 only pruned
    assert list(means.index) == [2, 3, 4]  # l_max 3 never tried
    assert means.columns.name == "yearly_seasonality" and means.index.name == "l_max"
    assert means.loc[2, 1] == pytest.approx(15.0)
    assert means.loc[2, 3] == pytest.approx(30.0)
    assert means.loc[4, 3] == pytest.approx(40.0)
    # Never tried, only pruned, or only a COMPLETE trial without a score: NaN, not zero.
    assert means.loc[3].isna().all()
    assert np.isnan(means.loc[4, 2])
    assert np.isnan(means.loc[4, 1])
    assert means.notna().sum().sum() == 3

    wider = grid_means(trials, "yearly_seasonality", "l_max", include=[(5, 1)])
    assert list(wider.columns) == [1, 2, 3, 4, 5] and list(wider.index) == [1, 2, 3, 4]
    assert np.isnan(wider.loc[1, 5]) and wider.loc[2, 1] == pytest.approx(15.0)


def test_grid_means_empty_and_categorical() -> None:
    assert grid_means(CASES["empty"], "yearly_seasonality", "l_max").empty
    trials = _trials()
    means = grid_means(trials, "adstock", "saturation")
    assert list(means.columns) == sorted(set(trials["adstock"].dropna()))
    done = trials[trials["state"] == "COMPLETE"]
    expected = done.groupby(["saturation", "adstock"])["value"].mean()
    for (sat, ad), value in expected.items():
        assert means.loc[sat, ad] == pytest.approx(value)


@pytest.mark.parametrize("case", list(CASES))
def test_plot_grid(tmp_path: Path, case: str) -> None:
    trials = CASES[case]
    truth = None if case == "single" else {"yearly_seasonality": 6, "l_max": 10}  # outside
    out = plot_grid(trials, tmp_path / "grid.png", chosen=_chosen(trials), truth=truth,
                    units="sales per week")
    _check_png(out, min_w=300)


def test_plot_grid_missing_column(tmp_path: Path) -> None:
    _check_png(plot_grid(_trials(), tmp_path / "g.png", x="nope", chosen={}, truth=None), min_w=300)


def _series(n: int = 40, m: int = 50, seed: int = 1):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=n, freq="W")
    mu = 500 + 50 * np.sin(np.arange(n) / 5)
    return dates, mu + rng.normal(0, 10, n), mu + rng.normal(0, 12, (m, n))


def test_plot_predictive(tmp_path: Path) -> None:
    dates, observed, draws = _series()
    observed[[2, 35]] = np.nan
    draws[:, 5] = np.nan  # a week with no usable draw
    draws[0, 6] = np.nan
    out = plot_predictive(dates, observed, draws, tmp_path / "pp.png", split=30,
                          units="sales per week", levels=(0.5, 0.8, 0.95))
    _check_png(out)


def test_plot_predictive_edges(tmp_path: Path) -> None:
    dates, observed, draws = _series()
    # Nothing fitted, no draws, no dates; then a single week, nothing held out.
    _check_png(plot_predictive(None, observed, draws[:0], tmp_path / "a.png", split=0))
    _check_png(plot_predictive(dates[:1], observed[:1], draws[:, :1], tmp_path / "b.png", split=1))
    with pytest.raises(ValueError, match="shape"):
        plot_predictive(dates, observed, draws[:, :-1], tmp_path / "d.png", split=30)
    with pytest.raises(ValueError, match="split"):
        plot_predictive(dates, observed, draws, tmp_path / "e.png", split=41)


def test_plot_roas(tmp_path: Path) -> None:
    channels = ["tv", "search", "social"]
    mean, lo, hi = [2.0, 3.1, np.nan], [1.2, 2.5, np.nan], [2.9, 3.8, np.nan]
    _check_png(plot_roas(channels, mean, lo, hi, tmp_path / "a.png",
                         truth={"tv": 2.4, "search": 2.9, "social": 1.0}))
    _check_png(plot_roas(channels, mean, lo, hi, tmp_path / "b.png", truth=[2.4, np.nan, 1.0],
                         level=0.8))
    # No channel at all, into a folder that does not exist yet; pyplot's registry untouched.
    before = plt.get_fignums()
    _check_png(plot_roas([], [], [], [], tmp_path / "sub" / "dir" / "c.png"), min_h=150)
    assert plt.get_fignums() == before


def test_plot_kernels(tmp_path: Path) -> None:
    def geometric(alpha: float, length: int) -> np.ndarray:
        w = alpha ** np.arange(length)
        return w / w.sum()

    kernels = {
        "tv": {"true": geometric(0.6, 6), "fitted": geometric(0.5, 8), "l1": 0.21},
        "search": {"true": None, "fitted": geometric(0.3, 8), "l1": None},
        "social": {"true": geometric(0.4, 6), "fitted": np.full(8, np.nan), "l1": float("nan")},
        "radio": {"true": geometric(0.7, 6), "fitted": geometric(0.7, 6), "l1": 0.0},
        "print": {"true": [0.0, 0.5, 0.5], "fitted": [0.1, 0.6, 0.3]},  # a fifth: second row
    }
    _check_png(plot_kernels(kernels, tmp_path / "k.png"))
    _check_png(plot_kernels({}, tmp_path / "none.png"), min_w=300, min_h=200)


def test_figures_name_the_score_that_ranked_the_search():
    """A search ranked by another score (``score = "log"``) is not labelled CRPS anywhere."""
    trials = _demo_trials()
    truth = {"yearly_seasonality": 2, "l_max": 6}
    figs = [history_figure(trials, chosen=1, oracle_crps=291.6, score="log score"),
            grid_figure(trials, chosen={"yearly_seasonality": 3, "l_max": 6}, truth=truth, oracle_crps=291.6,
                        score="log score")]
    for fig in figs:
        texts = [fig.axes[0].get_title(), fig.axes[0].get_ylabel(), *(t.get_text() for t in fig.legends[0].get_texts())]
        texts += [ax.get_ylabel() for ax in fig.axes[1:]]  # the grid's colour bar
        assert not [t for t in texts if "CRPS" in t], texts
        assert any("log score" in t for t in texts)
    (pruned,) = _marks(figs[0].axes[0], "pruned, partial log score")
    assert list(pruned.get_xdata()) == [7]
