"""What one MMM fit costs per sampler backend on ``seed-blog``: build, fit (first and later), predict.

Data and settings are ``backend_matrix.SETTINGS``: the true structure of ``seed-blog``
(seed 0; 4 channels, 2 controls), fitted on its first 80 weeks with 500 tuning steps and
500 draws on 2 chains, on the CPU. Timings, all in seconds (pytest-benchmark's JSON,
``--benchmark-json``; the fits also in ``records.json`` under ``fit_<backend>``):

``test_build``
    ``build_mmm`` plus ``MMM.build_model``, exactly as :func:`bayestune.tuning.model.fit`
    builds before it samples (the PyMC graph, no compilation, no sampling).
``test_fit[<backend>-first]`` and ``test_fit[<backend>-later]``
    One fit (:func:`bayestune.tuning.model.fit`: build, compile, sample) per backend
    (pymc, numpyro, nutpie, blackjax), each backend in a fresh process started for it
    (``backend_matrix.serve``) and driven over a pipe: ``first`` is the first fit in that
    process, so it pays every compilation; ``later`` is the next fit of the same structure
    in the same process (seed 1), i.e. what each further trial of a study costs. The
    clock runs from the request to the answer: the process's start and imports, and the
    freeing of the previous fit, happen before it starts. ``extra_info`` (and
    ``records.json``) split each fit into build / compile / sample as the fit itself
    measured them. A backend that cannot be imported is skipped with the reason; one
    whose fit fails is a failure, or an expected failure (xfail) for an exact known
    incompatibility (``KNOWN_FAILURES``: PyMC 6.3's blackjax path with blackjax 1.7).
    Neither is ever given a number.
``test_predict``
    :func:`bayestune.tuning.model.predict` of the 24 weeks after the fit window (weeks
    80-103, adstock carried over) from one numpyro fit made in this process: the
    posterior predictive of all 1000 draws. ``extra_info["first_call_seconds"]`` is the
    first, cold call; the timed rounds are later calls.

Each fit is timed once (rounds=1): its spread across runs on a noisy 2-core machine is
easily 10-20 %, so compare backends within one run and read a single figure as indicative.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import backend_matrix as bm  # pytest puts benchmarks/ (no __init__.py) on sys.path
from bayestune.tuning.model import build_mmm, fit, predict

BACKENDS = ["pymc", "numpyro", "nutpie", "blackjax"]
FIT_TIMEOUT = 300.0
"""Seconds one fit (or a process's start) may take before the test fails."""
PREDICT_WEEKS = 24
_FIT_RECORDS: dict[str, dict] = {}
_FAILED: dict[str, str] = {}
KNOWN_FAILURES = {
    "blackjax": ("unexpected keyword argument 'progress_bar'",
                 "pymc.sampling.jax passes progress_bar= on to blackjax.window_adaptation (it pops it "
                 "only afterwards), which forwards it to a NUTS kernel that does not take it "
                 "(https://github.com/pymc-devs/pymc/issues/8367)"),
}
"""An exact, known incompatibility per backend: expected to fail (xfail), never given a number."""


class FitFailed(RuntimeError):
    """The fit process failed or went silent (a plain exception, so pytest-benchmark drops the entry)."""


class FitServer:
    """A fresh process that fits ``backend_matrix``'s model on request (``backend_matrix.serve``)."""

    def __init__(self, sampler: str) -> None:
        self.sampler = sampler
        self.fits = 0
        self._stderr = tempfile.TemporaryFile(mode="w+")
        code = (f"import sys; sys.path.insert(0, {str(Path(bm.__file__).parent)!r}); "
                f"import backend_matrix as b; b.serve({sampler!r})")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, bufsize=1, env=os.environ | {"JAX_PLATFORMS": "cpu"},
        )
        self.ready = False
        try:
            self.info = self.wait_ready()
        except FitFailed:
            self.close()
            raise

    def wait_ready(self) -> dict:
        """Wait until the process is idle: imported, or done freeing its last fit."""
        if not self.ready:
            self.info = self._answer("READY")
            self.ready = True
        return self.info

    def _answer(self, prefix: str) -> dict:
        deadline = time.monotonic() + FIT_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                self.close()
                raise FitFailed(f"{self.sampler}: no answer within {FIT_TIMEOUT:.0f} s")
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                self._stderr.seek(0)
                raise FitFailed(f"{self.sampler}: the fit process ended (rc {self.proc.returncode}): "
                                + bm.last_error(self._stderr.read())[:400])
            if line.startswith(prefix + " "):
                return json.loads(line.removeprefix(prefix + " "))

    def fit(self, seed: int) -> dict:
        """One fit, from the request to the answer (call ``wait_ready`` first)."""
        self.ready = False
        self.proc.stdin.write(f"fit {seed}\n")
        self.proc.stdin.flush()
        result = self._answer("FIT")
        self.fits += 1
        return result

    def close(self) -> None:
        if self._stderr.closed:
            return
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


@pytest.fixture(scope="module")
def servers():
    running: dict[str, FitServer] = {}
    yield running
    for server in running.values():
        server.close()


@pytest.fixture(scope="module")
def cell():
    return bm.prepare("numpyro")


def _importable(sampler: str) -> None:
    try:
        importlib.import_module(bm.BACKEND_MODULE[sampler])
    except ImportError as exc:
        pytest.skip(f"{sampler} is not importable: {exc}")


def test_build(benchmark, cell):
    data, roles = cell["data"], cell["roles"]

    def build():
        mmm = build_mmm(cell["candidate"], roles)
        mmm.build_model(data.drop(columns=roles.target), data[roles.target])
        return mmm

    build()  # warm-up: the first build in a process imports and caches more
    benchmark.extra_info |= {"preset": bm.SETTINGS["preset"], "fit_weeks": bm.SETTINGS["fit_weeks"]}
    benchmark(build)


def _fit(benchmark, servers, sampler, phase):
    """Time one fit of ``phase`` in the backend's process (started if needed); (timings, seconds)."""
    server = servers.get(sampler)
    if server is None or (phase == "first" and server.fits):
        if server is not None:
            server.close()
        server = servers[sampler] = FitServer(sampler)
    if phase == "later" and not server.fits:
        server.wait_ready()
        server.fit(seed=0)  # run alone: the first fit, untimed
    server.wait_ready()  # untimed: start-up, or freeing the previous fit
    seconds: list[float] = []

    def timed_fit():
        start = time.perf_counter()
        out = server.fit(seed=0 if phase == "first" else 1)
        seconds.append(time.perf_counter() - start)
        return out

    return benchmark.pedantic(timed_fit, rounds=1, iterations=1), seconds[0]


@pytest.mark.parametrize(("sampler", "phase"), [(s, p) for s in BACKENDS for p in ("first", "later")])
def test_fit(benchmark, benchmark_record, servers, sampler, phase):
    _importable(sampler)
    marker, why = KNOWN_FAILURES.get(sampler, (None, ""))
    if sampler in _FAILED:  # one failure per backend is enough: no second process
        failure = _FAILED[sampler]
        if marker and marker in failure:
            pytest.xfail(f"{why}: {failure}")
        pytest.skip(f"an earlier fit failed: {failure}")
    try:
        result, seconds = _fit(benchmark, servers, sampler, phase)
    except FitFailed as exc:
        _FAILED[sampler] = str(exc)
        if (server := servers.pop(sampler, None)) is not None:
            server.close()
        if marker and marker in str(exc):
            pytest.xfail(f"{why}: {exc}")
        raise
    server = servers[sampler]
    devices = server.info["jax_devices"]
    benchmark.extra_info |= {"sampler": sampler, "phase": phase, "fit_seconds": seconds,
                             "fit_timings": result, "jax_devices": devices, **bm.SETTINGS}
    record = _FIT_RECORDS.setdefault(sampler, {"settings": bm.SETTINGS, "jax_devices": devices})
    record |= {f"{phase}_fit_seconds": seconds, f"{phase}_fit": result}
    benchmark_record(f"fit_{sampler}", record)
    if phase == "later":
        servers.pop(sampler).close()


@pytest.fixture(scope="module")
def fitted(cell):
    """One numpyro fit in this process, of the same model and data as the fits above."""
    mmm, _ = fit(cell["candidate"], cell["roles"], cell["data"], cell["settings"], seed=0)
    return mmm


def test_predict(benchmark, cell, fitted):
    sim, roles, start = cell["sim"], cell["roles"], bm.SETTINGS["fit_weeks"]
    held_out = sim.data.iloc[start : start + PREDICT_WEEKS]
    assert len(held_out) == PREDICT_WEEKS

    def run():
        return predict(fitted, roles, held_out, seed=0, out_of_sample=True)

    t0 = time.perf_counter()
    draws, _ = run()
    first = time.perf_counter() - t0
    assert draws.shape == (bm.SETTINGS["draws"] * bm.SETTINGS["chains"], PREDICT_WEEKS)
    benchmark.extra_info |= {"weeks": PREDICT_WEEKS, "draws": draws.shape[0], "first_call_seconds": first}
    benchmark.pedantic(run, rounds=3, iterations=1)
