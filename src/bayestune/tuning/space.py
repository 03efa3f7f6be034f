"""The search space: which MMM structures a study may propose."""

from __future__ import annotations

import optuna

from bayestune.tuning.config import SpaceConfig
from bayestune.tuning.model import Candidate


def suggest(trial: optuna.Trial, space: SpaceConfig) -> Candidate:
    """Ask ``trial`` for one candidate; fixed dimensions are recorded but not searched."""
    return Candidate(
        yearly_seasonality=trial.suggest_int("yearly_seasonality", *space.yearly_seasonality),
        l_max=trial.suggest_int("l_max", *space.l_max),
        adstock=trial.suggest_categorical("adstock", list(space.adstock)),
        saturation=trial.suggest_categorical("saturation", list(space.saturation)),
    )


def contains(space: SpaceConfig, candidate: Candidate) -> bool:
    """Whether ``candidate`` lies inside ``space``."""
    lo, hi = space.yearly_seasonality
    l_lo, l_hi = space.l_max
    return (
        lo <= candidate.yearly_seasonality <= hi
        and l_lo <= candidate.l_max <= l_hi
        and candidate.adstock in space.adstock
        and candidate.saturation in space.saturation
    )
