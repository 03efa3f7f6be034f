"""The run dir's file names: what tuning writes and evaluation reads.

A run dir holds ``config.toml`` (resolved), the storage (``study.db``, SQLite, which
optuna-dashboard opens; ``study.journal`` with several workers), ``trials.csv``,
``best.json``, ``environment.json``, ``dataset.json``, ``priors.json``, ``predictions/``
and, after the final stage, ``fits/``.
"""

from __future__ import annotations

CONFIG_FILE = "config.toml"
TRIALS_FILE = "trials.csv"
BEST_FILE = "best.json"
ENV_FILE = "environment.json"
DATASET_FILE = "dataset.json"
PRIORS_FILE = "priors.json"
PREDICTIONS_DIR = "predictions"
FITS_DIR = "fits"
SQLITE_FILE = "study.db"
JOURNAL_FILE = "study.journal"

TRIAL_COLUMNS = (
    "number", "state", "value", "yearly_seasonality", "l_max", "adstock", "saturation",
    "fold_crps", "week_crps", "max_divergence_rate", "max_rhat", "min_ess_bulk",
    "seconds_build", "seconds_compile", "seconds_sample", "seconds_predict", "seconds_total",
    "sampler", "seed", "fold_seeds", "pruned_reason", "error", "interrupted",
)
"""The columns of ``trials.csv``, in order (a header even before the first trial ends)."""
