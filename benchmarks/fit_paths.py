"""Three ways to fit a trial's folds, side by side in one process: what compiling once buys.

``python benchmarks/fit_paths.py --out DIR`` takes the true structure of ``quickstart`` and
``seed-blog`` (seed 0) and runs, per preset and in this order:

- ``seed recipe``: the seed blog's path, ``pm.sample(nuts_sampler="numpyro")`` through the
  default fitter, 500 tuning steps and 500 draws on 2 chains, one 24-week tail fold;
- ``default fitter``: the default fitter at the quick suite's search settings (numpyro
  300/300 x 2, rolling origin, 2 folds x 8 weeks before 16 final test weeks);
- ``nutpie, compiled once``: the ``pymc-marketing-nutpie`` fitter on the same folds and
  settings; its first fold pays the compilation, its later folds and a second trial of the
  same structure do not;
- later trials of the same structure with nutpie's low-rank mass matrix instead of its
  diagonal one (the fitter's default), with 1000 draws instead of 300 and with 600 tuning steps instead of 300
  (what the search gate's ESS may need);
- ``nutpie, from the disk cache``: 1000/300 and 1000/700 with the process's programs dropped
  first, so the first fold reads the structure's compiled code from numba's disk cache
  (:mod:`bayestune.tuning.numba_cached`), as any later process on the machine does.

Each row is one whole trial (every fold fitted, gated, predicted and scored, as
:func:`bayestune.tuning.trial.run_trial` does it) and gives its wall seconds, and per fold the
fit's seconds (compilation included), its smallest bulk ESS over the free parameters and
that ESS per second. Writes ``fit_paths.json`` and ``fit_paths.md``. A timing on a shared
machine is noisy: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

PRESETS = ("quickstart", "seed-blog")
SEED = 0
TEST_WEEKS = 16
PATHS = [
    # name, fitter, draws, tune, sampler_kwargs, validation (folds, horizon)
    ("seed recipe", "pymc-marketing", 500, 500, {}, (1, 24)),
    ("default fitter", "pymc-marketing", 300, 300, {}, (2, 8)),
    ("nutpie, compiled once", "pymc-marketing-nutpie", 300, 300, {}, (2, 8)),
    ("nutpie, a later trial", "pymc-marketing-nutpie", 300, 300, {}, (2, 8)),
    ("nutpie, low-rank mass", "pymc-marketing-nutpie", 300, 300, {"low_rank_modified_mass_matrix": True}, (2, 8)),
    ("nutpie, 1000 draws", "pymc-marketing-nutpie", 1000, 300, {}, (2, 8)),
    ("nutpie, 600 tuning steps", "pymc-marketing-nutpie", 300, 600, {}, (2, 8)),
    ("nutpie, from the disk cache", "pymc-marketing-nutpie", 1000, 300, {}, (2, 8)),
    ("nutpie, from the disk cache, 700 tuning steps", "pymc-marketing-nutpie", 1000, 700, {}, (2, 8)),
]
FROM_DISK = "from the disk cache"
"""Rows whose name holds this drop the process's compiled programs before the trial."""


class _Timed:
    """A fitter wrapper recording each fold's fit seconds and diagnostics."""

    def __init__(self, fitter: Any) -> None:
        self.fitter, self.folds = fitter, []

    def fit(self, candidate, columns, data, settings, seed):
        start = time.perf_counter()
        fitted, timings = self.fitter.fit(candidate, columns, data, settings, seed)
        seconds = time.perf_counter() - start
        diag = self.fitter.diagnose(fitted)
        self.folds.append({"weeks": len(data), "fit_seconds": seconds, "compile_seconds": timings.compile,
                           "min_ess_bulk": diag.min_ess_bulk, "max_rhat": diag.max_rhat,
                           "divergence_rate": diag.divergence_rate, "ess_per_second": diag.min_ess_bulk / seconds})
        return fitted, timings

    def predict(self, fitted, columns, data, *, seed, out_of_sample):
        return self.fitter.predict(fitted, columns, data, seed=seed, out_of_sample=out_of_sample)

    def diagnose(self, fitted):
        return self.fitter.diagnose(fitted)

    def save(self, fitted, path, seed):
        self.fitter.save(fitted, path, seed)

    def release(self):
        self.fitter.release()


def measure(preset: str) -> list[dict[str, Any]]:
    from bayestune.simulator import simulate
    from bayestune.simulator.dataset import ColumnRoles, Dataset
    from bayestune.tuning.fitters import resolve_fitter
    from bayestune.tuning.folds import search_folds
    from bayestune.tuning.gate import GateThresholds
    from bayestune.tuning.model import FitSettings, true_candidate
    from bayestune.tuning.trial import TrialRecord, run_trial

    sim = simulate(preset, SEED)
    columns = ColumnRoles.from_truth(sim.truth)
    dataset = Dataset(Path(preset), sim.data, columns, sim.truth)
    candidate = true_candidate(sim.truth)
    rows = []
    for trial, (name, fitter_name, draws, tune, kwargs, (n_folds, horizon)) in enumerate(PATHS):
        folds = search_folds(len(sim.data), folds=n_folds, horizon=horizon, test_weeks=TEST_WEEKS, min_train=30)
        if FROM_DISK in name:
            from bayestune.tuning.fitters.pymc_marketing_nutpie import PROGRAMS

            PROGRAMS.clear()
        timed = _Timed(resolve_fitter(fitter_name))
        record = TrialRecord(candidate)
        start = time.perf_counter()
        value = run_trial(candidate, dataset, folds, FitSettings("numpyro", draws, tune, 2, kwargs),
                          GateThresholds.SEARCH, seed=SEED, trial_number=trial, record=record,
                          enforce_gate=False, fitter=timed)
        wall = time.perf_counter() - start
        rows.append({"preset": preset, "path": name, "fitter": fitter_name, "draws": draws, "tune": tune,
                     "chains": 2, "sampler_kwargs": kwargs, "folds": n_folds, "horizon": horizon, "trial_seconds": wall, "crps": value,
                     "per_fold": timed.folds})
        print(f"{preset:11s} {name:24s} trial {wall:6.1f} s", file=sys.stderr)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| preset | path | draws/tune x chains | folds | trial s | first fold: fit s (compile s), min ESS, R-hat, ESS/s "
             "| later folds: min ESS, R-hat, ESS/s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        first, later = r["per_fold"][0], r["per_fold"][1:]
        later_s = "; ".join(f"{f['min_ess_bulk']:.0f}, {f['max_rhat']:.2f}, {f['ess_per_second']:.1f}" for f in later) or "-"
        lines.append(f"| {r['preset']} | {r['path']} | {r['draws']}/{r['tune']} x {r['chains']} | {r['folds']} x "
                     f"{r['horizon']} | {r['trial_seconds']:.1f} | {first['fit_seconds']:.1f} "
                     f"({first['compile_seconds']:.1f}), {first['min_ess_bulk']:.0f}, {first['max_rhat']:.2f}, "
                     f"{first['ess_per_second']:.1f} "
                     f"| {later_s} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for fit_paths.json and fit_paths.md")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    args = parser.parse_args(argv)
    from bayestune.tuning.environment import package_versions

    rows = [row for preset in args.presets for row in measure(preset)]
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "packages": package_versions(), "seed": SEED}
    (args.out / "fit_paths.json").write_text(json.dumps({"environment": meta, "rows": rows}, indent=2) + "\n")
    (args.out / "fit_paths.md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
