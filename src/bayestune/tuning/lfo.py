"""Approximate leave-future-out cross-validation (PSIS-LFO; Bürkner, Gabry & Vehtari 2020).

``validation = "lfo"`` scores every week from a minimum history to the final test window,
each ``ahead`` weeks ahead (1: one step ahead) from the posterior given all the weeks before
its forecast origin. That posterior is not refitted for every week: the draws of the last
exact fit (on weeks ``[0, i*)``) are importance-weighted by the likelihood of the weeks
observed since (``[i*, origin)``), the weights Pareto-smoothed (arviz-stats' ``psislw``), and
the predictive is scored with those weights (:mod:`bayestune.scores.weighted`). When the
smoothing's k̂ passes ``k_threshold`` (default 0.7) the weights are not trusted and the model
is fitted exactly on ``[0, origin)``, which becomes the new ``i*``.

An MMM's errors are independent given its parameters and adstock is a fixed function of past
spend, so the weights need only the per-week log-likelihood of each exact fit's draws over
the weeks after it: a fitter offers it as ``log_likelihood(fitted, columns, data) -> (draws,
weeks)`` (the weeks of ``data`` follow the fitted ones, carry-over kept), and ``lfo`` needs
it. The scored weeks are split into ``folds`` contiguous blocks (:class:`LFOBlock`), each
reported to the pruner like a rolling fold; a block's ``week_crps`` holds its weeks' scores.

The exact fits rescale the target and spend by their own window's maxima (PyMC-Marketing's
data-derived scaling), so the posterior an exact refit at ``origin`` gives differs slightly
from the weighted one beyond what importance sampling approximates: the test against exact
refits measures both together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bayestune.errors import BayestuneError
from bayestune.scores import per_week
from bayestune.scores.weighted import weighted_per_week
from bayestune.tuning.folds import Fold, first_fold_end

if TYPE_CHECKING:
    from bayestune.simulator.dataset import Dataset
    from bayestune.tuning.config import TuningConfig
    from bayestune.tuning.gate import GateThresholds
    from bayestune.tuning.model import Candidate, FitSettings
    from bayestune.tuning.trial import TrialRecord

LOG_LIKELIHOOD = "log_likelihood"
"""The fitter method PSIS-LFO needs."""


@dataclass(frozen=True)
class LFOBlock(Fold):
    """Scored weeks ``[train_end, test_end)``, each predicted ``ahead`` weeks from its origin.

    A week ``j`` is predicted from the posterior given weeks ``[0, j - ahead + 1)``.
    """

    ahead: int = 1
    k_threshold: float = 0.7


def lfo(weeks: int, config: TuningConfig) -> list[Fold]:
    """The scored weeks of PSIS-LFO in ``config.folds`` contiguous blocks.

    The minimum history is ``config.lfo.min_history`` or, by default, the weeks the first
    rolling fold fits on (so one-step-ahead LFO scores the weeks the rolling folds score).
    """
    from bayestune.simulator.dataset import required_weeks

    search_end = weeks - config.final.test_weeks
    history = config.lfo.min_history or first_fold_end(search_end, folds=config.folds, horizon=config.horizon,
                                                       step=config.step)
    need = required_weeks(config.space.l_max[1], 0)
    first = history + config.lfo.ahead - 1
    if history < need or first >= search_end:
        raise BayestuneError(
            f"too few weeks for validation \"lfo\": {weeks} weeks, a minimum history of {history} "
            f"(need at least {need}), {config.lfo.ahead} week(s) ahead and {config.final.test_weeks} final "
            "test weeks leave no week to score; lower lfo.min_history, lfo.ahead or final.test_weeks",
            "data.csv",
        )
    parts = np.array_split(np.arange(first, search_end), min(config.folds, search_end - first))
    return [LFOBlock(i, int(p[0]), int(p[-1]) + 1, ahead=config.lfo.ahead, k_threshold=config.lfo.k_threshold)
            for i, p in enumerate(parts)]


def psis(log_ratios: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Pareto-smoothed log weights (summing to one) and k̂ for importance ratios ``log_ratios``.

    arviz-stats' ``psislw`` takes the ratios negated (LOO's convention: it is given the
    log-likelihood of the left-out point), as its own ``lfo_cv`` calls it. k̂ is ``None`` when
    the ratios are too degenerate for a Pareto fit (the weights are not to be trusted: refit);
    equal ratios need no smoothing (uniform weights, k̂ 0).
    """
    from arviz_stats.base import array_stats

    lr = np.asarray(log_ratios, dtype=float)
    uniform = np.full(lr.shape, -np.log(lr.size))
    if not np.all(np.isfinite(lr)):
        return uniform, None
    if np.ptp(lr) == 0.0:
        return uniform, 0.0
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # degenerate tails: k̂ says so
            log_weights, khat = array_stats.psislw(-(lr - lr.max()))
    except ValueError:  # a tail too degenerate to fit a Pareto to
        return uniform, None
    if not np.isfinite(khat) or not np.all(np.isfinite(log_weights)):
        return uniform, None
    return np.asarray(log_weights), float(khat)


@dataclass
class _ExactFit:
    """What an exact fit on ``[0, start)`` leaves for the weeks after it: draws and log-likelihoods."""

    start: int
    draws: np.ndarray
    """Predictive draws of weeks ``[start, end)``, ``(m, end - start)``."""
    log_lik: np.ndarray
    """Log-likelihood of each of those weeks per draw, ``(m, end - start)``."""


def run_lfo(
    candidate: Candidate,
    dataset: Dataset,
    blocks: list[LFOBlock],
    settings: FitSettings,
    thresholds: GateThresholds,
    *,
    seed: int,
    trial_number: int,
    record: TrialRecord,
    report: Callable[[float, int], bool] | None,
    predictions_dir: Path | None,
    prefix: str | None,
    enforce_gate: bool,
    fitter: Any,
    score: str,
) -> float:
    """Score ``candidate`` by PSIS-LFO over ``blocks``; :func:`bayestune.tuning.trial.run_trial`'s contract."""
    from bayestune.tuning.trial import Pruned, fit_gated  # trial.py imports this module

    data, columns = dataset.data, dataset.columns
    y = data[columns.target].to_numpy(dtype=float)
    end = blocks[-1].test_end
    exact: _ExactFit | None = None

    def exact_fit(origin: int) -> _ExactFit:
        fitted, timings, s = fit_gated(fitter, candidate, columns, data.iloc[:origin], settings, thresholds, record,
                                       seed=seed, trial_number=trial_number, index=record.fits, label="fit",
                                       enforce_gate=enforce_gate)
        try:
            after = data.iloc[origin:end]
            draws, timings.predict = fitter.predict(fitted, columns, after, seed=s, out_of_sample=True)
            log_lik = np.asarray(getattr(fitter, LOG_LIKELIHOOD)(fitted, columns, after), dtype=float)
            record.timings.add(timings)
        finally:
            del fitted
            fitter.release()
        return _ExactFit(origin, np.asarray(draws, dtype=float), log_lik)

    for block in blocks:
        weekly, khats, draws, log_weights = [], [], [], []
        for week in range(block.train_end, block.test_end):
            origin = week - block.ahead + 1
            lw, khat = None, None
            if exact is not None and origin > exact.start:
                lw, khat = psis(exact.log_lik[:, : origin - exact.start].sum(axis=1))
                if khat is None or khat > block.k_threshold:
                    exact = None
            if exact is None:  # the first fit, or k̂ passed the threshold: fit exactly on [0, origin)
                exact = exact_fit(origin)
                lw = None
            d = exact.draws[:, week - exact.start]
            if lw is None:
                value = per_week(score, y[week : week + 1], d[:, None])
                lw = np.full(d.shape, -np.log(d.size))
            else:
                value = weighted_per_week(score, y[week : week + 1], d[:, None], lw[:, None])
            weekly.append(float(value[0]))
            khats.append(khat)
            draws.append(d)
            log_weights.append(lw)
        if not np.all(np.isfinite(weekly)):
            raise FloatingPointError(f"block {block.index}: the predictive draws are not finite")
        if predictions_dir is not None:
            np.savez_compressed(
                predictions_dir / f"{prefix or f'trial{trial_number:04d}'}_fold{block.index}.npz",
                draws=np.stack(draws, axis=1), observed=y[block.train_end : block.test_end],
                log_weights=np.stack(log_weights, axis=1),
            )
        record.week_crps.append(weekly)
        record.fold_crps.append(float(np.mean(weekly)))
        record.pareto_k.append(khats)
        if report is not None and report(record.value, block.index):
            raise Pruned(block.index)
    return record.value


def lfo_problem(fitter: Any, name: str) -> str | None:
    """Why ``fitter`` (named ``name``) cannot run PSIS-LFO, or ``None``."""
    if callable(getattr(fitter, LOG_LIKELIHOOD, None)):
        return None
    return (f"validation \"lfo\" needs a fitter with a {LOG_LIKELIHOOD} method and fitter {name!r} has none; "
            "use fitter = \"pymc-marketing-nutpie\"")
