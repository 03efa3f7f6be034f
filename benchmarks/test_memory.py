"""Memory stays bounded over many trials, at little cost in speed.

Two fresh processes, side by side in one run, fit the same 12 trials: the product as it is
(JAX's compiled functions are cleared whenever the process has grown by
``JAX_CACHE_LIMIT_MIB`` since the last clear) and the same trials keeping every compiled
function (``--keep-caches``). Figures: the growth of resident memory after the first two
trials (warm-up), in MiB, and the ratio of the mean seconds per trial.

A third process fits 100 trials through the ``pymc-marketing-nutpie`` fitter, over ten
structures (more than its cache of compiled programs keeps, so it evicts all through the
second half): resident memory over the last 50 trials may not rise more than
``NUTPIE_BOUND_MIB`` above where it stood after trial 50.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from bayestune.tuning.model import JAX_CACHE_LIMIT_MIB

PROBE = Path(__file__).with_name("memory_probe.py")
TRIALS = 12
WARM_UP = 2


NUTPIE_TRIALS = 100
NUTPIE_BOUND_MIB = 200.0
"""How far resident memory may rise over the nutpie probe's last 50 trials (MiB). They hold five
compilations with evictions (one of a structure never compiled before, four of evicted ones
compiled again); measured: 145 MiB (`benchmarks/results/2026-11-23-memory-nutpie-2cores/`).
If every recompilation kept what a first compilation keeps (about 100 MiB), they would add
about 500."""


def _start(*flags: str, trials: int = TRIALS) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(PROBE), str(trials), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _result(proc: subprocess.Popen) -> dict[str, list[float]]:
    out, _ = proc.communicate()
    assert proc.returncode == 0, "the memory probe failed"
    return json.loads(out.strip().splitlines()[-1])


def test_memory_per_trial(benchmark_record):
    product, kept = map(_result, (_start(), _start("--keep-caches")))
    base_p, base_k = product["rss_mib"][WARM_UP - 1], kept["rss_mib"][WARM_UP - 1]
    growth_p = max(product["rss_mib"][WARM_UP:]) - base_p
    growth_k = max(kept["rss_mib"][WARM_UP:]) - base_k
    slope_k = float(np.polyfit(np.arange(WARM_UP, TRIALS), kept["rss_mib"][WARM_UP:], 1)[0])
    speed = float(np.mean(product["seconds"][WARM_UP:]) / np.mean(kept["seconds"][WARM_UP:]))
    benchmark_record("memory_per_trial", {
        "trials": TRIALS,
        "limit_mib": JAX_CACHE_LIMIT_MIB,
        "growth_mib": growth_p,
        "growth_mib_keeping_caches": growth_k,
        "mib_per_trial_keeping_caches": slope_k,
        "seconds_per_trial_ratio_vs_keeping_caches": speed,
        "product": product,
        "keeping_caches": kept,
    })
    # bounded: never more than the limit plus one trial's worth above the warm process
    assert growth_p <= JAX_CACHE_LIMIT_MIB + 2 * slope_k, f"memory grew {growth_p:.0f} MiB: {product}"
    assert growth_k > growth_p


def test_memory_flat_while_nutpie_programs_are_evicted(benchmark_record):
    out = _result(_start("--nutpie", trials=NUTPIE_TRIALS))
    half = NUTPIE_TRIALS // 2
    rss = out["rss_mib"]
    growth = max(rss[half:]) - rss[half - 1]
    slope = float(np.polyfit(np.arange(half, NUTPIE_TRIALS), rss[half:], 1)[0])
    benchmark_record("memory_nutpie_programs", {
        "trials": NUTPIE_TRIALS, "bound_mib": NUTPIE_BOUND_MIB, "growth_last_half_mib": growth,
        "mib_per_trial_last_half": slope, "compilations": out["compilations"],
        "programs_kept": out["programs_kept"], "structures": len(set(out["structures"])), "probe": out,
    })
    assert out["compilations"] > out["programs_kept"], "the probe never made the cache evict"
    assert growth <= NUTPIE_BOUND_MIB, f"memory grew {growth:.0f} MiB over the last {half} trials: {rss}"
