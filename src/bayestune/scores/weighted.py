"""Scores of a weighted predictive: draws that carry importance weights (PSIS-LFO's).

A score may offer a ``weighted(observed, draws, weights) -> per_week`` attribute that scores
the weighted ensemble exactly (the built-in ``crps`` does). Any other score is given the
weighted ensemble as an unweighted one of the same size, by systematic resampling (a fixed
grid, so the same weights always give the same draws): a plug-in score needs nothing new.
"""

from __future__ import annotations

import numpy as np

from bayestune.scores import per_week, resolve_score


def normalised(log_weights: np.ndarray) -> np.ndarray:
    """Weights summing to one over axis 0, from log weights (any offset)."""
    lw = np.asarray(log_weights, dtype=float)
    w = np.exp(lw - lw.max(axis=0, keepdims=True))
    return w / w.sum(axis=0, keepdims=True)


def weighted_crps(observed: np.ndarray, draws: np.ndarray, weights: np.ndarray) -> np.ndarray:
    r"""Per-week fair CRPS of a weighted ensemble, in target units.

    .. math::
        \sum_i w_i |x_i - y| - \frac{1}{2(1 - \sum_i w_i^2)} \sum_{i,j} w_i w_j |x_i - x_j|

    with the weights of each week summing to one: the pair term divided by
    :math:`1 - \sum w_i^2` is unbiased for weighted draws, as :math:`m(m-1)` is for the fair
    estimator, to which it reduces when all weights are :math:`1/m` (scoringrules'
    ``crps_ensemble(..., ens_w=w, estimator="fair")``). The pair sum is taken over the
    sorted draws, :math:`O(m \log m)` per week.
    """
    y = np.asarray(observed, dtype=float)
    x = np.asarray(draws, dtype=float)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum(axis=0, keepdims=True)
    abs_error = np.sum(w * np.abs(x - y), axis=0)
    order = np.argsort(x, axis=0, kind="stable")
    xs, ws = np.take_along_axis(x, order, axis=0), np.take_along_axis(w, order, axis=0)
    below_w = np.cumsum(ws, axis=0) - ws  # weight of the draws sorted before each
    below_wx = np.cumsum(ws * xs, axis=0) - ws * xs
    pair_sum = 2.0 * np.sum(ws * (xs * below_w - below_wx), axis=0)
    return abs_error - pair_sum / (2.0 * (1.0 - np.sum(w**2, axis=0)))


def resample(draws: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Systematic resampling of each week's draws (axis 0) by its weights, keeping ``m`` draws."""
    x = np.asarray(draws, dtype=float)
    w = np.asarray(weights, dtype=float)
    m = x.shape[0]
    grid = (np.arange(m) + 0.5) / m
    cdf = np.cumsum(w / w.sum(axis=0, keepdims=True), axis=0)
    picks = np.stack([np.minimum(np.searchsorted(cdf[:, k], grid), m - 1) for k in range(x.shape[1])], axis=1)
    return np.take_along_axis(x, picks, axis=0)


def weighted_per_week(name: str, observed: np.ndarray, draws: np.ndarray, log_weights: np.ndarray) -> np.ndarray:
    """Score ``draws`` (``(m, n)``) weighted by ``log_weights`` (``(m, n)``) with the score ``name``."""
    weights = normalised(log_weights)
    exact = getattr(resolve_score(name), "weighted", None)
    if exact is None:
        return per_week(name, observed, resample(draws, weights))
    out = np.asarray(exact(np.asarray(observed, dtype=float), np.asarray(draws, dtype=float), weights), dtype=float)
    if out.shape != np.shape(observed):
        raise ValueError(f"score {name!r}'s weighted form returned shape {out.shape}, expected {np.shape(observed)}")
    return out
