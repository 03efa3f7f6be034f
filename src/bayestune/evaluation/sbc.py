r"""Simulation-based calibration (SBC): the statistics core and its figure.

SBC (Talts et al. 2018) checks a whole inference procedure rather than one fit. For
:math:`s = 1..S` simulations, draw :math:`\theta^\ast_s` from the prior, simulate data
:math:`y_s` from the model at :math:`\theta^\ast_s`, fit, and keep :math:`L` (thinned)
posterior draws :math:`\theta_{s1}, \dots, \theta_{sL}`. The **rank** of the truth among
the draws,

.. math::
    r_s = \#\{\, l : \theta_{sl} < \theta^\ast_s \,\} \in \{0, 1, \dots, L\},

is discrete-uniform on :math:`\{0, \dots, L\}` for every parameter when the posterior is
exact; a calibrated fitting procedure leaves it so. Departures have recognisable shapes:
a U shape (truth often in the tails) means over-confident posteriors, a hump
under-confident ones, a slope a biased one.

**Uniformity test.** Following Säilynoja, Bürkner and Vehtari (2022), the ranks are
compared with the discrete uniform through their ECDF at the fractional ranks
:math:`z_i = i / (L + 1)`, :math:`i = 1..L`:

.. math::
    F_i = \frac{1}{S}\,\#\{\, s : r_s < i \,\},
    \qquad \text{ECDF difference } D_i = F_i - z_i .

Under uniformity :math:`S F_i \sim \mathrm{Binomial}(S, z_i)` exactly. The pointwise
two-sided tail probability of the observed counts, minimised over the points, is the
test statistic ("gamma"):

.. math::
    \gamma = \min_{i=1..L} \; 2 \min\bigl( P(X_i \le S F_i),\; P(X_i \ge S F_i) \bigr),
    \qquad X_i \sim \mathrm{Binomial}(S, z_i),

capped at 1. Small :math:`\gamma` means some part of the ECDF is far from uniform. Its
null distribution is simulated (``n_simulations`` sets of :math:`S` uniform ranks,
seeded), which gives

* the **p-value** :math:`p = (1 + \#\{\gamma^{\text{null}} \le \gamma\}) / (1 + n_{\text{sim}})`;
* the **simultaneous band**: with :math:`\gamma^\ast` the :math:`(1 - \text{level})`
  quantile of :math:`\gamma^{\text{null}}`, the central binomial interval of pointwise
  level :math:`1 - \gamma^\ast` at every :math:`z_i`, divided by :math:`S`. A uniform
  ECDF stays inside the band at *all* :math:`L` points at once with probability
  ``level``; the band is wider than a pointwise ``level`` band by exactly what multiple
  comparisons require. The **verdict** "inside" (every :math:`F_i` within the band) is,
  up to ties, the same as :math:`\gamma \ge \gamma^\ast`, that is :math:`p > 1 - \text{level}`.

The band is the simulation method of Säilynoja et al. (2022, Section 2.2). It is computed
here rather than taken from ``arviz_stats.ecdf_utils``, which implements the same
algorithm but (version 1.3.3) evaluates at :math:`j/S` for continuous PIT values rather
than at the rank grid :math:`i/(L+1)`, and in its simulation ignores the upper tail of any
simulated ECDF that has a zero count (``bdtr(-1, ...)`` is NaN), which makes its band too
narrow when :math:`S` is small next to :math:`L` (about 91% simultaneous coverage for a
nominal 95% at :math:`S = 100, L = 999`). Where no count is zero the two agree draw for
draw with the same seed; the tests check this.

**Many parameters.** Each parameter is tested on its own at ``level``; with :math:`K`
parameters about :math:`(1 - \text{level}) K` of them fail by chance alone even when all
is well. Read the figure, not only the verdicts.

**Recovery metrics.** :func:`sbc_summary` adds, per parameter, the coverage of the
central intervals, the calibration error, the NRMSE and the posterior contraction of
:mod:`bayestune.evaluation.recovery`, with the simulations as that module's points.

Draws follow that module's layout: draws on axis 0, simulations on axis 1, shape
``(n_draws, n_sims)``; true values shape ``(n_sims,)``.

References
----------
Talts, S., Betancourt, M., Simpson, D., Vehtari, A. and Gelman, A. (2018). Validating
Bayesian inference algorithms with simulation-based calibration. *arXiv:1804.06788*.

Säilynoja, T., Bürkner, P.-C. and Vehtari, A. (2022). Graphical test for discrete
uniformity and its applications in goodness-of-fit evaluation and multiple sample
comparison. *Statistics and Computing*, 32, 32.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import bdtr, bdtrc
from scipy.stats import binom

from bayestune.evaluation.recovery import (
    CALIBRATION_LEVELS,
    calibration_error,
    contraction,
    coverage,
    nrmse,
)

__all__ = [
    "COVERAGE_LEVELS",
    "plot_sbc_ecdf",
    "rank_uniformity",
    "sbc_ranks",
    "sbc_summary",
]

COVERAGE_LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
"""Nominal levels of the central intervals whose coverage :func:`sbc_summary` reports."""


# --------------------------------------------------------------------------- ranks
def sbc_ranks(
    truth: npt.ArrayLike, draws: npt.ArrayLike, thin: int = 1, seed: int = 0
) -> np.ndarray:
    r"""Rank of each simulation's true value among its (thinned) posterior draws.

    .. math::
        r_s = \#\{\, l : \theta_{sl} < \theta^\ast_s \,\} + U_s,
        \qquad U_s \sim \mathrm{Uniform}\{0, \dots, t_s\},
        \quad t_s = \#\{\, l : \theta_{sl} = \theta^\ast_s \,\},

    over the draws kept after thinning, :math:`l = 1..L` with
    :math:`L = \lceil n_\text{draws} / \text{thin} \rceil`. Ties between the truth and
    draws (discrete parameters, a stuck sampler) are broken at random: the truth takes
    any of its :math:`t_s + 1` possible positions with equal probability, drawn with
    ``numpy.random.default_rng(seed)``, which keeps the ranks uniform under the null.
    Without ties the ranks are deterministic and the seed is not used.

    Parameters
    ----------
    truth : array_like, shape (n_sims,)
        The true value of one scalar parameter in each simulation (a prior draw).
    draws : array_like, shape (n_draws, n_sims)
        Posterior draws of that parameter, draws on axis 0, one column per simulation.
    thin : int, default 1
        Keep every ``thin``-th draw (draws ``0, thin, 2*thin, ...``). Thin MCMC draws to
        roughly independent ones (e.g. by the effective sample size), or autocorrelation
        shows up as a spurious U shape (Talts et al. 2018, Section 4.1).
    seed : int, default 0
        Seed of the generator that breaks ties.

    Returns
    -------
    numpy.ndarray of int64, shape (n_sims,)
        Ranks in :math:`\{0, \dots, L\}`.

    Raises
    ------
    ValueError
        On mismatched shapes, no draws or simulations, values that are not finite, or
        ``thin`` below 1.
    """
    t = np.asarray(truth, dtype=float)
    d = np.asarray(draws, dtype=float)
    if t.ndim != 1 or d.ndim != 2 or d.shape[1] != t.shape[0]:
        raise ValueError(
            "truth must have shape (n_sims,) and draws (n_draws, n_sims); got truth "
            f"{t.shape}, draws {d.shape}"
        )
    if t.size == 0 or d.shape[0] == 0:
        raise ValueError(f"at least one simulation and one draw are needed, got draws {d.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(d))):
        raise ValueError("truth or draws contain NaN or infinite values")
    if int(thin) != thin or thin < 1:
        raise ValueError(f"thin must be a positive integer, got {thin}")
    kept = d[:: int(thin)]
    below = np.sum(kept < t, axis=0)
    ties = np.sum(kept == t, axis=0)
    if not np.any(ties):
        return below.astype(np.int64)
    rng = np.random.default_rng(seed)
    return (below + rng.integers(0, ties + 1)).astype(np.int64)


def _n_kept(n_draws: int, thin: int) -> int:
    """L, the number of draws :func:`sbc_ranks` keeps."""
    return -(-n_draws // thin)


# ---------------------------------------------------------------------- uniformity
def _counts(ranks: np.ndarray, n_draws: int) -> np.ndarray:
    """``S F_i`` = #{r < i} for i = 1..L along the last axis (ranks in 0..L)."""
    n_bins = n_draws + 1
    flat = ranks.reshape(-1, ranks.shape[-1])
    offsets = (np.arange(flat.shape[0]) * n_bins)[:, None]
    hist = np.bincount((flat + offsets).ravel(), minlength=flat.shape[0] * n_bins)
    counts = np.cumsum(hist.reshape(flat.shape[0], n_bins), axis=1)[:, :-1]
    return counts.reshape(*ranks.shape[:-1], n_draws)


def _gamma(counts: np.ndarray, n_sims: int, z: np.ndarray) -> np.ndarray:
    """Minimum over the last axis of the two-sided binomial tail probability, capped at 1."""
    lower = bdtr(counts, n_sims, z)                                  # P(X <= k)
    upper = np.where(counts > 0, bdtrc(np.maximum(counts - 1, 0), n_sims, z), 1.0)  # P(X >= k)
    return np.minimum(2.0 * np.minimum(lower, upper).min(axis=-1), 1.0)


@lru_cache(maxsize=32)
def _null_gamma(n_sims: int, n_draws: int, n_simulations: int, seed: int) -> np.ndarray:
    """Sorted gamma statistics of ``n_simulations`` sets of ``n_sims`` uniform ranks.

    Uniform ranks are drawn as ``floor(u (L + 1))`` of ``u ~ U(0, 1)``, one row of ``n_sims``
    per simulation from ``default_rng(seed)``: the same stream, and so the same ECDFs at
    ``i / (L + 1)``, as ``arviz_stats.ecdf_utils.simulate_confidence_bands``.
    """
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 1.0, size=(n_simulations, n_sims))
    ranks = np.minimum(np.floor(u * (n_draws + 1)).astype(np.int64), n_draws)
    z = np.arange(1, n_draws + 1) / (n_draws + 1)
    out = np.sort(_gamma(_counts(ranks, n_draws), n_sims, z))
    out.flags.writeable = False
    return out


def rank_uniformity(
    ranks: npt.ArrayLike,
    n_draws: int,
    level: float = 0.95,
    n_simulations: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    r"""Test SBC ranks for discrete uniformity with a simultaneous ECDF band.

    The ECDF difference :math:`D_i = F_i - z_i` at :math:`z_i = i / (L + 1)`, the
    simultaneous ``level`` band of Säilynoja et al. (2022) around it, the verdict whether
    :math:`D` lies inside the band at every point, and the gamma statistic with its
    p-value (definitions in the module docstring). The null distribution is simulated with
    ``numpy.random.default_rng(seed)``, so the result is reproducible; it is shared by all
    calls with the same :math:`S`, :math:`L`, ``n_simulations`` and ``seed``.

    Parameters
    ----------
    ranks : array_like of int, shape (n_sims,)
        Ranks in :math:`\{0, \dots, L\}`, e.g. from :func:`sbc_ranks`.
    n_draws : int
        :math:`L`, the number of (thinned) draws the ranks were taken among.
    level : float, default 0.95
        Simultaneous coverage of the band under uniformity, in (0, 1).
    n_simulations : int, default 1000
        Uniform rank sets simulated for the band and the p-value (the p-value's
        resolution is :math:`1 / (1 + n_{\text{sim}})`).
    seed : int, default 0
        Seed of the null simulation.

    Returns
    -------
    dict
        ``z`` (the :math:`L` fractional ranks :math:`z_i`), ``ecdf_diff`` (:math:`D_i`),
        ``lower`` and ``upper`` (the band as ECDF differences), all numpy arrays of shape
        ``(L,)``; ``inside`` (bool, the verdict), ``gamma`` and ``gamma_threshold``
        (:math:`\gamma^\ast`; inside is, up to ties, :math:`\gamma \ge \gamma^\ast`),
        ``p_value``, ``level``, ``n_sims`` and ``n_draws``.

    Raises
    ------
    ValueError
        On ranks that are not integers in :math:`\{0, \dots, L\}`, no ranks, :math:`L < 1`,
        a level outside (0, 1) or fewer than 20 simulations.
    """
    r = np.asarray(ranks)
    if int(n_draws) != n_draws or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer, got {n_draws}")
    n_draws = int(n_draws)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"ranks must be a non-empty 1-D array, got shape {r.shape}")
    if not np.all(np.isfinite(r)) or not np.all(r == np.round(r)):
        raise ValueError("ranks must be integers")
    r = r.astype(np.int64)
    if r.min() < 0 or r.max() > n_draws:
        raise ValueError(f"ranks must lie in 0..{n_draws}, got {r.min()}..{r.max()}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if n_simulations < 20:
        raise ValueError(f"at least 20 simulations are needed, got {n_simulations}")

    n_sims = r.size
    z = np.arange(1, n_draws + 1) / (n_draws + 1)
    counts = _counts(r, n_draws)
    gamma = float(_gamma(counts, n_sims, z))
    null = _null_gamma(n_sims, n_draws, int(n_simulations), int(seed))
    threshold = float(np.quantile(null, 1.0 - level))
    p_value = (1 + np.searchsorted(null, gamma, side="right")) / (1 + null.size)
    lo = binom.ppf(threshold / 2.0, n_sims, z) / n_sims
    hi = binom.ppf(1.0 - threshold / 2.0, n_sims, z) / n_sims
    ecdf = counts / n_sims
    return {
        "z": z,
        "ecdf_diff": ecdf - z,
        "lower": lo - z,
        "upper": hi - z,
        "inside": bool(np.all((ecdf >= lo) & (ecdf <= hi))),
        "gamma": gamma,
        "gamma_threshold": threshold,
        "p_value": float(p_value),
        "level": float(level),
        "n_sims": int(n_sims),
        "n_draws": n_draws,
    }


# -------------------------------------------------------------------------- summary
def sbc_summary(
    truth: Mapping[str, npt.ArrayLike],
    draws: Mapping[str, npt.ArrayLike],
    prior_var: Mapping[str, float] | None = None,
    *,
    thin: int = 1,
    level: float = 0.95,
    coverage_levels: Sequence[float] = COVERAGE_LEVELS,
    n_simulations: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    r"""Per parameter: rank uniformity, coverage, calibration error, NRMSE, contraction.

    For each parameter in ``truth``:

    * ``uniform``, ``gamma``, ``p_value``, ``level``: the verdict and statistic of
      :func:`rank_uniformity` on the :func:`sbc_ranks` (ties broken with ``seed``);
    * ``coverage``: :func:`~bayestune.evaluation.recovery.coverage` of the central
      intervals at ``coverage_levels``, keyed by the level as text (``"0.5"``);
    * ``calibration_error``: :func:`~bayestune.evaluation.recovery.calibration_error`
      over :data:`~bayestune.evaluation.recovery.CALIBRATION_LEVELS`;
    * ``nrmse``: :func:`~bayestune.evaluation.recovery.nrmse`, the RMSE across
      simulations per draw over the range of the true values, median over draws
      (BayesFlow 2's definition; draw :math:`l` of different simulations are unrelated,
      so it measures typical error, not a paired one);
    * ``contraction``: the median over simulations of
      :func:`~bayestune.evaluation.recovery.contraction` of the posterior variance
      (``ddof=1``) against the prior variance.

    Coverage, calibration error, NRMSE and contraction use all draws; only the ranks use
    the thinned ones.

    Parameters
    ----------
    truth : mapping of str to array_like, shape (n_sims,)
        True (prior-drawn) values per scalar parameter.
    draws : mapping of str to array_like, shape (n_draws, n_sims)
        Posterior draws per parameter, with at least the keys of ``truth``.
    prior_var : mapping of str to float, optional
        Prior variance per parameter. Where missing, the sample variance (``ddof=1``) of
        the true values, which are prior draws, stands in.
    thin : int, default 1
        Thinning for the ranks, as in :func:`sbc_ranks`.
    level : float, default 0.95
        Simultaneous level of the uniformity band.
    coverage_levels : sequence of float, default COVERAGE_LEVELS
        Nominal levels of the central intervals.
    n_simulations : int, default 1000
        Null simulations for the band and p-value.
    seed : int, default 0
        Seed for tie-breaking and for the null simulation.

    Returns
    -------
    dict of str to dict
        One JSON-able dict (plain floats, ints, bools and str keys) per parameter, in the
        order of ``truth``, with the keys above and ``n_sims``, ``n_draws`` (:math:`L`
        after thinning) and ``thin``.

    Raises
    ------
    ValueError
        On a parameter missing from ``draws``, or as :func:`sbc_ranks`,
        :func:`rank_uniformity` and the recovery metrics.
    """
    missing = [name for name in truth if name not in draws]
    if missing:
        raise ValueError(f"no draws for parameter(s) {missing}")
    prior_var = prior_var or {}
    out: dict[str, dict[str, Any]] = {}
    for name, true_values in truth.items():
        t = np.asarray(true_values, dtype=float)
        d = np.asarray(draws[name], dtype=float)
        ranks = sbc_ranks(t, d, thin=thin, seed=seed)
        n_kept = _n_kept(d.shape[0], int(thin))
        test = rank_uniformity(ranks, n_kept, level=level, n_simulations=n_simulations, seed=seed)
        if name in prior_var:
            p_var = float(prior_var[name])
        elif t.size > 1:
            p_var = float(np.var(t, ddof=1))
        else:
            raise ValueError(f"{name}: one simulation, so the prior variance must be given")
        post_var = np.var(d, axis=0, ddof=1) if d.shape[0] > 1 else np.zeros(d.shape[1])
        levels = np.asarray(coverage_levels, dtype=float)
        cov = np.atleast_1d(coverage(d, t, levels))
        out[name] = {
            "n_sims": int(t.size),
            "n_draws": int(n_kept),
            "thin": int(thin),
            "uniform": test["inside"],
            "gamma": test["gamma"],
            "p_value": test["p_value"],
            "level": test["level"],
            "coverage": {f"{a:g}": float(c) for a, c in zip(levels, cov)},
            "calibration_error": calibration_error(d, t, CALIBRATION_LEVELS),
            "nrmse": nrmse(d, t),
            "contraction": float(np.median(contraction(post_var, p_var))),
        }
    return out


# --------------------------------------------------------------------------- figure
def plot_sbc_ecdf(
    ranks: Mapping[str, npt.ArrayLike],
    n_draws: int,
    path: str | Path,
    level: float = 0.95,
    n_simulations: int = 1000,
    seed: int = 0,
) -> Path:
    """Rank ECDF difference with its simultaneous band, one panel per parameter.

    Each panel shows :math:`F_i - z_i` against the fractional rank :math:`z_i` (a line,
    0 at both ends) inside the grey simultaneous ``level`` band of :func:`rank_uniformity`;
    the line is blue when it stays inside and red, with the offending points marked, when
    it leaves. The title gives the gamma p-value. Drawn and saved as the figures of
    :mod:`bayestune.evaluation.figures` (Agg, no pyplot, PNG at dpi 120).

    Parameters
    ----------
    ranks : mapping of str to array_like of int, shape (n_sims,)
        SBC ranks per parameter, from :func:`sbc_ranks`.
    n_draws : int
        :math:`L`, the number of (thinned) draws the ranks were taken among.
    path : str or Path
        Where to write the PNG; parent folders are created.
    level, n_simulations, seed
        As :func:`rank_uniformity`.

    Returns
    -------
    Path
        ``path``.
    """
    from bayestune.evaluation.figures import (
        COLOURS, MAX_COLS, PANEL_TITLE, SMALL, SUPTITLE, _note, _panels, _save,
    )

    names = list(ranks)
    fig, axes = _panels(len(names), 3.6, 3.0, extra_h=0.8, sharex=True, sharey=True)
    if not names:
        _note(axes[0], "no parameter")
    sizes = set()
    top = 0.0
    for ax, name in zip(axes, names):
        res = rank_uniformity(ranks[name], n_draws, level=level, n_simulations=n_simulations,
                              seed=seed)
        sizes.add(res["n_sims"])
        z = np.concatenate(([0.0], res["z"], [1.0]))
        diff, lo, hi = (np.concatenate(([0.0], res[k], [0.0]))
                        for k in ("ecdf_diff", "lower", "upper"))
        colour = COLOURS[0] if res["inside"] else COLOURS[3]
        ax.fill_between(z, lo, hi, color="0.85", lw=0, label=f"simultaneous {level:.0%} band")
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.plot(z, diff, color=colour, lw=1.4, label="rank ECDF - uniform")
        out = (diff < lo) | (diff > hi)
        if out.any():
            ax.plot(z[out], diff[out], ls="none", marker="o", ms=2.5, color=colour,
                    label="outside the band")
        verdict = "inside" if res["inside"] else "OUTSIDE"
        ax.set_title(f"{name}\n{verdict} the {level:.0%} band, gamma p = {res['p_value']:.3f}",
                     fontsize=PANEL_TITLE, color="black" if res["inside"] else COLOURS[3])
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("fractional rank  rank / (L + 1)")
        ax.grid(alpha=0.25)
        top = max(top, float(np.max(np.abs(np.concatenate((diff, lo, hi))))))
    for row_start in range(0, len(axes), MAX_COLS):
        axes[row_start].set_ylabel("ECDF difference")
    if names:
        axes[0].set_ylim(-1.15 * top, 1.15 * top)
        handles, labels = [], []
        for ax in axes:  # one legend entry per kind, "outside" only when drawn somewhere
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels),
                   fontsize=SMALL, frameon=False)
    s_text = f"S = {sizes.pop()} simulations, " if len(sizes) == 1 else ""
    fig.suptitle(f"SBC rank ECDF difference ({s_text}L = {n_draws} draws); "
                 f"inside the band = ranks consistent with uniform", fontsize=SUPTITLE)
    return _save(fig, path)
