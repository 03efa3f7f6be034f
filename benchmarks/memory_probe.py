"""Resident memory after each of N real trials, run in a fresh process.

``python benchmarks/memory_probe.py N [--keep-caches | --clear-always | --nutpie]`` prints one
JSON object: the RSS (MiB) and the seconds of each trial. ``--keep-caches`` fits through a
PyMC-Marketing fitter whose ``release`` is a plain garbage collection instead of
:func:`bayestune.tuning.model.release`, to show what it saves; ``--clear-always`` clears
JAX's caches after every fit, to show what the limit saves in speed.

``--nutpie`` fits through the ``pymc-marketing-nutpie`` fitter, whose process-wide cache keeps
the compiled programs of :data:`~bayestune.tuning.compiled.PROGRAMS_KEPT` structures: the
trials visit more structures than that (:func:`nutpie_structures`), so the cache evicts all
along the run, and the JSON adds how many programs were compiled.
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


HOT = [model.Candidate(2, 4), model.Candidate(2, 5), model.Candidate(1, 4), model.Candidate(1, 5)]
"""Structures the nutpie probe comes back to in nine trials of every ten (cache hits)."""
COLD = [model.Candidate(y, l_max, adstock="delayed") for y in (1, 2) for l_max in (3, 4, 5)]
"""Six structures the nutpie probe visits in turn every tenth trial. The four hot ones and the
last four cold ones fill the cache of eight, so from the fifth cold visit on each one
compiles and evicts the least recently used program: ten structures, fourteen compilations
over 100 trials, an eviction every ten trials of the second half."""


def nutpie_structures(n: int) -> list[model.Candidate]:
    """The structure of each of ``n`` trials: ``HOT`` in turn, a ``COLD`` one every tenth trial."""
    return [COLD[(i // 10) % len(COLD)] if i % 10 == 9 else HOT[i % 10 % len(HOT)] for i in range(n)]


def main(n: int, keep_caches: bool, clear_always: bool = False, nutpie: bool = False) -> dict[str, list[float]]:
    if nutpie:
        from bayestune.tuning.fitters.pymc_marketing_nutpie import PyMCMarketingNutpieFitter

        fitter = PyMCMarketingNutpieFitter()
        structures = nutpie_structures(n)
        settings = model.FitSettings("nutpie", 50, 50, 2)
    else:
        fitter = KeepCaches() if keep_caches else ClearAlways() if clear_always else PyMCMarketingFitter()
        structures = [model.Candidate(2, 4 + i % 2) for i in range(n)]  # two structures, alternating
        settings = model.FitSettings("numpyro", 100, 100, 2)
    with tempfile.TemporaryDirectory() as tmp:
        dataset = read_dataset(write_dataset(simulate("quickstart", seed=1), Path(tmp) / "q"))
    lenient = GateThresholds(1.0, 100.0, 0)
    out: dict[str, list] = {"rss_mib": [], "seconds": []}
    for i, candidate in enumerate(structures):
        start = time.perf_counter()
        record = trial_module.TrialRecord(candidate)
        trial_module.run_trial(candidate, dataset, [Fold(0, 60, 66)], settings, lenient,
                               seed=1, trial_number=i, record=record, fitter=fitter)
        out["seconds"].append(round(time.perf_counter() - start, 2))
        out["rss_mib"].append(round(rss_mib(), 1))
    if nutpie:
        out["structures"] = [f"{c.yearly_seasonality}/{c.l_max}/{c.adstock}/{c.saturation}" for c in structures]
        out["compilations"] = fitter.compilations
        out["programs_kept"] = fitter.programs.kept
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), "--keep-caches" in sys.argv, "--clear-always" in sys.argv,
                          "--nutpie" in sys.argv)))
