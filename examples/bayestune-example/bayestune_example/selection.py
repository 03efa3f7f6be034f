"""A selection rule: the shortest carry-over among the nearly-best trials.

bayestune calls a rule with the completed trials, each with ``number``, ``params`` (the
structure: ``yearly_seasonality``, ``l_max``, ``adstock``, ``saturation``), ``value`` (the
mean score, lower is better) and ``week_crps`` (per-week scores by fold); the rule returns
one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TOLERANCE = 0.02
"""How far above the lowest mean score a trial may be and still count as nearly best."""


def fewest_lags(trials: Sequence[Any]) -> Any:
    """Among the trials within 2% of the lowest mean score, the one with the smallest ``l_max``
    (ties: the lower score, then the earlier trial)."""
    best = min(t.value for t in trials)
    near = [t for t in trials if t.value <= best + TOLERANCE * abs(best)]
    return min(near, key=lambda t: (int(t.params["l_max"]), t.value, t.number))


fewest_lags.description = "shortest l_max within 2% of the lowest mean score"
