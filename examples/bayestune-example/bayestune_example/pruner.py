"""A pruner: the median rule, patient for one more fold before it stops a trial."""

from __future__ import annotations

from optuna.pruners import MedianPruner, PatientPruner


class PatientMedianPruner(PatientPruner):
    """:class:`optuna.pruners.PatientPruner` around the median rule (``patience`` folds)."""

    def __init__(self, patience: int = 1, n_startup_trials: int = 5) -> None:
        super().__init__(MedianPruner(n_startup_trials=n_startup_trials), patience=patience)
