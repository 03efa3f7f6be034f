"""The search: prepare the run dir, run the trials (one process or several), then the
replicate refits and the oracle trial, and leave ``trials.csv`` and ``best.json`` current.
"""

from __future__ import annotations

import time
from pathlib import Path

import optuna

from bayestune.progress import progress_mode, reporter, say
from bayestune.rundir import ORACLE_FILE
from bayestune.simulator.dataset import Dataset
from bayestune.tuning.config import TuningConfig
from bayestune.tuning.context import SearchContext, make_folds
from bayestune.tuning.optimize import optimize
from bayestune.tuning.oracle import oracle_line, run_oracle
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
    mode = progress_mode(config.quiet)
    if config.workers == 1:
        optimize(run, ctx, url, config.trials, progress=mode)
    else:
        try:  # a bar per process would garble: workers print lines
            run_workers(ctx, url, "off" if mode == "off" else "lines",
                        refresh=lambda: write_records(run, study, config.selection))
        finally:  # also when a worker failed: the records show what the others did
            study = open_study(url, config.seed, config)
            write_records(run, study, config.selection)
    if config.replicates:
        run_replicates(ctx, study, config.replicate_top, config.replicates, reporter(config.quiet))
    # also when resumed with another rule; replicates of an earlier run count only when asked for
    write_records(run, study, config.selection, load_replicates(run) if config.replicates else None)
    if config.oracle and dataset.has_truth:
        fresh = not (run / ORACLE_FILE).exists()
        if mode == "bar" and fresh:
            say("scoring the true configuration (oracle trial, never selectable) ...")
        start = time.perf_counter()
        oracle = run_oracle(ctx)
        if mode != "off" and fresh and oracle is not None:
            say(oracle_line(oracle, time.perf_counter() - start))
    return open_study(url, config.seed, config)
