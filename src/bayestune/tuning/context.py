"""What every trial of a run shares: the dataset, the config, the folds and the run dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bayestune.simulator.dataset import Dataset
from bayestune.tuning.config import TuningConfig
from bayestune.tuning.folds import Fold, fold_plan
from bayestune.tuning.gate import GateThresholds
from bayestune.tuning.model import FitSettings


@dataclass(frozen=True)
class SearchContext:
    """What every trial of a run shares."""

    dataset: Dataset
    config: TuningConfig
    folds: list[Fold]
    run: Path

    @property
    def settings(self) -> FitSettings:
        c = self.config
        return FitSettings(c.sampler, c.draws, c.tune, c.chains, dict(c.sampler_kwargs))

    @property
    def thresholds(self) -> GateThresholds:
        g = self.config.gate
        return GateThresholds(g.max_divergence_rate, g.max_rhat, g.min_ess, g.retries)


def make_folds(dataset: Dataset, config: TuningConfig) -> list[Fold]:
    """The search folds for ``dataset`` under ``config`` (a tail holdout is one fold)."""
    return fold_plan(dataset.weeks, config)
