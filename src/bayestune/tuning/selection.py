"""Which completed trial the study chooses: the selection rules.

``lowest``
    The trial with the lowest mean cross-validated CRPS (ties: the earlier trial). What the
    seed recipe does; it partly selects MCMC and week-to-week noise, because differences
    between structures are often smaller than that noise.
``one-se``
    The one-standard-error rule: take the lowest trial as the reference; every trial whose
    mean CRPS exceeds it by at most one standard error of the *paired* per-week differences
    (both scored on the same held-out weeks) is indistinguishable from it; among those,
    choose the simplest structure. Simplicity is ordered by Fourier order, then ``l_max``,
    then the adstock form's parameter count, then the saturation form's (ties: lower CRPS,
    then the earlier trial).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from bayestune.evaluation.metrics import paired_difference

Rule = Literal["lowest", "one-se"]
RULES: tuple[str, ...] = ("lowest", "one-se")
DESCRIPTION = {
    "lowest": "lowest mean CRPS",
    "one-se": "simplest structure within one paired SE of the lowest mean CRPS",
}
ADSTOCK_PARAMETERS = {"geometric": 1, "delayed": 2, "weibull_pdf": 2, "weibull_cdf": 2}
SATURATION_PARAMETERS = {"logistic": 2, "tanh": 2, "michaelis_menten": 2, "hill": 3}


@dataclass(frozen=True)
class Scored:
    """A completed trial as the selection sees it."""

    number: int
    params: dict[str, Any]
    value: float
    week_crps: Sequence[Sequence[float]]


@dataclass(frozen=True)
class Selection:
    chosen: Scored
    rule: str
    lowest: Scored
    within: list[int] = field(default_factory=list)
    """Trial numbers indistinguishable from the lowest (``one-se``; the lowest included)."""
    replicates: dict[str, Any] | None = None
    """With replicate refits: what they found and cost (:mod:`bayestune.tuning.replicates`)."""

    def to_dict(self) -> dict[str, Any]:
        out = {"rule": self.rule, "description": DESCRIPTION[self.rule], "lowest_trial": self.lowest.number,
               "lowest_crps": self.lowest.value, "within_one_se": self.within}
        return out | ({"replicates": self.replicates} if self.replicates else {})


def scored_trials(trials: Any) -> list[Scored]:
    """The completed trials of a ``trials.csv`` frame (as :func:`pandas.read_csv` reads it)."""
    import json

    done = trials[trials["state"] == "COMPLETE"]
    return [Scored(int(t["number"]), {k: t[k] for k in ("yearly_seasonality", "l_max", "adstock", "saturation")},
                   float(t["value"]), json.loads(t["week_crps"])) for _, t in done.iterrows()]


def simplicity(params: dict[str, Any]) -> tuple[int, int, int, int]:
    """Smaller is simpler: Fourier order, ``l_max``, adstock then saturation parameter counts."""
    return (int(params["yearly_seasonality"]), int(params["l_max"]),
            ADSTOCK_PARAMETERS.get(params["adstock"], 9), SATURATION_PARAMETERS.get(params["saturation"], 9))


def _weeks(t: Scored) -> np.ndarray:
    return np.concatenate([np.asarray(w, dtype=float) for w in t.week_crps]) if t.week_crps else np.array([])


def select(trials: Sequence[Scored], rule: str = "lowest") -> Selection | None:
    """Choose among completed trials by ``rule``; ``None`` when there is none."""
    if rule not in RULES:
        raise ValueError(f"unknown selection rule {rule!r} (known: {', '.join(RULES)})")
    if not trials:
        return None
    lowest = min(trials, key=lambda t: (t.value, t.number))
    if rule == "lowest":
        return Selection(lowest, rule, lowest, [lowest.number])
    ref = _weeks(lowest)
    within = []
    for t in trials:
        w = _weeks(t)
        if t is lowest:
            within.append(t)
        elif w.shape == ref.shape and w.size >= 2:
            diff, se = paired_difference(w, ref)
            if diff <= se:
                within.append(t)
    chosen = min(within, key=lambda t: (simplicity(t.params), t.value, t.number))
    return Selection(chosen, rule, lowest, sorted(t.number for t in within))
