"""The study runner: Optuna storage in the run dir, resume, parallel workers, records.

A run dir holds ``config.toml`` (resolved), the storage (``study.db``, SQLite, which
optuna-dashboard opens; ``study.journal`` with several workers), ``trials.csv``,
``best.json``, ``environment.json``, ``priors.json`` and, after the final stage, ``fits/``.
Every finished trial is in the storage before the next starts, so a kill loses at most the
trial in flight; running the same command again resumes up to the requested total.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from bayestune.errors import BayestuneError
from bayestune.fileio import write_atomic
from bayestune.simulator.dataset import ColumnRoles, Dataset, read_dataset
from bayestune.tuning.config import TuningConfig, config_from_dict
from bayestune.tuning.environment import environment
from bayestune.tuning.folds import Fold, fold_plan
from bayestune.tuning.gate import GateThresholds
from bayestune.tuning.oracle import run_oracle
from bayestune.tuning.model import CANDIDATE_FIELDS, Candidate, FitSettings, default_priors
from bayestune.tuning.replicates import averaged, load_replicates, run_replicates
from bayestune.tuning.selection import DESCRIPTION, Scored, Selection, select
from bayestune.tuning.space import suggest
from bayestune.tuning.trial import GateFailed, Pruned, TrialRecord, run_trial

STUDY_NAME = "bayestune"
CONFIG_FILE = "config.toml"
TRIALS_FILE = "trials.csv"
BEST_FILE = "best.json"
ENV_FILE = "environment.json"
PRIORS_FILE = "priors.json"
PREDICTIONS_DIR = "predictions"
# keys that may change when a run is resumed
RESUMABLE = {"trials", "workers", "quiet", "storage", "oracle", "selection", "replicates", "replicate_top"}
"""Keys a resumed run may change: none of them changes what a trial computes."""


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
        return GateThresholds(g.max_divergence_rate, g.max_rhat, g.min_ess)


def make_folds(dataset: Dataset, config: TuningConfig) -> list[Fold]:
    """The search folds for ``dataset`` under ``config`` (a tail holdout is one fold)."""
    return fold_plan(dataset.weeks, config)


# ------------------------------------------------------------------------- storage
def storage_url(run: Path, config: TuningConfig) -> str:
    if config.storage:
        return config.storage
    if config.workers > 1:
        return f"journal:{run / 'study.journal'}"
    return f"sqlite:///{run / 'study.db'}"


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage from a URL; ``journal:PATH`` is a journal file shared by processes."""
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url.removeprefix("journal:")))
    try:
        return optuna.storages.RDBStorage(url)
    except Exception as exc:  # noqa: BLE001 - any storage failure is a bad --storage
        raise BayestuneError(f"cannot open the storage: {exc}", "--storage") from None


def open_study(url: str, seed: int, config: TuningConfig) -> optuna.Study:
    pruner: optuna.pruners.BasePruner
    if config.pruner.kind == "median":
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=config.pruner.n_startup_trials, n_warmup_steps=config.pruner.n_warmup_steps
        )
    else:
        pruner = optuna.pruners.NopPruner()
    return optuna.create_study(
        study_name=STUDY_NAME,
        storage=open_storage(url),
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruner,
        load_if_exists=True,
    )


def fail_interrupted(study: optuna.Study) -> int:
    """Mark trials left running by a killed process as failed ("interrupted")."""
    storage = study._storage  # noqa: SLF001 - Optuna's public API cannot end a stale trial
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(t._trial_id, "interrupted", True)  # noqa: SLF001
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)  # noqa: SLF001
        n += 1
    return n


def counted(study: optuna.Study) -> int:
    """Trials that count towards the total: all finished ones except interrupted ones."""
    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return sum(
        1 for t in study.get_trials(deepcopy=False, states=done) if not t.user_attrs.get("interrupted")
    )


# ------------------------------------------------------------------------ objective
def objective(ctx: SearchContext, trial: optuna.Trial) -> float:
    """Optuna's objective: run the trial, then turn its ending into Optuna's terms."""
    candidate = suggest(trial, ctx.config.space)
    record = TrialRecord(candidate)
    trial.set_user_attr("sampler", ctx.config.sampler)
    trial.set_user_attr("seed", ctx.config.seed)

    def report(value: float, step: int) -> bool:
        trial.report(value, step)
        return trial.should_prune()

    try:
        return run_trial(
            candidate, ctx.dataset, ctx.folds, ctx.settings, ctx.thresholds,
            seed=ctx.config.seed, trial_number=trial.number, record=record, report=report,
            predictions_dir=ctx.run / PREDICTIONS_DIR,
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


# -------------------------------------------------------------------------- records
def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: parameters, state, value, per-fold and per-week CRPS, diagnostics, times."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        timings = a.get("timings", {})
        diags = a.get("diagnostics", [])
        row: dict[str, Any] = {"number": t.number, "state": t.state.name, "value": t.value}
        row |= {k: t.params.get(k) for k in CANDIDATE_FIELDS}
        row |= {
            "fold_crps": json.dumps(a.get("fold_crps", [])),
            "week_crps": json.dumps(a.get("week_crps", [])),
            "max_divergence_rate": max((d["divergence_rate"] for d in diags), default=None),
            "max_rhat": max((d["max_rhat"] for d in diags), default=None),
            "min_ess_bulk": min((d["min_ess_bulk"] for d in diags), default=None),
            "seconds_build": timings.get("build"),
            "seconds_compile": timings.get("compile"),
            "seconds_sample": timings.get("sample"),
            "seconds_predict": timings.get("predict"),
            "seconds_total": t.duration.total_seconds() if t.duration else None,
            "sampler": a.get("sampler"),
            "seed": a.get("seed"),
            "fold_seeds": json.dumps(a.get("seeds", [])),
            "pruned_reason": a.get("pruned_reason"),
            "error": a.get("error"),
            "interrupted": bool(a.get("interrupted", False)),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def choose(
    study: optuna.Study, rule: str = "lowest", replicates: dict[str, Any] | None = None
) -> tuple[optuna.trial.FrozenTrial, Selection] | None:
    """The completed trial that ``rule`` chooses (see :mod:`bayestune.tuning.selection`).

    With ``replicates`` (``replicates.json``), only the replicated top trials are candidates,
    each scored by its CRPS averaged over its fits (:mod:`bayestune.tuning.replicates`).
    """
    complete = {t.number: t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    scored = [Scored(t.number, dict(t.params), float(t.value), t.user_attrs.get("week_crps", []))
              for t in complete.values()]
    summary = None
    if replicates and replicates.get("fits"):
        scored, summary = averaged(scored, replicates)
    picked = select(scored, rule)
    if picked is None:
        return None
    return complete[picked.chosen.number], replace(picked, replicates=summary)


def best_trial(study: optuna.Study, rule: str = "lowest") -> optuna.trial.FrozenTrial | None:
    chosen = choose(study, rule)
    return chosen[0] if chosen else None


def write_records(run: Path, study: optuna.Study, rule: str = "lowest", replicates: dict[str, Any] | None = None) -> None:
    """Rewrite ``trials.csv`` and ``best.json`` (the trial ``rule`` chooses) from the storage, atomically."""
    frame = trials_frame(study)
    write_atomic(run / TRIALS_FILE, frame.to_csv(index=False, lineterminator="\n"))
    chosen = choose(study, rule, replicates)
    if chosen is not None:
        best, picked = chosen
        payload = {
            "selection": DESCRIPTION[rule] + (" (CRPS averaged over replicate refits of the top trials)"
                                              if picked.replicates else ""),
            "selection_rule": picked.to_dict(),
            "trial": best.number,
            "crps": best.value,
            "crps_units": "target units, mean per held-out week over folds (fair estimator)",
            "candidate": Candidate.from_params(best.params).to_dict(),
            "fold_crps": best.user_attrs.get("fold_crps"),
            "week_crps": best.user_attrs.get("week_crps"),
        }
        if picked.replicates:  # the value the choice was made on; crps, fold_crps and week_crps are its own fit's
            payload["crps_replicate_mean"] = picked.chosen.value
        old = json.loads((run / BEST_FILE).read_text()) if (run / BEST_FILE).exists() else {}
        if "final" in old and old.get("trial") == best.number:
            payload["final"] = old["final"]
        write_atomic(run / BEST_FILE, json.dumps(payload, indent=2) + "\n")


# ------------------------------------------------------------------------ run dir
def prepare_run_dir(run: Path, config: TuningConfig, dataset: Dataset) -> None:
    """Create or check the run dir; a resumed run must keep the same settings."""
    path = run / CONFIG_FILE
    if path.exists():
        import tomllib

        old = config_from_dict(tomllib.loads(path.read_text()), str(path)).model_dump(mode="json")
        new = config.model_dump(mode="json")
        changed = sorted(k for k in new if k not in RESUMABLE and old.get(k) != new.get(k))
        if changed:
            raise BayestuneError(
                f"the run dir holds a study with other settings ({', '.join(changed)}); "
                "use a new --out or the same settings to resume",
                str(run),
            )
        data_old = json.loads((run / "dataset.json").read_text()).get("path") if (run / "dataset.json").exists() else None
        if data_old and Path(data_old).resolve() != dataset.path.resolve():
            raise BayestuneError(f"the run dir was made for dataset {data_old}", str(run))
    elif run.exists() and any(run.iterdir()):
        raise BayestuneError("output directory is not empty and holds no study", str(run))
    try:
        (run / "fits").mkdir(parents=True, exist_ok=True)
        (run / PREDICTIONS_DIR).mkdir(exist_ok=True)
    except OSError as exc:
        raise BayestuneError(f"cannot create the run dir: {exc.strerror or exc}", str(run)) from None
    write_atomic(path, config.to_toml())
    write_atomic(run / ENV_FILE, json.dumps(environment(config.sampler), indent=2) + "\n")
    write_atomic(run / "dataset.json", json.dumps({
        "path": str(dataset.path.resolve()),
        "columns": {"date": dataset.columns.date, "target": dataset.columns.target,
                    "channels": list(dataset.columns.channels), "controls": list(dataset.columns.controls)},
        "weeks": dataset.weeks,
        "has_truth": dataset.has_truth,
    }, indent=2) + "\n")
    mid = Candidate(config.space.yearly_seasonality[0] or 1, config.space.l_max[0],
                    config.space.adstock[0], config.space.saturation[0])
    write_atomic(run / PRIORS_FILE, json.dumps(default_priors(mid, dataset.columns), indent=2) + "\n")


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
    run: Path, ctx: SearchContext, url: str, total: int, *, progress: bool, rank: int = 0
) -> None:
    """Run trials until ``total`` count, recording each one as it finishes.

    Worker ``rank`` seeds its TPE sampler with ``seed + rank``; MCMC seeds derive from the
    run's seed and the trial number, so they do not depend on which worker ran a trial.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = open_study(url, ctx.config.seed + rank, ctx.config)
    done = counted(study)
    bar, tick = _progress_callback(total, done, progress)

    def record(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
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
        write_records(run, study, ctx.config.selection)


def _worker(run: str, url: str, data_path: str, roles: dict[str, Any], config_data: dict, total: int, rank: int) -> None:
    config = config_from_dict(config_data, "worker")
    columns = ColumnRoles(roles["date"], roles["target"], tuple(roles["channels"]), tuple(roles["controls"]))
    dataset = read_dataset(data_path, columns)
    ctx = SearchContext(dataset, config, make_folds(dataset, config), Path(run))
    optimize(Path(run), ctx, url, total, progress=False, rank=rank)


def search(dataset: Dataset, config: TuningConfig, run: str | Path) -> optuna.Study:
    """Run (or resume) the search in ``run``; returns the study."""
    run = Path(run)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folds = make_folds(dataset, config)
    prepare_run_dir(run, config, dataset)
    url = storage_url(run, config)
    study = open_study(url, config.seed, config)
    fail_interrupted(study)
    ctx = SearchContext(dataset, config, folds, run)
    if config.workers == 1:
        optimize(run, ctx, url, config.trials, progress=show_progress(config))
    else:
        roles = {"date": dataset.columns.date, "target": dataset.columns.target,
                 "channels": list(dataset.columns.channels), "controls": list(dataset.columns.controls)}
        mp = multiprocessing.get_context("spawn")
        procs = [
            mp.Process(target=_worker, args=(str(run), url, str(dataset.path), roles,
                                              config.model_dump(mode="json"), config.trials, rank))
            for rank in range(config.workers)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        study = open_study(url, config.seed, config)
    if config.replicates:
        say = (lambda line: print(line, file=sys.stderr)) if show_progress(config) else None
        run_replicates(ctx, study, config.replicate_top, config.replicates, say)
    # also when resumed with another rule; replicates of an earlier run count only when asked for
    write_records(run, study, config.selection, load_replicates(run) if config.replicates else None)
    if config.oracle and dataset.has_truth:
        if show_progress(config) and not (run / "oracle.json").exists():
            print("scoring the true configuration (oracle trial, never selectable) ...", file=sys.stderr)
        run_oracle(ctx)
    return open_study(url, config.seed, config)

