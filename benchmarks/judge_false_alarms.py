"""How often the catch judges flag an unchanged methodology: the figures behind their levels.

Two measurements:

``synthetic``
    Experiments of R exchangeable runs on six worlds (each world its own figures, each run a
    little noise of its own, and with ``--heavy`` now and then a far-off honest regret): the
    calibrated judge is calibrated on the R runs and judges a fresh run against the first.
    The share of experiments flagged is its false-alarm rate.
``RESULTS``
    On a stored suite run with reruns: the summary's resampled null comparisons (two runs of
    the default on every dataset, the calibrated judge calibrated *without* the run playing
    NEW), with the paired and the calibrated judge each at the level given.

    python benchmarks/judge_false_alarms.py synthetic --runs 5 [--heavy] [--experiments 300]
    python benchmarks/judge_false_alarms.py benchmarks/baselines/quick.json --level 0.025
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from bayestune.bench.calibrated import calibrate
from bayestune.bench.catch import resampled_false_alarms
from bayestune.bench.paired import quality_metrics

PRIMARY = ("final_regret_z", "kernel_l1_max", "abs_error_yearly_seasonality", "gap_ratio")
WORLDS = 6


def synthetic_run(method: str, rng: np.random.Generator, world_z: np.ndarray, heavy: bool) -> list[dict]:
    out = []
    for k in range(WORLDS):
        z = float(world_z[k] + rng.normal(0, 0.4)) + (float(rng.uniform(3, 6)) if heavy and rng.random() < 0.15 else 0.0)
        out.append({"status": "ok", "cell": {"scenario": f"w{k}", "seed": 0, "methodology": method},
                    "metrics": {"final_regret_z": z, "kernel_l1_max": 0.1 + 0.05 * k + float(rng.normal(0, 0.02)),
                                "abs_error_yearly_seasonality": float(rng.integers(0, 2)),
                                "gap_ratio": 1.05 + 0.02 * k}})
    return out


def synthetic(runs: int, heavy: bool, experiments: int, alpha: float) -> dict:
    rng = np.random.default_rng(0)
    world_z = np.random.default_rng(99).normal(0.3, 1.0, WORLDS)
    flagged = 0
    for e in range(experiments):
        cells = [c for r in range(runs) for c in synthetic_run(f"r{r}", rng, world_z, heavy)]
        by_world: dict = {}
        for c in cells:
            by_world.setdefault((c["cell"]["scenario"], 0), []).append(c)
        cal = calibrate(by_world, quality_metrics(), PRIMARY, alpha=alpha, draws=500, seed=e)
        flagged += bool(cal and cal.worse(cells[:WORLDS], synthetic_run("new", rng, world_z, heavy)))
    return {"runs": runs, "heavy": heavy, "experiments": experiments, "alpha": alpha,
            "calibrated_false_alarms": flagged / experiments}


def stored(payload: dict, level: float, draws: int) -> dict:
    """:func:`~bayestune.bench.catch.resampled_false_alarms` with the paired and the calibrated
    judge counted, each at ``level``: ``either`` is the share of draws one of them flags."""
    counted = payload | {"suite": payload["suite"] | {
        "mutants": (payload["suite"].get("mutants") or {}) | {"judges": ["paired", "calibrated"]}}}
    null = resampled_false_alarms(counted, alpha=2 * level, power=0.8, draws=draws, each=level)
    if null is None:
        raise SystemExit("judge_false_alarms: the results hold fewer than two runs of the default per dataset")
    return {"level": level, "draws": draws, "runs": null["runs"], "paired": null["paired"],
            "calibrated": null["calibrated"], "either": null["flagged"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help="'synthetic', or a suite results.json with reruns of the default")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--heavy", action="store_true")
    p.add_argument("--experiments", type=int, default=300)
    p.add_argument("--level", type=float, default=0.05)
    p.add_argument("--draws", type=int, default=300)
    args = p.parse_args()
    if args.source == "synthetic":
        out = synthetic(args.runs, args.heavy, args.experiments, args.level)
    else:
        with open(args.source) as fh:
            out = stored(json.load(fh), args.level, args.draws)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
