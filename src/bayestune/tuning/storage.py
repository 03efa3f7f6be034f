"""The study's Optuna storage: its URL in the run dir, opening it, and trials left running.

Every finished trial is in the storage before the next starts, so a kill loses at most the
trial in flight; running the same command again resumes up to the requested total.

A trial left RUNNING by a killed process is ended as FAIL and marked interrupted (it does
not count towards the total). An RDB storage (the default ``study.db``, or an RDB
``--storage``) tells such a trial from one that another live process is running through
Optuna's heartbeat: each running trial beats every :data:`HEARTBEAT_INTERVAL` seconds, and
one silent for :data:`GRACE_PERIOD` seconds is stale. A journal storage has no heartbeat:
the run dir's own ``study.journal`` belongs to one ``bayestune tune`` at a time, so its
RUNNING trials at the start are the killed ones; in a journal file given as ``--storage``
they are left alone (they do not count, and may belong to a live process).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from bayestune.errors import BayestuneError
from bayestune.rundir import JOURNAL_FILE, SQLITE_FILE
from bayestune.tuning.config import TuningConfig
from bayestune.tuning.optuna_sampler import make_sampler
from bayestune.tuning.pruner import make_pruner

STUDY_NAME = "bayestune"
HEARTBEAT_INTERVAL = 2
"""Seconds between the heartbeats of a running trial (RDB storages)."""
GRACE_PERIOD = 10
"""Seconds without a heartbeat after which a running trial is stale (its process is gone)."""
INTERRUPTED = "interrupted"
"""Trial user attribute (journal storages), and prefix of the study user attribute
``interrupted:<number>`` (heartbeat storages: a finished trial takes no more attributes)."""


def storage_url(run: Path, config: TuningConfig) -> str:
    """``--storage`` if given; else the run dir's own storage file.

    A new run dir gets ``study.db`` with one worker and ``study.journal`` with more. A resumed
    one keeps the file it already holds, whatever ``--workers`` is now (``workers`` may change
    on resume): choosing by the count would open another, empty study beside the old one.
    """
    if config.storage:
        return config.storage
    if (run / JOURNAL_FILE).exists():
        return f"journal:{run / JOURNAL_FILE}"
    if (run / SQLITE_FILE).exists():
        return f"sqlite:///{run / SQLITE_FILE}"
    if config.workers > 1:
        return f"journal:{run / JOURNAL_FILE}"
    return f"sqlite:///{run / SQLITE_FILE}"


def _mark_interrupted(study: optuna.Study, trial: FrozenTrial) -> None:
    study.set_user_attr(f"{INTERRUPTED}:{trial.number}", True)


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage from a URL; ``journal:PATH`` is a journal file shared by processes.

    An RDB storage gets Optuna's heartbeat (see the module's docstring).
    """
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url.removeprefix("journal:")))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT_INTERVAL, grace_period=GRACE_PERIOD,
                heartbeat_stale_trial_callback=_mark_interrupted,
            )
    except Exception as exc:  # noqa: BLE001 - any storage failure is a bad --storage
        raise BayestuneError(f"cannot open the storage: {exc}", "--storage") from None


def open_study(url: str, seed: int, config: TuningConfig) -> optuna.Study:
    """The run's study with the configured sampler (seeded ``seed``) and pruner."""
    s, p = config.optuna_sampler, config.pruner
    return optuna.create_study(
        study_name=STUDY_NAME,
        storage=open_storage(url),
        direction="minimize",
        sampler=make_sampler(s.name, s.kwargs, config.space, seed),
        pruner=make_pruner(p.name, p.kwargs, p.n_startup_trials, p.n_warmup_steps),
        load_if_exists=True,
    )


def _running(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def end_stale_trials(url: str, config: TuningConfig, *, wait: float = GRACE_PERIOD + HEARTBEAT_INTERVAL) -> int:
    """End the trials a killed process left RUNNING as FAIL, marked interrupted; how many.

    With a heartbeat, a trial killed a moment ago is not stale yet: while RUNNING trials are
    left, this waits (at most ``wait`` seconds) for their grace period to pass. A trial that
    keeps beating belongs to a live process and is left alone.
    """
    study = open_study(url, config.seed, config)
    running = _running(study)
    if not running:
        return 0
    if not url.startswith("journal:"):
        deadline = time.monotonic() + wait
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            while True:
                optuna.storages.fail_stale_trials(study)
                left = _running(study)
                if not left or time.monotonic() >= deadline:
                    return len(running) - len(left)
                time.sleep(min(1.0, HEARTBEAT_INTERVAL))
    if config.storage:  # someone else's journal: a RUNNING trial may be live
        return 0
    storage = open_storage(url)
    study_id = storage.get_study_id_from_name(STUDY_NAME)
    for t in running:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        storage.set_trial_user_attr(trial_id, INTERRUPTED, True)
        storage.set_trial_state_values(trial_id, TrialState.FAIL)
    return len(running)


def interrupted_numbers(study: optuna.Study) -> set[int]:
    """The numbers of the trials that a killed process left and that were ended as FAIL."""
    prefix = f"{INTERRUPTED}:"
    marked = {int(k.removeprefix(prefix)) for k, v in study.user_attrs.items() if k.startswith(prefix) and v}
    return marked | {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
                     if t.user_attrs.get(INTERRUPTED)}


def counted(study: optuna.Study) -> int:
    """Trials that count towards the total: all finished ones except interrupted ones."""
    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    skip = interrupted_numbers(study)
    return sum(1 for t in study.get_trials(deepcopy=False, states=done) if t.number not in skip)
