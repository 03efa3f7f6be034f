"""The ``one-se`` selection rule: the simplest structure within one paired SE of the lowest.

Take the lowest trial as the reference; every trial whose mean score exceeds it by at most
one standard error of the *paired* per-week differences (both scored on the same held-out
weeks) is indistinguishable from it; among those, choose the simplest structure. Simplicity
is ordered by Fourier order, then ``l_max``, then the adstock form's parameter count, then
the saturation form's (ties: lower score, then the earlier trial).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bayestune.evaluation.metrics import paired_difference
from bayestune.tuning.selection import Scored, simplicity
from bayestune.tuning.selection.lowest import lowest


def _weeks(t: Scored) -> np.ndarray:
    return np.concatenate([np.asarray(w, dtype=float) for w in t.week_crps]) if t.week_crps else np.array([])


def within(trials: Sequence[Scored]) -> list[Scored]:
    """The trials indistinguishable from the lowest (the lowest included)."""
    best = lowest(trials)
    ref = _weeks(best)
    out = []
    for t in trials:
        w = _weeks(t)
        if t is best:
            out.append(t)
        elif w.shape == ref.shape and w.size >= 2:
            diff, se = paired_difference(w, ref)
            if diff <= se:
                out.append(t)
    return out


def one_se(trials: Sequence[Scored]) -> Scored:
    """The simplest trial within one paired standard error of the lowest."""
    return min(within(trials), key=lambda t: (simplicity(t.params), t.value, t.number))


one_se.description = "simplest structure within one paired SE of the lowest mean CRPS"  # type: ignore[attr-defined]
one_se.within = within  # type: ignore[attr-defined]
