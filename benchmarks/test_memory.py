"""Memory does not grow with the number of trials.

Two fresh processes, side by side in one run: the product as it is, and the same trials with
JAX's compilation caches kept (``--keep-caches``). The figure is the growth of resident
memory per trial after the first two trials (warm-up), in MiB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

PROBE = Path(__file__).with_name("memory_probe.py")
TRIALS = 8


def _start(*flags: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(PROBE), str(TRIALS), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _growth(proc: subprocess.Popen) -> tuple[float, list[float]]:
    out, _ = proc.communicate()
    assert proc.returncode == 0, "the memory probe failed"
    rss = json.loads(out.strip().splitlines()[-1])
    slope = float(np.polyfit(np.arange(2, TRIALS), rss[2:], 1)[0])
    return slope, rss


def test_memory_per_trial(benchmark_record):
    both = _start(), _start("--keep-caches")
    (released, rss_released), (kept, rss_kept) = map(_growth, both)
    benchmark_record("memory_per_trial", {
        "trials": TRIALS,
        "mib_per_trial": released,
        "mib_per_trial_without_release": kept,
        "rss_mib": rss_released,
        "rss_mib_without_release": rss_kept,
    })
    # what is left (about 6 MiB a trial, 2 cores, numpyro) is allocator noise and PyTensor's
    # small caches; the compiled JAX functions, 40 MiB a trial, are gone
    assert released < 0.25 * kept, f"memory grows {released:.1f} MiB per trial: {rss_released}"
