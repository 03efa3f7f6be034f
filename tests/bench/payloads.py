"""Synthetic suite results: cells whose figures are known, to test compare, gate and summary."""

from __future__ import annotations

import copy

from bayestune.bench.cell import COUNTS, QUALITY, RUNTIME
from bayestune.bench.results import group_results

MACHINE = {"platform": "Linux-x", "processor": "x86_64", "cores": 2, "python": "3.12.0"}


def cell(seed: int, method: str = "default", scenario: str = "quickstart", **metrics) -> dict:
    base = dict.fromkeys([*QUALITY, *RUNTIME, *COUNTS])
    base |= {"exact_yearly_seasonality": 1.0, "exact_l_max": 1.0, "kernel_l1_max": 0.10 + 0.01 * seed,
             "kernel_l1_mean": 0.08, "regret": 2.0 * seed - 2.0, "regret_z": 0.3 * seed - 0.3,
             "regret_equivalent": 1.0, "final_regret": 3.0 * seed - 3.0, "final_regret_z": 0.4 * seed - 0.4,
             "gap_ratio": 1.1 + 0.05 * seed, "roas_coverage": 1.0,
             "roas_relative_error": 0.10 + 0.02 * seed, "seconds_per_trial": 10.0 + seed,
             "seconds_cell": 200.0 + 10 * seed, "trials_complete": 8.0}
    base |= metrics
    return {"key": f"{scenario}/seed{seed}/{method}", "status": "ok", "seconds": base["seconds_cell"],
            "cell": {"scenario": scenario, "seed": seed, "methodology": method, "tuning": {}},
            "chosen": {"yearly_seasonality": 2, "l_max": 6, "adstock": "geometric", "saturation": "logistic"},
            "metrics": base}


def payload(cells: list[dict], fingerprint: str = "abc") -> dict:
    return {"schema": "bayestune.bench/1", "bayestune": "0", "machine": dict(MACHINE), "executor": "in-process",
            "updated": "now", "suite": {"name": "t", "fingerprint": fingerprint, "methodology": {},
                                        "compare": {"noise_z": 2.0, "runtime_tolerance": 1.5}},
            "cells": cells, "groups": group_results(cells)}


def baseline() -> dict:
    return payload([cell(s) for s in (0, 1, 2)] + [cell(s, "seed-recipe", kernel_l1_max=0.4) for s in (0, 1, 2)])


def degraded(base: dict, method: str = "default", **shift) -> dict:
    """A copy of ``base`` with each named figure of ``method``'s cells shifted (or scaled for seconds).

    A shift given as a sequence is per cell, indexed by the cell's seed (by its place among
    ``method``'s cells when they share a seed, as one seed of several scenarios do): a shift the
    same in every cell has no spread, which the paired test judges only by the exact sign flip."""
    new = copy.deepcopy(base)
    mine = [c for c in new["cells"] if c["cell"]["methodology"] == method]
    by_seed = len({c["cell"]["seed"] for c in mine}) == len(mine)
    for place, c in enumerate(mine):
        if c.get("status", "ok") != "ok":  # a failed cell has no figures to shift
            continue
        for name, delta in shift.items():
            if isinstance(delta, list | tuple):
                delta = delta[c["cell"]["seed"] if by_seed else place]
            c["metrics"][name] = c["metrics"][name] * delta if name.startswith("seconds") else c["metrics"][name] + delta
    new["groups"] = group_results(new["cells"])
    return new
