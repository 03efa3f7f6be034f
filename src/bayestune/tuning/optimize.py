"""One process's trial loop: run trials until the total counts, recording each as it ends."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import optuna

from bayestune.tuning.config import TuningConfig
from bayestune.tuning.context import SearchContext
from bayestune.tuning.objective import objective
from bayestune.tuning.records import best_trial, write_records
from bayestune.tuning.storage import counted, open_study


def show_progress(config: TuningConfig) -> bool:
    return not config.quiet and not os.environ.get("CI") and sys.stderr.isatty()


def _progress_callback(total: int, done: int, enabled: bool):
    if not enabled:
        return None, None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=done, desc="trials", unit="trial", file=sys.stderr)

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        bar.update(1)
        best = best_trial(study)
        bar.set_postfix_str(f"best CRPS {best.value:.1f} (#{best.number})" if best else "no complete trial yet")

    return bar, callback


def optimize(
    run: Path, ctx: SearchContext, url: str, total: int, *, progress: bool, rank: int = 0, records: bool = True
) -> None:
    """Run trials until ``total`` count; each is in the storage as soon as it finishes.

    With ``records`` (one process runs the search), ``trials.csv`` and ``best.json`` are
    rewritten after every trial. A worker (``records=False``) writes only to the storage:
    the parent derives the files from it, so each file has one writer.

    Worker ``rank`` seeds its TPE sampler with ``seed + rank``; MCMC seeds derive from the
    run's seed and the trial number, so they do not depend on which worker ran a trial.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = open_study(url, ctx.config.seed + rank, ctx.config)
    done = counted(study)
    bar, tick = _progress_callback(total, done, progress)

    def record(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if records:
            write_records(run, study, ctx.config.selection)
        if tick is not None:
            tick(study, trial)
        if counted(study) >= total:
            study.stop()

    try:
        if done < total:
            study.optimize(
                lambda t: objective(ctx, t), n_trials=total - done, catch=(Exception,),
                callbacks=[record], gc_after_trial=False,  # run_trial releases each fit (model.release)
            )
    finally:
        if bar is not None:
            bar.close()
        if records:
            write_records(run, study, ctx.config.selection)
