"""The study's Optuna storage: its URL in the run dir, opening it, and trials left running.

Every finished trial is in the storage before the next starts, so a kill loses at most the
trial in flight; running the same command again resumes up to the requested total.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.trial import TrialState

from bayestune.errors import BayestuneError
from bayestune.rundir import JOURNAL_FILE, SQLITE_FILE
from bayestune.tuning.config import TuningConfig

STUDY_NAME = "bayestune"


def storage_url(run: Path, config: TuningConfig) -> str:
    if config.storage:
        return config.storage
    if config.workers > 1:
        return f"journal:{run / JOURNAL_FILE}"
    return f"sqlite:///{run / SQLITE_FILE}"


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
