"""pytest-benchmark timings of the cheap, frequent steps, each beside its reference.

The CRPS is timed against ``pymc_marketing.metrics.crps`` and ``properscoring`` on the same
arrays (draws × weeks as a trial scores them); ``benchmark_record`` keeps the ratios measured
in this run, so a comparison never mixes machines.
"""

from __future__ import annotations

import time

import numpy as np
import properscoring as ps
import pytest
from pymc_marketing.metrics import crps as pmm_crps

from bayestune.evaluation.metrics import crps_ensemble
from bayestune.simulator import simulate

DRAWS, WEEKS = 1000, 24


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    return rng.normal(100, 10, WEEKS), rng.normal(100, 12, (DRAWS, WEEKS))


def _best_of(fn, repeat=7):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.parametrize("estimator", ["fair", "nrg"])
def test_crps_bayestune(benchmark, arrays, estimator):
    obs, draws = arrays
    benchmark(crps_ensemble, obs, draws, estimator=estimator)


def test_crps_pymc_marketing(benchmark, arrays):
    obs, draws = arrays
    benchmark(pmm_crps, obs, draws)


def test_crps_properscoring(benchmark, arrays):
    obs, draws = arrays
    benchmark(ps.crps_ensemble, obs, draws.T)


def test_crps_ratios(arrays, benchmark_record):
    """Side by side in one run: ours against both references (ratio < 1: ours is faster)."""
    obs, draws = arrays
    ours = _best_of(lambda: crps_ensemble(obs, draws, estimator="nrg"))
    pm = _best_of(lambda: pmm_crps(obs, draws))
    ps_ = _best_of(lambda: ps.crps_ensemble(obs, draws.T))
    np.testing.assert_allclose(crps_ensemble(obs, draws, estimator="nrg").mean(), pmm_crps(obs, draws), rtol=1e-9)
    benchmark_record("crps_ratio", {"draws": DRAWS, "weeks": WEEKS, "vs_pymc_marketing": ours / pm,
                                    "vs_properscoring": ours / ps_, "seconds_bayestune": ours})


@pytest.mark.parametrize("preset", ["quickstart", "seed-blog"])
def test_simulate(benchmark, preset):
    benchmark(simulate, preset, 0)
