r"""The ``interval`` score: the weighted interval score of the predictive quantiles.

For central :math:`(1-\alpha_k)` prediction intervals :math:`[l_k, u_k]` and the median
:math:`m`, all read off the draws as empirical quantiles,

.. math::
    \mathrm{IS}_\alpha(l, u; y) = (u - l) + \tfrac{2}{\alpha}(l - y)\,1\{y < l\}
        + \tfrac{2}{\alpha}(y - u)\,1\{y > u\},

.. math::
    \mathrm{WIS}(y) = \frac{1}{K + 1/2}\Big(\tfrac12 |y - m|
        + \sum_{k=1}^{K} \tfrac{\alpha_k}{2}\,\mathrm{IS}_{\alpha_k}(l_k, u_k; y)\Big).

With these weights the WIS approximates the CRPS as the intervals get denser; it needs only
quantiles, which is how forecast hubs score (Bracher et al. 2021). In target units; lower is
better.

References
----------
Bracher, J., Ray, E. L., Gneiting, T. and Reich, N. G. (2021). Evaluating epidemic forecasts
in an interval format. *PLOS Computational Biology*, 17(2), e1008618.
"""

from __future__ import annotations

import numpy as np

ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""The 11 central intervals of the COVID-19 forecast hubs (98% to 10%)."""


def interval_score(observed: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float) -> np.ndarray:
    """The interval (Winkler) score of the central ``1 - alpha`` interval ``[lower, upper]``."""
    y = np.asarray(observed, dtype=float)
    below = np.clip(lower - y, 0.0, None)
    above = np.clip(y - upper, 0.0, None)
    return (upper - lower) + (2.0 / alpha) * (below + above)


def weighted_interval_score(observed: np.ndarray, draws: np.ndarray, alphas: tuple[float, ...] = ALPHAS) -> np.ndarray:
    """Per-week WIS of ``draws`` (shape ``(m, n)``) against ``observed`` (shape ``(n,)``).

    Quantiles are NumPy's default (linear) empirical quantiles of the draws.

    >>> y = np.array([0.0]); x = np.linspace(-1, 1, 201)[:, None]
    >>> round(float(weighted_interval_score(y, x, (0.5,))[0]), 4)
    0.1667
    """
    y = np.asarray(observed, dtype=float)
    x = np.asarray(draws, dtype=float)
    total = 0.5 * np.abs(y - np.quantile(x, 0.5, axis=0))
    for a in alphas:
        lower, upper = np.quantile(x, [a / 2, 1 - a / 2], axis=0)
        total = total + (a / 2) * interval_score(y, lower, upper, a)
    return total / (len(alphas) + 0.5)


weighted_interval_score.description = "weighted interval score (11 central intervals), target units"  # type: ignore[attr-defined]
