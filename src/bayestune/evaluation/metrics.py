r"""Proper scores for posterior predictive draws: the CRPS and how to compare it.

The continuous ranked probability score (CRPS) of a predictive distribution :math:`F`
at an observation :math:`y` is

.. math::
    \mathrm{CRPS}(F, y) = \mathbb{E}|X - y| - \tfrac{1}{2}\,\mathbb{E}|X - X'|,
    \qquad X, X' \overset{\text{iid}}{\sim} F,

so it is in the units of the observations (the target's units): a CRPS of 120 on weekly
sales means the forecast is off by about 120 sales in the CRPS sense. Lower is better;
for a point forecast it reduces to the absolute error.

Here :math:`F` is known only through :math:`m` draws. Two estimators are offered:

* ``"fair"`` (the default) divides the pair term by :math:`m(m-1)`. It is unbiased for
  the CRPS of the predictive distribution itself, whatever the number of draws
  :math:`m`, so trials that kept different numbers of draws are compared fairly
  (Ferro 2014).
* ``"nrg"`` divides the pair term by :math:`m^2`, i.e. it scores the empirical
  distribution of the draws. It matches ``properscoring.crps_ensemble`` and
  ``pymc_marketing.metrics.crps``, and over-penalises by
  :math:`\mathbb{E}|X - X'| / (2m)` on average, so fewer draws look worse.

Samples follow the PyMC-Marketing convention: draws on axis 0, shape ``(m, n_obs)``.

References
----------
Gneiting, T. and Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
estimation. *Journal of the American Statistical Association*, 102(477), 359-378.

Ferro, C. A. T. (2014). Fair scores for ensemble forecasts. *Quarterly Journal of the
Royal Meteorological Society*, 140(683), 1917-1923.

Zamo, M. and Naveau, P. (2018). Estimation of the continuous ranked probability score
with limited information and applications to ensemble weather forecasts.
*Mathematical Geosciences*, 50(2), 209-234.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Estimator = Literal["fair", "nrg"]


def crps_ensemble(
    observations: npt.ArrayLike,
    samples: npt.ArrayLike,
    *,
    estimator: Estimator = "fair",
) -> np.ndarray:
    r"""Per-observation CRPS estimated from predictive draws.

    With the draws of one observation sorted, :math:`x_{(1)} \le \dots \le x_{(m)}`,

    .. math::
        \widehat{\mathrm{CRPS}} = \frac{1}{m}\sum_{i=1}^{m} |x_i - y|
            - \frac{1}{2c}\sum_{i=1}^{m}\sum_{j=1}^{m} |x_i - x_j|,
        \qquad \sum_{i,j} |x_i - x_j| = 2\sum_{i=1}^{m} (2i - m - 1)\, x_{(i)},

    with :math:`c = m(m-1)` for ``"fair"`` and :math:`c = m^2` for ``"nrg"``. The
    sorted form costs :math:`O(m \log m)` per observation instead of :math:`O(m^2)`.

    Parameters
    ----------
    observations : array_like, shape (n_obs,) or ()
        The observed values.
    samples : array_like, shape (m, n_obs) or (m,)
        Predictive draws, draws on axis 0. A 1-D ``(m,)`` array goes with a scalar
        observation.
    estimator : {"fair", "nrg"}, default "fair"
        ``"fair"`` is unbiased for the CRPS of the predictive distribution (Ferro 2014)
        and needs :math:`m \ge 2`; ``"nrg"`` scores the empirical distribution of the
        draws (Gneiting & Raftery 2007; Zamo & Naveau 2018).

    Returns
    -------
    numpy.ndarray, shape (n_obs,) or ()
        The CRPS of each observation, in the observations' units; a 0-d array for a
        scalar observation.

    Raises
    ------
    ValueError
        On an unknown estimator, mismatched shapes, no observations, too few draws, or
        values that are not finite.
    """
    if estimator not in ("fair", "nrg"):
        raise ValueError(f"estimator must be 'fair' or 'nrg', got {estimator!r}")
    obs = np.asarray(observations, dtype=float)
    draws = np.asarray(samples, dtype=float)
    if obs.ndim not in (0, 1):
        raise ValueError(f"observations must be 1-D (n_obs,) or a scalar, got shape {obs.shape}")
    if draws.ndim != obs.ndim + 1 or draws.shape[1:] != obs.shape:
        raise ValueError(
            "samples must have shape (m, n_obs) for observations of shape (n_obs,), or (m,) "
            f"for a scalar observation; got samples {draws.shape}, observations {obs.shape}"
        )
    if obs.size == 0:
        raise ValueError("at least one observation is needed")
    m = draws.shape[0]
    min_m = 2 if estimator == "fair" else 1
    if m < min_m:
        raise ValueError(f"the {estimator!r} estimator needs at least {min_m} draws, got m={m}")
    if not np.all(np.isfinite(obs)):
        raise ValueError("observations contain NaN or infinite values")
    if not np.all(np.isfinite(draws)):
        raise ValueError("samples contain NaN or infinite values")

    abs_error = np.mean(np.abs(draws - obs), axis=0)
    weights = 2.0 * np.arange(1, m + 1) - m - 1
    weights = weights.reshape((m,) + (1,) * obs.ndim)
    pair_sum = 2.0 * np.sum(weights * np.sort(draws, axis=0), axis=0)
    denominator = m * (m - 1) if estimator == "fair" else m * m
    return np.asarray(abs_error - pair_sum / (2.0 * denominator))


def crps_mean(
    observations: npt.ArrayLike,
    samples: npt.ArrayLike,
    *,
    estimator: Estimator = "fair",
) -> float:
    r"""Mean CRPS over the observations.

    .. math::
        \overline{\mathrm{CRPS}} = \frac{1}{n}\sum_{t=1}^{n} \widehat{\mathrm{CRPS}}(F_t, y_t)

    Parameters and validation as in :func:`crps_ensemble` (Gneiting & Raftery 2007).

    Returns
    -------
    float
        The mean CRPS, in the observations' units.
    """
    return float(np.mean(crps_ensemble(observations, samples, estimator=estimator)))


def paired_difference(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[float, float]:
    r"""Mean difference of two per-observation scores and its standard error.

    With :math:`d_t = a_t - b_t` on the same :math:`n` observations,

    .. math::
        \bar d = \frac{1}{n}\sum_{t=1}^{n} d_t, \qquad
        \mathrm{SE}(\bar d) = \frac{s_d}{\sqrt{n}}, \quad
        s_d^2 = \frac{1}{n-1}\sum_{t=1}^{n} (d_t - \bar d)^2.

    Pairing removes the variation shared by both scores (Gneiting & Raftery 2007).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Per-observation scores of two forecasts on the same observations, ``n >= 2``.

    Returns
    -------
    tuple of float
        ``(mean of a - b, its standard error)``; a negative mean favours ``a`` for a
        negatively oriented score such as the CRPS.
    """
    a_arr = np.asarray(a, dtype=float)
    b_arr = np.asarray(b, dtype=float)
    if a_arr.ndim != 1 or a_arr.shape != b_arr.shape:
        raise ValueError(
            f"a and b must be 1-D of the same shape, got {a_arr.shape} and {b_arr.shape}"
        )
    if a_arr.size < 2:
        raise ValueError(f"at least 2 paired observations are needed, got {a_arr.size}")
    if not (np.all(np.isfinite(a_arr)) and np.all(np.isfinite(b_arr))):
        raise ValueError("scores contain NaN or infinite values")
    d = a_arr - b_arr
    return float(np.mean(d)), float(np.std(d, ddof=1) / np.sqrt(d.size))


def crps_skill(crps: float, crps_ref: float) -> float:
    r"""CRPS skill score against a reference forecast.

    .. math::
        \mathrm{CRPSS} = 1 - \frac{\mathrm{CRPS}}{\mathrm{CRPS}_{\mathrm{ref}}}

    1 is perfect, 0 is no better than the reference, negative is worse
    (Gneiting & Raftery 2007).

    Parameters
    ----------
    crps, crps_ref : float
        Mean CRPS of the forecast and of the reference; ``crps_ref`` must be positive.

    Returns
    -------
    float
        The skill score.
    """
    if not (np.isfinite(crps) and np.isfinite(crps_ref)):
        raise ValueError(f"crps and crps_ref must be finite, got {crps} and {crps_ref}")
    if crps_ref <= 0:
        raise ValueError(f"crps_ref must be positive, got {crps_ref}")
    return 1.0 - float(crps) / float(crps_ref)
