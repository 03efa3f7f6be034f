"""One process's trial loop: run trials until the total counts, recording each as it ends."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState

from bayestune.progress import Mode, say
from bayestune.tuning.context import SearchContext
from bayestune.tuning.objective import objective
from bayestune.tuning.records import best_trial, write_records
from bayestune.tuning.storage import counted, open_study


def _bar(total: int, done: int):
    """A bar on a terminal: one tick per trial, the lowest CRPS so far beside it."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=done, desc="trials", unit="trial", file=sys.stderr)

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        bar.update(1)
        best = best_trial(study)
        bar.set_postfix_str(f"best CRPS {best.value:.1f} (#{best.number})" if best else "no complete trial yet")

    return bar, callback


def trial_line(study: optuna.Study, trial: optuna.trial.FrozenTrial, total: int) -> str:
    """One line for a log: the trial's state, seconds and score (or why it has none)."""
    seconds = trial.duration.total_seconds() if trial.duration else 0.0
    if trial.state == TrialState.COMPLETE:
        best = best_trial(study)
        detail = f"CRPS {trial.value:.1f}" + (f"; lowest so far {best.value:.1f} (trial {best.number})" if best else "")
    elif trial.state == TrialState.PRUNED:
        detail = trial.user_attrs.get("pruned_reason") or "pruned"
    else:
        detail = (trial.user_attrs.get("error") or "failed").strip().splitlines()[0][:200]
    return f"trial {trial.number} {trial.state.name} in {seconds:.0f} s: {detail} [{counted(study)}/{total}]"


def optimize(
    run: Path, ctx: SearchContext, url: str, total: int, *, progress: Mode, rank: int = 0, records: bool = True
) -> None:
    """Run trials until ``total`` count; each is in the storage as soon as it finishes.

    With ``records`` (one process runs the search), ``trials.csv`` and ``best.json`` are
    rewritten after every trial. A worker (``records=False``) writes only to the storage:
    the parent derives the files from it, so each file has one writer.

    ``progress`` (:mod:`bayestune.progress`): a bar, a line per finished trial, or nothing.
    Worker ``rank`` seeds its TPE sampler with ``seed + rank``; MCMC seeds derive from the
    run's seed and the trial number, so they do not depend on which worker ran a trial.
    """
    # Optuna's own warning for a failed trial stays on a terminal, beside the bar; in a log
    # the trial's line says it, and quiet means quiet (trials.csv keeps every error)
    optuna.logging.set_verbosity(optuna.logging.WARNING if progress == "bar" else optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = open_study(url, ctx.config.seed + rank, ctx.config)
    done = counted(study)
    bar, tick = _bar(total, done) if progress == "bar" else (None, None)

    def record(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if records:
            write_records(run, study, ctx.config.selection)
        if tick is not None:
            tick(study, trial)
        elif progress == "lines":
            say(trial_line(study, trial, total))
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
