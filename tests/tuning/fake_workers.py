"""Worker entry points for spawned test workers (fits are faked through the fitter seam:
``tests.tuning.fakes:Sleepy``).

A spawned process imports its target by name, so the guards are set up here, in the worker's
own process. Heavy imports happen inside the functions: a worker that dies at once stays cheap.
"""

from __future__ import annotations

import os
import signal


def work(spec) -> None:
    """A worker that must never write ``trials.csv`` or ``best.json`` itself (the parent derives
    them); its fits are faked through the fitter seam (the config names :class:`Sleepy`)."""
    from bayestune.tuning import optimize, workers

    def no_records(*args, **kwargs):
        raise AssertionError("a worker wrote trials.csv or best.json")

    optimize.write_records = no_records
    workers.work(spec)


def fail_on_rank_1_die_on_rank_2(spec) -> None:
    """Worker 1 raises, worker 2 is killed; worker 0 runs the trials."""
    if spec.rank == 1:
        raise RuntimeError("the disk is full")
    if spec.rank == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    work(spec)


def sleep(spec) -> None:
    """A worker that outlives any test unless it is stopped (a fit that takes a minute)."""
    import time

    time.sleep(60)
