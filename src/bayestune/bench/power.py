"""The power of a paired t-test: what a suite of ``n`` cells can detect, and how many cells a
difference needs.

A paired difference of true mean :math:`\\delta` and standard deviation :math:`\\sigma` over
:math:`n` cells gives :math:`t = \\bar d / (s_d/\\sqrt n)`, noncentral :math:`t` with
:math:`n-1` degrees of freedom and noncentrality :math:`\\delta\\sqrt n/\\sigma`. The
two-sided test at level :math:`\\alpha` detects it with probability

.. math::

    1 - F_{\\mathrm{nct}}(t_{1-\\alpha/2}) + F_{\\mathrm{nct}}(-t_{1-\\alpha/2}).

:math:`\\sigma` is the standard deviation of the differences a suite measured; it is an
estimate, so the figures are planning figures, not guarantees. They are per test: a verdict
Holm-adjusted over :math:`m` metrics needs more (its first step tests at :math:`\\alpha/m`).
"""

from __future__ import annotations

import math

from scipy import optimize, stats

MAX_CELLS = 100_000


def power_at(delta: float, sd: float, n: int, *, alpha: float) -> float:
    """Probability that the two-sided paired t-test at ``alpha`` detects ``delta`` over ``n`` cells."""
    if n < 2:
        return 0.0
    if sd <= 0:
        return 1.0 if delta != 0 else alpha
    df = n - 1
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    nc = abs(delta) * math.sqrt(n) / sd
    # the lower tail as sf(crit; -nc): scipy's nct.cdf(-crit; nc) is NaN for large nc at 1 df
    return float(stats.nct.sf(crit, df, nc) + stats.nct.sf(crit, df, -nc))


def min_detectable(sd: float | None, n: int, *, alpha: float, power: float) -> float | None:
    """The smallest |mean difference| detected with probability ``power`` over ``n`` cells."""
    if sd is None or n < 2:
        return None
    if sd <= 0:
        return 0.0
    hi = sd
    while power_at(hi, sd, n, alpha=alpha) < power:
        hi *= 2
    return float(optimize.brentq(lambda d: power_at(d, sd, n, alpha=alpha) - power, 0.0, hi, xtol=sd * 1e-6))


def cells_needed(sd: float | None, delta: float, *, alpha: float, power: float) -> int | None:
    """The fewest cells (at least 2) that detect ``delta`` with probability ``power``; ``None``
    without a standard deviation, or beyond 100 000 cells."""
    if sd is None or delta == 0:
        return None
    if power_at(delta, sd, 2, alpha=alpha) >= power:
        return 2
    lo, hi = 2, 4
    while power_at(delta, sd, hi, alpha=alpha) < power:
        lo, hi = hi, hi * 2
        if hi > MAX_CELLS:
            return None
    while hi - lo > 1:  # power rises with n: bisect to the first n that reaches it
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if power_at(delta, sd, mid, alpha=alpha) >= power else (mid, hi)
    return hi
