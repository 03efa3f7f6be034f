"""Trials left RUNNING: a killed process's trials end as interrupted, a live process's do not."""

from __future__ import annotations

import threading

import pytest
from optuna.trial import TrialState

from bayestune.tuning import load_config, storage
from bayestune.tuning.records import trials_frame
from bayestune.tuning.storage import counted, end_stale_trials, open_study, storage_url

CONFIG = {"trials": 3, "seed": 0, "quiet": True}
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")


@pytest.fixture()
def fast_heartbeat(monkeypatch):
    monkeypatch.setattr(storage, "HEARTBEAT_INTERVAL", 1)
    monkeypatch.setattr(storage, "GRACE_PERIOD", 1)


def _study_with_one_done_and(url, config, n_running):
    study = open_study(url, config.seed, config)
    study.tell(study.ask({}), 1.0)
    return study, [study.ask() for _ in range(n_running)]


def test_a_killed_trial_ends_as_interrupted_once_its_heartbeat_is_stale(tmp_path, fast_heartbeat):
    config = load_config(None, CONFIG)
    url = storage_url(tmp_path, config)
    assert url.startswith("sqlite:")
    study, (killed, live) = _study_with_one_done_and(url, config, 2)
    hb = open_study(url, config.seed, config)._storage  # noqa: SLF001 - the test plays both processes
    hb.record_heartbeat(killed._trial_id)  # noqa: SLF001 - it beat, then its process died
    stop = threading.Event()

    def beat():  # another live process sharing the storage
        while not stop.is_set():
            hb.record_heartbeat(live._trial_id)  # noqa: SLF001
            stop.wait(0.2)

    beating = threading.Thread(target=beat)
    beating.start()
    try:
        assert end_stale_trials(url, config, wait=3) == 1
    finally:
        stop.set()
        beating.join()
    states = {t.number: t.state for t in study.get_trials()}
    assert states == {0: TrialState.COMPLETE, 1: TrialState.FAIL, 2: TrialState.RUNNING}
    frame = trials_frame(study)
    assert list(frame["interrupted"]) == [False, True, False]
    assert counted(study) == 1  # the interrupted trial does not count towards the total


def test_the_run_dirs_own_journal_ends_its_running_trials(tmp_path):
    config = load_config(None, CONFIG | {"workers": 2})
    url = storage_url(tmp_path, config)
    assert url.startswith("journal:")
    study, _ = _study_with_one_done_and(url, config, 1)
    assert end_stale_trials(url, config) == 1
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE, TrialState.FAIL]
    assert list(trials_frame(study)["interrupted"]) == [False, True]


def test_a_journal_given_as_storage_keeps_its_running_trials(tmp_path):
    config = load_config(None, CONFIG | {"workers": 2, "storage": f"journal:{tmp_path / 'shared.journal'}"})
    url = storage_url(tmp_path, config)
    study, _ = _study_with_one_done_and(url, config, 1)
    assert end_stale_trials(url, config) == 0
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE, TrialState.RUNNING]
