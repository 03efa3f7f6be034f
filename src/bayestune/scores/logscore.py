r"""The ``log`` score: the ensemble log score through a Gaussian kernel density estimate.

The draws :math:`x_1, \dots, x_m` of a week become the mixture
:math:`\hat f(y) = \frac1m \sum_i \varphi\big((y - x_i)/h\big)/h` with Silverman's bandwidth

.. math::
    h = 1.06\,\min\big(\hat\sigma,\ \mathrm{IQR}/1.34\big)\,m^{-1/5}

(:math:`\hat\sigma` the sample standard deviation),
and the score is :math:`-\log \hat f(y)`, in nats (not target units); lower is better. It is
strictly proper and local: it rewards density at the observation only, so it punishes
overconfident forecasts much harder than the CRPS (Gneiting & Raftery 2007).

References
----------
Silverman, B. W. (1986). *Density Estimation for Statistics and Data Analysis*. Chapman & Hall.

Gneiting, T. and Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
estimation. *Journal of the American Statistical Association*, 102(477), 359-378.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def silverman_bandwidth(draws: np.ndarray) -> np.ndarray:
    """Silverman's rule of thumb per column of ``draws`` (shape ``(m, n)``), floored above 0.

    The rule is 0 when a week's draws have no interquartile range (most draws equal, as
    from a fitter whose predictive draws are a point forecast or repeat few values), and a
    kernel of width 0 makes the score infinite or NaN. Where the spread is 0 the standard
    deviation stands in for it, and where that too is 0 (every draw the same) the draws'
    magnitude or, at 0, one unit: the fallbacks of R's ``bw.nrd0``. A degenerate forecast
    then gets a finite score that is very bad away from its point, as it should.
    """
    x = np.asarray(draws, dtype=float)
    q25, q75 = np.quantile(x, [0.25, 0.75], axis=0)
    sd = x.std(axis=0, ddof=1) if x.shape[0] > 1 else np.zeros(x.shape[1:])
    spread = np.minimum(sd, (q75 - q25) / 1.34)
    spread = np.where(spread > 0, spread, sd)
    spread = np.where(spread > 0, spread, np.abs(x[0]))
    spread = np.where(spread > 0, spread, 1.0)
    return 1.06 * spread * x.shape[0] ** (-0.2)


def log_score(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Per-week ensemble log score of ``draws`` (shape ``(m, n)``) against ``observed``.

    >>> round(float(log_score(np.array([0.0]), np.array([[-1.0], [1.0]]))[0]), 4)
    1.6002
    """
    y = np.asarray(observed, dtype=float)
    x = np.asarray(draws, dtype=float)
    h = silverman_bandwidth(x)
    z = (y - x) / h
    log_kernel = -0.5 * z**2 - 0.5 * np.log(2 * np.pi) - np.log(h)
    return -(logsumexp(log_kernel, axis=0) - np.log(x.shape[0]))


log_score.description = "ensemble log score (Gaussian KDE, Silverman bandwidth), nats"  # type: ignore[attr-defined]
