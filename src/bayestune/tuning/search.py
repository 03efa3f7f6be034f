"""The search: prepare the run dir, run the trials (one process or several), then the
replicate refits and the oracle trial, and leave ``trials.csv`` and ``best.json`` current.
"""

from __future__ import annotations

import sys
from pathlib import Path

import optuna

from bayestune.rundir import ORACLE_FILE
from bayestune.simulator.dataset import Dataset
from bayestune.tuning.config import TuningConfig
from bayestune.tuning.context import SearchContext, make_folds
from bayestune.tuning.optimize import optimize, show_progress
from bayestune.tuning.oracle import run_oracle
from bayestune.tuning.prepare import prepare_run_dir
from bayestune.tuning.records import write_records
from bayestune.tuning.replicates import load_replicates, run_replicates
from bayestune.tuning.storage import end_stale_trials, open_study, storage_url
from bayestune.tuning.workers import run_workers


def search(dataset: Dataset, config: TuningConfig, run: str | Path) -> optuna.Study:
    """Run (or resume) the search in ``run``; returns the study."""
    run = Path(run)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folds = make_folds(dataset, config)
    prepare_run_dir(run, config, dataset)
    url = storage_url(run, config)
    end_stale_trials(url, config)
    study = open_study(url, config.seed, config)
    ctx = SearchContext(dataset, config, folds, run)
    if config.workers == 1:
        optimize(run, ctx, url, config.trials, progress=show_progress(config))
    else:
        try:
            run_workers(ctx, url, refresh=lambda: write_records(run, study, config.selection))
        finally:  # also when a worker failed: the records show what the others did
            study = open_study(url, config.seed, config)
            write_records(run, study, config.selection)
    if config.replicates:
        say = (lambda line: print(line, file=sys.stderr)) if show_progress(config) else None
        run_replicates(ctx, study, config.replicate_top, config.replicates, say)
    # also when resumed with another rule; replicates of an earlier run count only when asked for
    write_records(run, study, config.selection, load_replicates(run) if config.replicates else None)
    if config.oracle and dataset.has_truth:
        if show_progress(config) and not (run / ORACLE_FILE).exists():
            print("scoring the true configuration (oracle trial, never selectable) ...", file=sys.stderr)
        run_oracle(ctx)
    return open_study(url, config.seed, config)
