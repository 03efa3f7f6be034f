"""Optuna's objective: suggest a structure, run the trial, turn its ending into Optuna's terms."""

from __future__ import annotations

import optuna

from bayestune.rundir import PREDICTIONS_DIR
from bayestune.tuning.context import SearchContext
from bayestune.tuning.fitters import resolve_fitter, sampler_name
from bayestune.tuning.space import suggest
from bayestune.tuning.trial import GateFailed, Pruned, TrialRecord, run_trial


def objective(ctx: SearchContext, trial: optuna.Trial) -> float:
    """Optuna's objective: run the trial, then turn its ending into Optuna's terms."""
    candidate = suggest(trial, ctx.config.space)
    record = TrialRecord(candidate)
    fitter = resolve_fitter(ctx.config.fitter)
    trial.set_user_attr("fitter", ctx.config.fitter)
    trial.set_user_attr("sampler", sampler_name(fitter, ctx.config.sampler))
    trial.set_user_attr("seed", ctx.config.seed)
    trial.set_user_attr("score", ctx.config.score)

    def report(value: float, step: int) -> bool:
        trial.report(value, step)
        return trial.should_prune()

    try:
        return run_trial(
            candidate, ctx.dataset, ctx.folds, ctx.settings, ctx.thresholds,
            seed=ctx.config.seed, trial_number=trial.number, record=record, report=report,
            predictions_dir=ctx.run / PREDICTIONS_DIR, fitter=fitter, score=ctx.config.score,
        )
    except GateFailed as exc:
        trial.set_user_attr("pruned_reason", f"convergence gate: {exc}")
        raise optuna.TrialPruned(str(exc)) from None
    except Pruned as exc:
        trial.set_user_attr("pruned_reason", str(exc))
        raise optuna.TrialPruned(str(exc)) from None
    except Exception as exc:
        trial.set_user_attr("error", f"{exc.__class__.__name__}: {exc}"[:2000])
        raise
    finally:
        for key, value in record.attrs().items():
            trial.set_user_attr(key, value)
