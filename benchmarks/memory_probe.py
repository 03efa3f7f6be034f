"""Resident memory after each of N real trials, run in a fresh process.

``python benchmarks/memory_probe.py N [--keep-caches | --clear-always]`` prints one JSON
object: the RSS (MiB) and the seconds of each trial. ``--keep-caches`` fits through a
PyMC-Marketing fitter whose ``release`` is a plain garbage collection instead of
:func:`bayestune.tuning.model.release`, to show what it saves; ``--clear-always`` clears
JAX's caches after every fit, to show what the limit saves in speed.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from bayestune.simulator import read_dataset, simulate, write_dataset
from bayestune.tuning import model
from bayestune.tuning import trial as trial_module
from bayestune.tuning.fitters.pymc_marketing import PyMCMarketingFitter
from bayestune.tuning.folds import Fold
from bayestune.tuning.gate import GateThresholds


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class KeepCaches(PyMCMarketingFitter):
    def release(self) -> None:
        gc.collect()


class ClearAlways(PyMCMarketingFitter):
    def release(self) -> None:
        model.release(limit_mib=0)


def main(n: int, keep_caches: bool, clear_always: bool = False) -> dict[str, list[float]]:
    fitter = KeepCaches() if keep_caches else ClearAlways() if clear_always else PyMCMarketingFitter()
    with tempfile.TemporaryDirectory() as tmp:
        dataset = read_dataset(write_dataset(simulate("quickstart", seed=1), Path(tmp) / "q"))
    settings = model.FitSettings("numpyro", 100, 100, 2)
    lenient = GateThresholds(1.0, 100.0, 0)
    out: dict[str, list[float]] = {"rss_mib": [], "seconds": []}
    for i in range(n):
        start = time.perf_counter()
        candidate = model.Candidate(2, 4 + i % 2)  # two structures, alternating
        record = trial_module.TrialRecord(candidate)
        trial_module.run_trial(candidate, dataset, [Fold(0, 60, 66)], settings, lenient,
                               seed=1, trial_number=i, record=record, fitter=fitter)
        out["seconds"].append(round(time.perf_counter() - start, 2))
        out["rss_mib"].append(round(rss_mib(), 1))
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), "--keep-caches" in sys.argv, "--clear-always" in sys.argv)))
