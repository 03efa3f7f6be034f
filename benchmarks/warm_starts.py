"""Warm starts against cold starts: folds of one structure, each fit through one compiled program.

``python benchmarks/warm_starts.py --out DIR`` takes the true structure of ``quickstart`` and
``seed-blog`` (seed 0), compiles it once (the ``pymc-marketing-nutpie`` fitter's program) and
fits its rolling-origin folds (4 folds x 8 weeks before 16 final test weeks) with nutpie at
300/300 x 2 chains, with the diagonal and with the low-rank mass matrix, two ways:

- ``cold``: every fold starts where the fitter starts it (PyMC's initial point, jittered);
- ``warm``: fold k > 0 starts both chains at fold k - 1's posterior mean in the sampler's
  unconstrained space (jittered by up to 0.1 per coordinate, seeded), fold 0 as cold.

``nutpie.sample``'s ``init_mean`` does not do this for a PyMC model: nutpie 0.16 starts a
compiled PyMC model's chains from the model's ``initial_point_func`` and ignores
``init_mean``, so the warm start replaces that function on the fold's sampler. Step size and
mass matrix adapt anew in both (nutpie takes no adapted state). Per fold: the sampling
seconds, the smallest bulk ESS over the free parameters, that ESS per second, the largest
R-hat and whether the search gate (``GateThresholds.SEARCH``: bulk ESS >= 50, R-hat <= 1.1,
divergences <= 10%) passes. Writes ``warm_starts.json`` and ``warm_starts.md``. Timings on
a shared machine are noisy: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

PRESETS = ("quickstart", "seed-blog")
SEED = 0
FOLDS, HORIZON, TEST_WEEKS = 4, 8, 16
DRAWS = TUNE = 300
CHAINS = 2
MASS = {"diagonal": {"low_rank_modified_mass_matrix": False}, "low-rank": {"low_rank_modified_mass_matrix": True}}
JITTER = 0.1


def _start_at(sampler: Any, mean: np.ndarray) -> Any:
    """``sampler`` with its chains started at ``mean`` (unconstrained, jittered per chain seed)."""

    def initial_point(seed: Any = None) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return np.ascontiguousarray(mean + rng.uniform(-JITTER, JITTER, size=mean.shape), dtype=np.float64)

    return dataclasses.replace(sampler, initial_point_func=initial_point)


def _fit(sampler: Any, free: list[str], kwargs: dict[str, Any], seed: int) -> tuple[dict[str, Any], np.ndarray]:
    import nutpie

    from bayestune.tuning.gate import GateThresholds, check, diagnose
    from bayestune.tuning.model import quiet_sampling

    start = time.perf_counter()
    with quiet_sampling():
        idata = nutpie.sample(sampler, draws=DRAWS, tune=TUNE, chains=CHAINS, seed=seed, progress_bar=False,
                              store_unconstrained=True, **kwargs)
    seconds = time.perf_counter() - start
    diag = diagnose(idata, free)
    passed, _ = check(diag, GateThresholds.SEARCH)
    mean = np.asarray(idata["sample_stats"]["unconstrained_draw"].values).reshape(-1, sampler.n_dim).mean(axis=0)
    return {"seconds": seconds, "min_ess_bulk": diag.min_ess_bulk, "max_rhat": diag.max_rhat,
            "divergence_rate": diag.divergence_rate, "ess_per_second": diag.min_ess_bulk / seconds,
            "gate_passed": passed}, mean


def measure(preset: str) -> list[dict[str, Any]]:
    from bayestune.simulator import simulate
    from bayestune.simulator.dataset import ColumnRoles
    from bayestune.tuning.compiled import window_data
    from bayestune.tuning.fitters.pymc_marketing_nutpie import PyMCMarketingNutpieFitter
    from bayestune.tuning.folds import search_folds
    from bayestune.tuning.model import build_mmm, quiet_sampling, true_candidate

    sim = simulate(preset, SEED)
    columns = ColumnRoles.from_truth(sim.truth)
    candidate = true_candidate(sim.truth)
    folds = search_folds(len(sim.data), folds=FOLDS, horizon=HORIZON, test_weeks=TEST_WEEKS, min_train=30)
    first = sim.data.iloc[: folds[0].train_end]

    def build() -> Any:
        mmm = build_mmm(candidate, columns)
        with quiet_sampling():
            mmm.build_model(first.drop(columns=columns.target), first[columns.target])
        return mmm

    program, _ = PyMCMarketingNutpieFitter().programs.get((candidate, columns), build)
    rows = []
    for mass, kwargs in MASS.items():
        means: dict[str, np.ndarray] = {}
        for fold in folds:
            sampler = program.with_window(window_data(columns, sim.data.iloc[: fold.train_end]))
            seed = SEED + 1000 * fold.index
            for start in ("cold", "warm"):
                if start == "warm" and fold.index == 0:
                    rows.append(rows[-1] | {"start": "warm"})  # fold 0 has no earlier fit: the cold fit
                    means["warm"] = means["cold"]
                    continue
                warm = start == "warm" and fold.index > 0
                row, means[start] = _fit(_start_at(sampler, means["warm"]) if warm else sampler,
                                         program.free, kwargs, seed)
                rows.append({"preset": preset, "mass": mass, "start": start, "fold": fold.index,
                             "weeks": fold.train_end} | row)
                print(f"{preset:11s} {mass:9s} {start} fold {fold.index}: ESS {row['min_ess_bulk']:.0f}, "
                      f"R-hat {row['max_rhat']:.2f}, {row['seconds']:.1f} s", file=sys.stderr)
    return rows


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per preset, mass matrix and start: the folds after the first (where warm and cold differ)."""
    out = []
    for key in dict.fromkeys((r["preset"], r["mass"], r["start"]) for r in rows):
        later = [r for r in rows if (r["preset"], r["mass"], r["start"]) == key and r["fold"] > 0]
        out.append({"preset": key[0], "mass": key[1], "start": key[2], "folds": len(later),
                    "median_ess_per_second": float(np.median([r["ess_per_second"] for r in later])),
                    "min_ess_bulk": float(min(r["min_ess_bulk"] for r in later)),
                    "max_rhat": float(max(r["max_rhat"] for r in later)),
                    "gate_passed": sum(r["gate_passed"] for r in later),
                    "seconds": float(sum(r["seconds"] for r in later))})
    return out


def markdown(rows: list[dict[str, Any]], summed: list[dict[str, Any]]) -> str:
    lines = ["| preset | mass matrix | start | folds 1-3: median ESS/s | smallest bulk ESS | largest R-hat "
             "| gate passed | sampling s |", "|---|---|---|---|---|---|---|---|"]
    for s in summed:
        lines.append(f"| {s['preset']} | {s['mass']} | {s['start']} | {s['median_ess_per_second']:.1f} | "
                     f"{s['min_ess_bulk']:.0f} | {s['max_rhat']:.3f} | {s['gate_passed']}/{s['folds']} | "
                     f"{s['seconds']:.1f} |")
    lines += ["", "| preset | mass matrix | start | fold | weeks | bulk ESS | R-hat | s | ESS/s | gate |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['preset']} | {r['mass']} | {r['start']} | {r['fold']} | {r['weeks']} | "
                     f"{r['min_ess_bulk']:.0f} | {r['max_rhat']:.3f} | {r['seconds']:.1f} | "
                     f"{r['ess_per_second']:.1f} | {'pass' if r['gate_passed'] else 'fail'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for warm_starts.json and warm_starts.md")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    args = parser.parse_args(argv)
    from bayestune.tuning.environment import package_versions

    rows = [row for preset in args.presets for row in measure(preset)]
    summed = summary(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "packages": package_versions(), "seed": SEED, "draws": DRAWS, "tune": TUNE, "chains": CHAINS,
            "folds": FOLDS, "horizon": HORIZON, "jitter": JITTER}
    (args.out / "warm_starts.json").write_text(json.dumps({"environment": meta, "summary": summed, "rows": rows},
                                                          indent=2) + "\n")
    (args.out / "warm_starts.md").write_text(markdown(rows, summed))
    print(markdown(rows, summed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
