"""Figures for the evaluation report: the search, the chosen model and the truth.

Every function takes plain data (numpy arrays, pandas DataFrames, dicts), draws one figure
and writes it as a PNG (dpi 120) to ``path``, returning that path. Figures are made with
:class:`matplotlib.figure.Figure` directly, not with pyplot, so nothing global changes (no
backend switch, no open-figure registry, no rcParams) and no GUI is touched; PNGs are
rendered by the Agg canvas that ``savefig`` picks for the format.

The conventions follow :mod:`bayestune.simulator.plot`: the ``tab10`` colours, constrained
layout, units in every axis label ("(target units)" unless told otherwise), small titles
over each panel. CRPS is the cross-validated CRPS of :mod:`bayestune.tuning`, in the
target's units; lower is better.

Trials frames have the columns of :func:`bayestune.tuning.records.trials_frame`: ``number``,
``state`` (``COMPLETE``, ``PRUNED``, ``FAIL``, ...), ``value`` (NaN unless ``COMPLETE``)
and one column per hyperparameter. Missing values, no complete trial, a single trial and
no truth are all drawn (with a note where there is nothing to show), never an error.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

__all__ = [
    "grid_figure",
    "grid_means",
    "history_figure",
    "partial_scores",
    "plot_by_hyperparameter",
    "plot_grid",
    "plot_history",
    "plot_kernels",
    "plot_predictive",
    "plot_roas",
]

DPI = 120
SMALL = 9  # legends, notes, annotations: nothing smaller than this
PANEL_TITLE = 10
SUPTITLE = 12
MAX_COLS = 4

COLOURS = matplotlib.colormaps["tab10"].colors
TRIAL_COLOUR = COLOURS[0]
CHOSEN_COLOUR = COLOURS[3]  # red
TRUTH_COLOUR = "black"
PRUNED_COLOUR = "0.45"
FAIL_COLOUR = COLOURS[1]  # orange
MISSING_CELL = "0.86"

FIELD_LABELS = {
    "yearly_seasonality": "yearly_seasonality (Fourier order)",
    "l_max": "l_max (weeks)",
    "adstock": "adstock (form)",
    "saturation": "saturation (form)",
}


# ------------------------------------------------------------------------- helpers
def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def _note(ax: Axes, text: str, y: float = 0.5) -> None:
    ax.text(0.5, y, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=SMALL + 1, color="0.35",
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7"})


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None (None, NaN, inf, text)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _missing(value: Any) -> bool:
    """None, NaN or NaT (``pd.isna`` of a scalar), never raising for other objects."""
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def _states(trials: pd.DataFrame) -> pd.Series:
    if "state" not in trials:
        return pd.Series("COMPLETE", index=trials.index)
    return trials["state"].astype(str).str.upper()


def _values(trials: pd.DataFrame) -> pd.Series:
    if "value" not in trials:
        return pd.Series(np.nan, index=trials.index, dtype=float)
    return pd.to_numeric(trials["value"], errors="coerce").astype(float)


def _complete(trials: pd.DataFrame) -> pd.DataFrame:
    """Complete trials with a finite score, ``value`` as float."""
    values = _values(trials)
    keep = (_states(trials) == "COMPLETE") & np.isfinite(values)
    out = trials.loc[keep].copy()
    out["value"] = values[keep]
    return out


def _robust_top(values: npt.ArrayLike, keep: Iterable[float | None] = ()) -> float | None:
    """An upper y limit that leaves out far outliers, or None when none are far out.

    A trial whose CRPS is many times the rest would squash the region that matters (the
    best trials, the chosen one, the truth) into a line. Values above ``Q3 + 3 IQR`` are
    drawn as markers on the top edge instead; ``keep`` values are always inside.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 5:
        return None
    q1, q3 = np.percentile(v, [25, 75])
    if q3 - q1 <= 0:
        return None
    top = max([q3 + 3.0 * (q3 - q1), *(k for k in keep if k is not None and math.isfinite(k))])
    return top if v.max() > top else None


def _set_ylim(ax: Axes, values: npt.ArrayLike, keep: Iterable[float | None] = (),
              *, bottom_room: float = 0.06) -> float | None:
    """Fit the y axis to ``values`` and ``keep``; returns the clip level (or None)."""
    keep = [k for k in keep if k is not None and math.isfinite(k)]
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    allv = np.concatenate([v, np.asarray(keep, dtype=float)])
    if allv.size == 0:
        return None
    top = _robust_top(v, keep)
    lo = float(allv.min())
    hi = float(top if top is not None else allv.max())
    span = hi - lo
    if span <= 0:
        span = abs(hi) * 0.1 or 1.0
    ax.set_ylim(lo - bottom_room * span / (1 - bottom_room), hi + 0.08 * span)
    return top


def _mark_above(ax: Axes, x: npt.ArrayLike, y: npt.ArrayLike, top: float | None) -> Line2D | None:
    """Draw values above ``top`` as triangles on the top edge; returns the legend handle."""
    if top is None:
        return None
    x, y = np.asarray(x), np.asarray(y, dtype=float)
    above = y > top
    if not above.any():
        return None
    (line,) = ax.plot(x[above], np.full(above.sum(), 0.985), ls="none", marker="^", ms=7,
                      color=TRIAL_COLOUR, alpha=0.8, clip_on=False,
                      transform=ax.get_xaxis_transform(),
                      label=f"above the axis ({int(above.sum())})")
    return line


def _panels(n: int, panel_w: float, panel_h: float, extra_h: float = 0.6,
            **subplot_kw: Any) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels, at most :data:`MAX_COLS` a row; unused cells are hidden."""
    ncols = max(1, min(MAX_COLS, n))
    nrows = max(1, math.ceil(n / ncols))
    # At least 7 inches wide, so the figure's title fits over a single panel.
    fig = _figure(max(panel_w * ncols + 0.4, 7.0), panel_h * nrows + extra_h)
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw).ravel().tolist()
    for ax in axes[max(n, 1):]:
        ax.set_visible(False)
    return fig, axes[: max(n, 1)]


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _tick_label(value: Any) -> str:
    f = _finite(value)
    if f is not None and not isinstance(value, (str, bool, np.bool_)):
        return str(int(round(f))) if float(f).is_integer() else f"{f:g}"
    return str(value)


# ------------------------------------------------------------------------- history
def partial_scores(trials: pd.DataFrame) -> pd.Series:
    """The CRPS a pruned trial had reached over the folds it finished, NaN where it has none.

    Optuna records a pruned trial's last reported value (the mean CRPS per week so far);
    without it, the mean of its scored weeks (``week_crps``) is the same number. It is not
    comparable with a complete trial's score: it covers fewer, and earlier, folds.
    """
    values = _values(trials)
    out = pd.Series(np.nan, index=trials.index, dtype=float)
    for idx in trials.index[_states(trials) == "PRUNED"]:
        if math.isfinite(values[idx]):
            out[idx] = values[idx]
        elif "week_crps" in trials:
            weeks = _json_list(trials.at[idx, "week_crps"])
            flat = [float(w) for fold in weeks for w in (fold if isinstance(fold, list) else [fold])]
            if flat and all(math.isfinite(w) for w in flat):
                out[idx] = float(np.mean(flat))
    return out


def _json_list(text: Any) -> list[Any]:
    if not isinstance(text, str):
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def history_figure(
    trials: pd.DataFrame,
    *,
    chosen: int | None,
    oracle_crps: float | None = None,
    units: str = "target units",
    score: str = "CRPS",
) -> Figure:
    """The figure of :func:`plot_history`: the CRPS axis first, the "no score" strip second."""
    fig = _figure(11.0, 5.4)
    ax, strip = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [9, 1]})
    numbers = pd.to_numeric(trials["number"], errors="coerce") if "number" in trials else pd.Series(
        np.arange(len(trials)), index=trials.index)
    states = _states(trials)
    done = _complete(trials)
    done_x = numbers[done.index].to_numpy(dtype=float)
    done_y = done["value"].to_numpy(dtype=float)
    order = np.argsort(done_x, kind="stable")
    done_x, done_y = done_x[order], done_y[order]
    partial = partial_scores(trials)
    has_partial = partial.notna() & numbers.notna()
    part_x = numbers[has_partial].to_numpy(dtype=float)
    part_y = partial[has_partial].to_numpy(dtype=float)
    oracle = _finite(oracle_crps)

    chosen_y = None
    if chosen is not None:
        hit = done_y[done_x == chosen]
        chosen_y = float(hit[0]) if hit.size else None

    top = _set_ylim(ax, np.concatenate([done_y, part_y]), [oracle, chosen_y], bottom_room=0.04)
    if done_y.size:
        shown = done_y <= top if top is not None else np.ones_like(done_y, bool)
        ax.plot(done_x[shown], done_y[shown], ls="none", marker="o", ms=5, color=TRIAL_COLOUR,
                alpha=0.75, label=f"complete trial ({done_y.size})")
        _mark_above(ax, done_x, done_y, top)
        best = np.minimum.accumulate(done_y)
        last = float(np.nanmax(numbers)) if numbers.notna().any() else done_x[-1]
        ax.step(np.append(done_x, max(last, done_x[-1])), np.append(best, best[-1]), where="post",
                color="0.2", lw=1.6, label=f"best so far (final {_fmt(best[-1])})")
    elif not part_y.size:
        _note(ax, "no complete trial")
    if part_y.size:
        shown = part_y <= top if top is not None else np.ones_like(part_y, bool)
        ax.plot(part_x[shown], part_y[shown], ls="none", marker="x", ms=7, mew=1.6, color=PRUNED_COLOUR,
                label=f"pruned, partial {score} ({part_y.size}): the folds it\nfinished only, not comparable")
        for x, y in zip(part_x[shown], part_y[shown]):
            ax.annotate(_fmt(float(y)), (x, y), xytext=(-7, 0), textcoords="offset points",
                        ha="right", va="center", fontsize=SMALL, color=PRUNED_COLOUR)

    if chosen is not None:
        if chosen_y is not None:
            ax.plot([chosen], [chosen_y], ls="none", marker="o", ms=13, mfc="none", mew=2.2,
                    color=CHOSEN_COLOUR, label=f"chosen: trial {chosen} ({score} {_fmt(chosen_y)})")
        else:
            ax.axvline(chosen, color=CHOSEN_COLOUR, ls=":", lw=1.5,
                       label=f"chosen: trial {chosen} (no CV score)")
    if oracle is not None:
        ax.axhline(oracle, color=TRUTH_COLOUR, ls="--", lw=1.3,
                   label=f"true configuration ({score} {_fmt(oracle)})")

    # Trials without any score sit apart, in a strip below the CRPS axis: drawn on that
    # axis they would read as scores (the lower, the better).
    other_states = ~states.isin(["COMPLETE", "PRUNED", "FAIL"]) | (
        (states == "COMPLETE") & ~states.index.isin(done.index))
    for mask, colour, label in (
        ((states == "PRUNED") & ~has_partial, PRUNED_COLOUR, "pruned, no fold scored"),
        (states == "FAIL", FAIL_COLOUR, "failed"),
        (other_states, "0.7", "no score (running, waiting, NaN)"),
    ):
        xs = numbers[mask & numbers.notna()].to_numpy(dtype=float)
        if mask.sum():
            strip.plot(xs, np.full(xs.size, 0.5), ls="none", marker="x", ms=6, mew=1.4, color=colour,
                       label=f"{label} ({int(mask.sum())}):\nin the strip below")
    strip.set_ylim(0, 1)
    strip.set_yticks([])
    strip.set_ylabel("no score", rotation=0, ha="right", va="center", fontsize=SMALL)
    strip.grid(axis="x", alpha=0.25)

    if numbers.notna().sum() == 1 or (numbers.notna().sum() == 0 and chosen is None):
        centre = float(numbers.dropna().iloc[0]) if numbers.notna().any() else 0.0
        ax.set_xlim(centre - 1, centre + 1)
    strip.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelbottom=False)
    strip.set_xlabel("trial number (order of proposal)")
    ax.set_ylabel(f"CV {score} ({units})")
    ax.set_title(f"Optimisation history: cross-validated {score} per trial (lower is better)")
    ax.grid(alpha=0.25)
    handles, labels = ax.get_legend_handles_labels()
    more = strip.get_legend_handles_labels()
    if handles or more[0]:  # outside, so it never hides a trial
        fig.legend(handles + more[0], labels + more[1], loc="outside right upper", fontsize=SMALL)
    return fig


def plot_history(
    trials: pd.DataFrame,
    path: str | Path,
    *,
    chosen: int | None,
    oracle_crps: float | None = None,
    units: str = "target units",
    score: str = "CRPS",
) -> Path:
    """Optimisation history: CV CRPS of every complete trial against its trial number.

    Complete trials are points, the best so far a step line, the chosen trial (by number)
    a red ring, the CRPS of the true configuration a dashed line. A pruned trial that
    finished some folds is a grey x at its partial CRPS (:func:`partial_scores`), labelled
    as not comparable; trials without any score (pruned before a fold was scored, failed)
    sit apart in a "no score" strip below the axis. All are counted in the legend.
    """
    return _save(history_figure(trials, chosen=chosen, oracle_crps=oracle_crps, units=units, score=score), path)


# ---------------------------------------------------------------- by hyperparameter
def plot_by_hyperparameter(
    trials: pd.DataFrame,
    path: str | Path,
    *,
    fields: list[str],
    chosen: Mapping[str, Any],
    truth: Mapping[str, Any] | None,
    units: str = "target units",
    score: str = "CRPS",
) -> Path:
    """One panel per hyperparameter: CV CRPS of complete trials against the field's value.

    Numeric fields are on a numeric axis, text fields on a categorical one; points are
    jittered sideways where values repeat. A short bar marks the best CRPS at each value,
    a solid red line the chosen value, a dashed black line the true value (added to the
    axis when it was never tried). At most four panels a row; the y axis is shared.
    """
    fields = list(fields)
    fig, axes = _panels(len(fields), 3.7, 3.4, extra_h=1.0, sharey=True)
    done = _complete(trials)
    rng = np.random.default_rng(0)
    truth = truth or {}
    top = _set_ylim(axes[0], done["value"], bottom_room=0.05)
    handles: dict[str, Any] = {}

    if not fields:
        _note(axes[0], "no hyperparameter to show")
    for ax, field in zip(axes, fields):
        ax.set_title(field, fontsize=PANEL_TITLE)
        ax.set_xlabel(_field_label(field))
        ax.grid(alpha=0.25)
        if field not in trials:
            _note(ax, f"{field!r} not in trials")
            ax.set_xticks([])
            continue
        column = trials[field]
        numeric = _is_numeric(column)
        chosen_v, truth_v = chosen.get(field), truth.get(field)

        cats: list[str] = []  # the categorical axis; empty for a numeric field
        if numeric:
            tried = pd.to_numeric(column, errors="coerce").dropna()
            step = np.diff(np.unique(tried)).min() if tried.nunique() > 1 else 1.0
            jitter_w = 0.18 * step
        else:
            cats = sorted({str(v) for v in column.dropna()})
            for extra in (chosen_v, truth_v):
                if not _missing(extra) and str(extra) not in cats:
                    cats.append(str(extra))
            jitter_w = 0.2

        def pos(values: Any, numeric: bool = numeric, cats: list[str] = cats) -> np.ndarray:
            """Positions on the x axis; NaN for missing values."""
            if numeric:
                return np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"),
                                  dtype=float)
            return np.array([cats.index(str(v)) if not _missing(v) and str(v) in cats else np.nan
                             for v in values], dtype=float)

        x = pos(done[field]) if len(done) else np.array([])
        y = done["value"].to_numpy(dtype=float)
        ok = np.isfinite(x)
        x, y = x[ok], y[ok]
        if x.size:
            repeats = pd.Series(x).duplicated(keep=False).any()
            xj = x + (rng.uniform(-jitter_w, jitter_w, x.size) if repeats else 0.0)
            shown = y <= top if top is not None else np.ones_like(y, bool)
            handles["trial"] = ax.plot(xj[shown], y[shown], ls="none", marker="o", ms=4.5,
                                       alpha=0.6, color=TRIAL_COLOUR, zorder=4,
                                       label="complete trial (jittered)")[0]
            above = _mark_above(ax, xj, y, top)
            if above is not None:
                handles["above"] = above
                above.set_label("above the axis")
            best = pd.Series(y).groupby(x).min()
            handles["best"] = ax.plot(best.index, best.to_numpy(), ls="none", marker="_", ms=18,
                                      mew=2.5, color="0.15", zorder=3,
                                      label=f"best {score} at this value")[0]
        else:
            _note(ax, "no complete trial" if done.empty else f"no complete trial\nwith {field} set")

        cx, tx = pos([chosen_v])[0], pos([truth_v])[0]
        if np.isfinite(cx):
            handles["chosen"] = ax.axvline(cx, color=CHOSEN_COLOUR, lw=2.4, alpha=0.85,
                                           label="chosen value")
        if np.isfinite(tx):
            handles["truth"] = ax.axvline(tx, color=TRUTH_COLOUR, lw=1.6, ls=(0, (4, 2.5)),
                                          label="true value")
        if numeric:
            values = pd.concat([pd.to_numeric(column, errors="coerce"),
                                pd.Series([cx, tx], dtype=float)]).dropna()
            if values.size and np.allclose(values, np.round(values)):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if values.size:  # the tried range (any state), the chosen and the true value
                lo_x, hi_x = float(values.min()), float(values.max())
                pad = max(0.6 * step, 0.04 * (hi_x - lo_x)) if hi_x > lo_x else 1.0
                ax.set_xlim(lo_x - pad, hi_x + pad)
        else:
            ax.set_xticks(range(len(cats)), cats)
            ax.set_xlim(-0.6, max(len(cats), 1) - 0.4)
            slot_in = (fig.get_figwidth() / min(MAX_COLS, len(fields)) - 0.7) / max(len(cats), 1)
            if max((len(c) for c in cats), default=0) * 0.075 > 0.9 * slot_in:  # ~10 pt text
                ax.tick_params(axis="x", labelrotation=30)
                for label in ax.get_xticklabels():
                    label.set_horizontalalignment("right")
                    label.set_rotation_mode("anchor")
    for row_start in range(0, len(axes), MAX_COLS):
        axes[row_start].set_ylabel(f"CV {score} ({units})")

    fig.suptitle(f"Cross-validated {score} by hyperparameter (complete trials; lower is better)",
                 fontsize=SUPTITLE)
    order = ["trial", "best", "chosen", "truth", "above"]
    shown_handles = [handles[k] for k in order if k in handles]
    if shown_handles:
        ncol = len(shown_handles) if fig.get_figwidth() >= 10 else min(len(shown_handles), 3)
        fig.legend(handles=shown_handles, loc="outside lower center", ncol=ncol,
                   fontsize=SMALL, frameon=False)
    return _save(fig, path)


# --------------------------------------------------------------------------- grid
def _axis_values(values: pd.Series) -> list[Any]:
    """The values of one grid axis: the full integer range if all are integers."""
    values = values.dropna()
    if values.empty:
        return []
    as_num = pd.to_numeric(values, errors="coerce")
    if as_num.notna().all() and not pd.api.types.is_bool_dtype(values):
        if np.allclose(as_num, np.round(as_num)):
            return list(range(int(round(as_num.min())), int(round(as_num.max())) + 1))
        return sorted(set(as_num.astype(float)))
    return sorted({str(v) for v in values})


def _keys(values: pd.Series, axis: list[Any]) -> pd.Series:
    """``values`` as keys of ``axis`` (ints, floats or text), NaN where not on it."""
    if axis and isinstance(axis[0], str):
        return values.map(lambda v: np.nan if _missing(v) else str(v))
    num = pd.to_numeric(values, errors="coerce")
    if axis and isinstance(axis[0], int):
        return num.round().astype("Int64")
    return num


def _grid(trials: pd.DataFrame, x: str, y: str,
          include: Iterable[tuple[Any, Any]] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean CV CRPS and number of complete trials per (y row, x column) cell."""
    extra = list(include)
    xs = _axis_values(pd.concat([trials[x], pd.Series([e[0] for e in extra], dtype=object)]))
    ys = _axis_values(pd.concat([trials[y], pd.Series([e[1] for e in extra], dtype=object)]))
    done = _complete(trials)
    frame = pd.DataFrame({"x": _keys(done[x], xs), "y": _keys(done[y], ys), "v": done["value"]})
    frame = frame.dropna(subset=["x", "y"])
    stats = frame.groupby(["y", "x"])["v"].agg(["mean", "size"])
    means = stats["mean"].unstack("x") if len(stats) else pd.DataFrame(dtype=float)
    counts = stats["size"].unstack("x") if len(stats) else pd.DataFrame(dtype=float)
    means = means.reindex(index=ys, columns=xs).astype(float)
    counts = counts.reindex(index=ys, columns=xs).fillna(0).astype(int)
    for table in (means, counts):
        table.index.name, table.columns.name = y, x
    return means, counts


def grid_means(trials: pd.DataFrame, x: str, y: str, *,
               include: Iterable[tuple[Any, Any]] = ()) -> pd.DataFrame:
    """Mean CV CRPS of the COMPLETE trials per cell of the ``x`` by ``y`` grid.

    Rows are the values of ``y``, columns those of ``x``. An axis whose values are all
    integers spans the full integer range of the trials (of any state) and of the
    ``(x, y)`` points in ``include`` (e.g. the true configuration); other axes list the
    distinct values. A cell with no complete trial (never tried, or only pruned or failed
    trials) is NaN, never zero.
    """
    return _grid(trials, x, y, include)[0]


def _grid_index(axis: list[Any], value: Any) -> int | None:
    if _missing(value):
        return None
    if axis and isinstance(axis[0], str):
        return axis.index(str(value)) if str(value) in axis else None
    f = _finite(value)
    if f is None:
        return None
    hits = [i for i, a in enumerate(axis) if math.isclose(float(a), f, abs_tol=1e-9)]
    return hits[0] if hits else None


def plot_grid(
    trials: pd.DataFrame,
    path: str | Path,
    *,
    x: str = "yearly_seasonality",
    y: str = "l_max",
    chosen: Mapping[str, Any],
    truth: Mapping[str, Any] | None,
    oracle_crps: float | None = None,
    units: str = "target units",
    score: str = "CRPS",
) -> Path:
    """Heat map of the mean CV CRPS of complete trials per (``x``, ``y``) cell.

    The grid spans the trials and the truth (see :func:`grid_means`); cells without a
    complete trial are grey. The chosen cell has a star, the true cell a ring, and each
    cell with a trial the number of complete trials in it when the cells are big enough.
    With ``oracle_crps`` (the oracle trial's score of the true structure) the true cell
    shows that score; a true cell no trial completed is coloured by it and hatched.
    """
    return _save(grid_figure(trials, x=x, y=y, chosen=chosen, truth=truth, oracle_crps=oracle_crps,
                             units=units, score=score), path)


def grid_figure(
    trials: pd.DataFrame,
    *,
    x: str = "yearly_seasonality",
    y: str = "l_max",
    chosen: Mapping[str, Any],
    truth: Mapping[str, Any] | None,
    oracle_crps: float | None = None,
    units: str = "target units",
    score: str = "CRPS",
) -> Figure:
    """The figure of :func:`plot_grid`."""
    truth = truth or {}
    include = [(d.get(x), d.get(y)) for d in (chosen, truth)
               if not _missing(d.get(x)) and not _missing(d.get(y))]
    missing = [c for c in (x, y) if c not in trials]
    means, counts = (pd.DataFrame(), pd.DataFrame()) if missing else _grid(trials, x, y, include)
    ny, nx = means.shape
    fig = _figure(min(max(7.0, 4.4 + 0.55 * nx), 12.0), min(max(4.8, 3.0 + 0.36 * ny), 9.0))
    ax = fig.add_subplot()
    ax.set_xlabel(_field_label(x))
    ax.set_ylabel(_field_label(y))
    ax.set_title(f"Mean cross-validated {score} per cell: {x} by {y}", fontsize=PANEL_TITLE + 1)
    if missing:
        _note(ax, f"{', '.join(map(repr, missing))} not in trials")
        return fig
    if nx == 0 or ny == 0:
        _note(ax, "no complete trial")
        return fig

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad=MISSING_CELL)
    data = np.ma.masked_invalid(means.to_numpy(dtype=float))
    oracle = _finite(oracle_crps)
    true_i = _grid_index(list(means.index), truth.get(y))
    true_j = _grid_index(list(means.columns), truth.get(x))
    oracle_cell = oracle is not None and true_i is not None and true_j is not None
    oracle_only = oracle_cell and data[true_i, true_j] is np.ma.masked
    if oracle_only:  # no trial completed there, but the oracle trial scored it
        data[true_i, true_j] = oracle
    # A far outlier would paint every other cell the same colour: cap the scale (robustly)
    # and show the cells above the cap in the top colour, with an arrow on the colour bar.
    cap = _robust_top(data.compressed()) if data.count() else None
    image = ax.imshow(data, origin="lower", aspect="auto", cmap=cmap, interpolation="nearest",
                      extent=(-0.5, nx - 0.5, -0.5, ny - 0.5), vmax=cap)
    if data.count():
        bar = fig.colorbar(image, ax=ax, shrink=0.95, pad=0.02,
                           extend="max" if cap is not None else "neither")
        bar.set_label(f"mean CV {score} ({units})\nlower is better"
                      + (f"; cells above {_fmt(cap)} in the top colour" if cap is not None else ""))
    else:
        _note(ax, "no complete trial", y=0.9)  # above the centre, where a mark may be
    tried = _grid_tried(trials, x, y, means)
    ax.set_xticks(range(nx), [_tick_label(v) for v in means.columns])
    ax.set_yticks(range(ny), [_tick_label(v) for v in means.index])
    if nx > 14:
        ax.tick_params(axis="x", labelsize=SMALL)
    ax.set_xticks(np.arange(nx + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(ny + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=0.8)
    ax.tick_params(which="minor", length=0)

    # Counts sit in the cell's top-left corner so the marks in the centre do not hide them.
    cell_pt = 72 * min(fig.get_figwidth() * 0.72 / nx, fig.get_figheight() * 0.72 / ny)
    annotate = cell_pt >= 20 and bool(tried.any())
    if annotate:
        lo = float(data.min()) if data.count() else 0.0
        hi = float(cap if cap is not None else data.max()) if data.count() else 1.0
        for i, j in zip(*np.nonzero(tried)):
            value = data[i, j]
            dark = value is not np.ma.masked and (value - lo) <= 0.55 * (hi - lo)
            ax.text(j - 0.44, i + 0.44, str(counts.iat[i, j]), ha="left", va="top",
                    fontsize=SMALL, color="white" if dark else "black")

    handles: list[Any] = []
    if oracle_cell:
        if oracle_only:
            ax.add_patch(Rectangle((true_j - 0.5, true_i - 0.5), 1, 1, fill=False, hatch="//",
                                   edgecolor="white", lw=0))
            handles.append(Patch(facecolor="0.55", edgecolor="white", hatch="//",
                                 label="hatched: true cell, oracle trial only"))
        value = float(data[true_i, true_j]) if data.count() else oracle
        lo = float(data.min()) if data.count() else 0.0
        hi = float(cap if cap is not None else data.max()) if data.count() else 1.0
        dark = (value - lo) <= 0.55 * (hi - lo) and not oracle_only
        ax.text(true_j + 0.44, true_i - 0.44, f"oracle\n{_fmt(oracle)}", ha="right", va="bottom",
                fontsize=SMALL, color="white" if dark or oracle_only else "black",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "0.2", "edgecolor": "none", "alpha": 0.5}
                if oracle_only else None)
    for point, name, style, legend_style in (
        (chosen, "chosen", {"marker": "*", "ms": min(17, max(6, 0.6 * cell_pt)), "mfc": "white",
                            "mec": "black", "mew": 1.2},
         {"marker": "*", "ms": 13, "mfc": "white", "mec": "black", "mew": 1.2}),
        (truth, "true", {"marker": "o", "ms": min(24, max(8, 0.8 * cell_pt)), "mfc": "none",
                         "mec": CHOSEN_COLOUR, "mew": 2.4},
         {"marker": "o", "ms": 12, "mfc": "none", "mec": CHOSEN_COLOUR, "mew": 2.2}),
    ):
        j = _grid_index(list(means.columns), point.get(x))
        i = _grid_index(list(means.index), point.get(y))
        if i is None or j is None:
            continue
        ax.plot([j], [i], ls="none", **style)
        label = f"{name} ({x}={_tick_label(point.get(x))}, {y}={_tick_label(point.get(y))})"
        handles.append(Line2D([], [], ls="none", label=label, **legend_style))
    handles.append(Patch(facecolor=MISSING_CELL, edgecolor="0.6", label="no complete trial"))
    if annotate:
        handles.append(Line2D([], [], ls="none", marker="$n$", color="black", ms=8,
                              label="n = complete trials in cell"))
    if oracle_cell:
        handles.append(Line2D([], [], ls="none", marker="$o$", color="black", ms=8,
                              label=f"oracle = the true structure's CV {score}"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=SMALL, frameon=False)
    return fig


def _grid_tried(trials: pd.DataFrame, x: str, y: str, means: pd.DataFrame) -> np.ndarray:
    """Which cells had any trial at all (whatever its state)."""
    xs, ys = list(means.columns), list(means.index)
    out = np.zeros(means.shape, dtype=bool)
    for xv, yv in zip(trials[x], trials[y]):
        j, i = _grid_index(xs, xv), _grid_index(ys, yv)
        if i is not None and j is not None:
            out[i, j] = True
    return out


# ---------------------------------------------------------------------- predictive
def _time_axis(dates: Any, n: int) -> np.ndarray | pd.DatetimeIndex:
    if dates is None:
        return np.arange(n)
    index = pd.Index(dates)
    if len(index) != n:
        raise ValueError(f"dates has {len(index)} entries, observed has {n}")
    if pd.api.types.is_numeric_dtype(index):
        return index.to_numpy()
    return pd.DatetimeIndex(pd.to_datetime(index))


def plot_predictive(
    dates: Any,
    observed: npt.ArrayLike,
    draws: npt.ArrayLike,
    path: str | Path,
    *,
    split: int,
    units: str = "target units",
    levels: Sequence[float] = (0.5, 0.9),
) -> Path:
    """Posterior predictive over the fitted and the held-out weeks.

    ``draws`` has shape ``(m, n)``; ``split`` is the index of the first held-out week.
    Shaded central intervals (one per level), the median line, the observed points and
    a vertical line at the split, the held-out weeks on a faint background.
    """
    y = np.asarray(observed, dtype=float).ravel()
    n = y.size
    d = np.asarray(draws, dtype=float)
    if d.ndim == 1:
        d = d[None, :]
    if d.ndim != 2 or (d.size and d.shape[1] != n):
        raise ValueError(f"draws must have shape (m, {n}); got {d.shape}")
    if not 0 <= split <= n:
        raise ValueError(f"split must be in [0, {n}]; got {split}")
    t = _time_axis(dates, n)

    fig = _figure(11.0, 4.8)
    ax = fig.add_subplot()
    handles: list[Any] = []
    levels = sorted({float(lv) for lv in levels if 0 < float(lv) < 1}, reverse=True)
    have_draws = d.shape[0] > 0 and bool(np.isfinite(d).any())
    shown = [y]  # everything drawn, for the y limits
    if have_draws:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # weeks whose draws are all NaN
            for k, level in enumerate(levels):
                lo, hi = np.nanquantile(d, [(1 - level) / 2, (1 + level) / 2], axis=0)
                alpha = 0.22 + 0.25 * k / max(len(levels) - 1, 1)
                label = f"{level:.0%} central interval"
                if n > 1:
                    handles.append(ax.fill_between(t, lo, hi, color=TRIAL_COLOUR, alpha=alpha,
                                                   lw=0, label=label))
                else:  # one week: a band has no width, draw a bar
                    handles.append(ax.vlines(t, lo, hi, color=TRIAL_COLOUR, alpha=alpha, lw=14,
                                             label=label))
                shown += [lo, hi]
            median = np.nanmedian(d, axis=0)
        handles.append(ax.plot(t, median, color=TRIAL_COLOUR, lw=1.6, marker="_" if n == 1 else "",
                               ms=16, label="posterior predictive median")[0])
        shown.append(median)
    else:
        _note(ax, "no predictive draws")
    if n:
        handles.append(ax.plot(t, y, ls="none", marker="o", ms=3.2, color="black",
                               label="observed")[0])
        if 0 < split < n:
            at = t[split - 1] + (t[split] - t[split - 1]) / 2
        else:
            at = t[0] if split == 0 else t[-1]
        if split < n:
            ax.axvspan(at, t[-1], color="0.5", alpha=0.08, lw=0)
        ax.axvline(at, color="0.25", ls="--", lw=1.2)
        align = "left" if split == 0 else "right" if split == n else "center"
        ax.text(at, 0.975, "fitted | held out", transform=ax.get_xaxis_transform(), ha=align,
                va="top", fontsize=SMALL + 1,
                bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "0.6"})
        values = np.concatenate(shown)
        values = values[np.isfinite(values)]
        if values.size:
            lo_v, hi_v = float(values.min()), float(values.max())
            span = hi_v - lo_v or abs(hi_v) * 0.1 or 1.0
            ax.set_ylim(lo_v - 0.05 * span, hi_v + 0.16 * span)  # room for the split label
        ax.margins(x=0.01)
    if isinstance(t, pd.DatetimeIndex):
        locator = AutoDateLocator(minticks=4, maxticks=12)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if n == 1:  # a single date gives a degenerate x range
        pad = pd.Timedelta(days=7) if isinstance(t, pd.DatetimeIndex) else 1
        ax.set_xlim(t[0] - pad, t[0] + pad)

    def weeks(k: int) -> str:
        return f"{k} week" if k == 1 else f"{k} weeks"

    ax.set_title(f"Posterior predictive: {weeks(split)} fitted, {weeks(n - split)} held out")
    ax.set_xlabel("week")
    ax.set_ylabel(f"target ({units})")
    ax.grid(alpha=0.25)
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=SMALL,
                   frameon=False)
    return _save(fig, path)


# --------------------------------------------------------------------------- ROAS
def _per_channel(values: Any, channels: list[str]) -> np.ndarray:
    if values is None:
        return np.full(len(channels), np.nan)
    if isinstance(values, Mapping):
        return np.array([_finite(values.get(c)) if _finite(values.get(c)) is not None else np.nan
                         for c in channels], dtype=float)
    if isinstance(values, pd.Series) and not isinstance(values.index, pd.RangeIndex):
        return np.array([values.get(c, np.nan) for c in channels], dtype=float)
    out = np.asarray(values, dtype=float).ravel()
    if out.size != len(channels):
        raise ValueError(f"expected {len(channels)} values, one per channel; got {out.size}")
    return out


def plot_roas(
    channels: list[str],
    mean: npt.ArrayLike,
    lo: npt.ArrayLike,
    hi: npt.ArrayLike,
    path: str | Path,
    *,
    truth: npt.ArrayLike | Mapping[str, float] | None = None,
    level: float = 0.9,
) -> Path:
    """Per channel the credible interval of the ROAS (``lo`` to ``hi``), its posterior mean
    and, when ``truth`` is given (array in channel order, or a dict by channel), the true
    ROAS as a red diamond."""
    channels = [str(c) for c in channels]
    k = len(channels)
    m, a, b = (_per_channel(v, channels) for v in (mean, lo, hi))
    tr = _per_channel(truth, channels)
    fig = _figure(8.0, 1.9 + 0.55 * max(k, 1))
    ax = fig.add_subplot()
    ypos = np.arange(k)[::-1]
    handles: dict[str, Any] = {}
    for i, yv in enumerate(ypos):
        if np.isfinite(a[i]) and np.isfinite(b[i]):
            handles["interval"] = ax.plot([a[i], b[i]], [yv, yv], color=TRIAL_COLOUR, lw=6,
                                          alpha=0.55, solid_capstyle="butt",
                                          label=f"{level:.0%} credible interval")[0]
        if np.isfinite(m[i]):
            handles["mean"] = ax.plot([m[i]], [yv], ls="none", marker="o", ms=7, color="black",
                                      label="posterior mean")[0]
        if np.isfinite(tr[i]):
            handles["truth"] = ax.plot([tr[i]], [yv], ls="none", marker="D", ms=9, mfc="none",
                                       mec=CHOSEN_COLOUR, mew=2.2, label="true ROAS")[0]
        if not (np.isfinite(m[i]) or np.isfinite(a[i]) or np.isfinite(b[i])):
            ax.text(0.5, yv, "no estimate", transform=ax.get_yaxis_transform(), ha="center",
                    va="center", fontsize=SMALL, color="0.35")
    if k == 0:
        _note(ax, "no channel")
    everything = np.concatenate([m, a, b, tr])
    everything = everything[np.isfinite(everything)]
    if everything.size:
        left, right = min(0.0, float(everything.min())), float(everything.max())
        span = right - left or 1.0
        ax.set_xlim(left - 0.03 * span, right + 0.08 * span)
        ax.axvline(0, color="0.5", lw=0.8, ls=":")
    ax.set_yticks(ypos, channels)
    ax.set_ylim(-0.7, max(k, 1) - 0.3)
    ax.set_xlabel("ROAS (contribution per unit of spend)")
    ax.set_ylabel("channel")
    ax.set_title("Return on ad spend per channel" + (": posterior vs truth" if np.isfinite(tr).any()
                                                     else ": posterior"))
    ax.grid(axis="x", alpha=0.25)
    if handles:
        ax.legend(handles=list(handles.values()), fontsize=SMALL, loc="best", framealpha=0.9)
    return _save(fig, path)


# ------------------------------------------------------------------------ kernels
def _weights(values: Any) -> np.ndarray | None:
    """Adstock weights as a 1-D array normalised to sum to one, or None if unusable."""
    if values is None:
        return None
    w = np.asarray(values, dtype=float).ravel()
    if w.size == 0 or not np.isfinite(w).any():
        return None
    total = np.nansum(w)
    return w / total if total > 0 else w


def plot_kernels(kernels: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:
    """Per channel a panel of normalised adstock weights by lag: true (grey) next to fitted
    (posterior mean, the channel's colour), the L1 distance in the title when given."""
    names = list(kernels)
    fig, axes = _panels(len(names), 3.7, 3.0, extra_h=0.7, sharey=True)
    if not names:
        _note(axes[0], "no channel")
        axes[0].set_xlabel("lag (weeks since spend)")
    for i, (ax, name) in enumerate(zip(axes, names)):
        entry = kernels[name] or {}
        true, fitted = _weights(entry.get("true")), _weights(entry.get("fitted"))
        l1 = _finite(entry.get("l1"))
        ax.set_title(f"{name}" + (f"   L1 = {l1:.3f}" if l1 is not None else ""),
                     fontsize=PANEL_TITLE)
        length = max(len(w) for w in (true, fitted, np.zeros(1)) if w is not None)
        both = true is not None and fitted is not None
        width = 0.4 if both else 0.7
        if true is not None:
            ax.bar(np.arange(len(true)) - (width / 2 if both else 0), np.nan_to_num(true),
                   width=width, color="0.6", edgecolor="0.35", lw=0.6, label="true")
        if fitted is not None:
            ax.bar(np.arange(len(fitted)) + (width / 2 if both else 0), np.nan_to_num(fitted),
                   width=width, color=COLOURS[i % len(COLOURS)], alpha=0.9,
                   label="fitted (posterior mean)")
        if true is None and fitted is None:
            _note(ax, "no kernel")
        elif true is None or fitted is None:
            ax.text(0.97, 0.62, "no true kernel given" if true is None else "no fitted kernel",
                    transform=ax.transAxes, ha="right", fontsize=SMALL, color="0.35")
        ax.set_xlim(-0.6, length - 0.4)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("lag (weeks since spend)")
        ax.grid(axis="y", alpha=0.25)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=SMALL, loc="upper right", framealpha=0.9)
    for row_start in range(0, len(axes), MAX_COLS):
        axes[row_start].set_ylabel("normalised adstock weight")
    peaks = [float(np.nanmax(w)) for e in kernels.values() for w in
             (_weights((e or {}).get("true")), _weights((e or {}).get("fitted"))) if w is not None]
    top = max(peaks, default=1.0)
    axes[0].set_ylim(0, 1.35 * top if top > 0 else 1.0)  # room for the legends (shared y)
    fig.suptitle("Adstock kernels, true vs fitted (L1 distance: 0 = identical, 2 = disjoint)",
                 fontsize=SUPTITLE)
    return _save(fig, path)
