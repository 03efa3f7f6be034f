"""Resident memory after each of N real trials, run in a fresh process.

``python benchmarks/memory_probe.py N [--keep-caches | --clear-always]`` prints one JSON
object: the RSS (MiB) and the seconds of each trial. ``--keep-caches`` turns
:func:`bayestune.tuning.model.release` into a plain garbage collection, to show what it
saves; ``--clear-always`` clears JAX's caches after every fit, to show what the limit saves
in speed.
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
from bayestune.tuning.folds import Fold
from bayestune.tuning.gate import GateThresholds


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main(n: int, keep_caches: bool, clear_always: bool = False) -> dict[str, list[float]]:
    if keep_caches:
        trial_module.release = lambda: bool(gc.collect()) and False
    elif clear_always:
        trial_module.release = lambda: model.release(limit_mib=0)
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
                               seed=1, trial_number=i, record=record)
        out["seconds"].append(round(time.perf_counter() - start, 2))
        out["rss_mib"].append(round(rss_mib(), 1))
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), "--keep-caches" in sys.argv, "--clear-always" in sys.argv)))
