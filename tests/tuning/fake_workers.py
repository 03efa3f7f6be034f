"""Worker entry points for spawned test workers: fast fake fits instead of MCMC.

A spawned process imports its target by name, so the fakes are set up here, in the worker's
own process. Heavy imports happen inside the functions: a worker that dies at once stays cheap.
"""

from __future__ import annotations

import os
import signal
import time

FIT_SECONDS = 0.05


def work(spec) -> None:
    """A worker whose fits take :data:`FIT_SECONDS` and always pass the gate; it must never
    write ``trials.csv`` or ``best.json`` itself (the parent derives them)."""
    import numpy as np

    from bayestune.tuning import optimize, trial, workers
    from bayestune.tuning.gate import Diagnostics

    class FakeMMM:
        idata = None

        def __init__(self, candidate):
            self.candidate = candidate

    def fit(candidate, columns, data, settings, seed):
        time.sleep(FIT_SECONDS)
        return FakeMMM(candidate), trial.Timings(build=0.01, compile=0.01, sample=FIT_SECONDS)

    def predict(mmm, columns, data, *, seed, out_of_sample):
        rng = np.random.default_rng(seed)
        centre = data[columns.target].to_numpy() + 100 * mmm.candidate.yearly_seasonality
        return centre + rng.normal(0, 300, size=(50, len(data))), 0.01

    def no_records(*args, **kwargs):
        raise AssertionError("a worker wrote trials.csv or best.json")

    trial.fit, trial.predict = fit, predict
    trial.free_parameter_names = lambda mmm: []
    trial.diagnose = lambda idata, names: Diagnostics(0.0, 1.0, 1000.0, 1000.0, 50, 2, "a", "b")
    optimize.write_records = no_records
    workers.work(spec)


def fail_on_rank_1_die_on_rank_2(spec) -> None:
    """Worker 1 raises, worker 2 is killed; worker 0 runs the trials."""
    if spec.rank == 1:
        raise RuntimeError("the disk is full")
    if spec.rank == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    work(spec)
