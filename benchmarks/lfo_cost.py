"""PSIS-LFO against rolling folds: weeks scored, exact fits and seconds per trial, side by side.

``python benchmarks/lfo_cost.py --out DIR`` takes ``quickstart`` (seed 1; 78 weeks, 8 final
test weeks kept out), and for two structures (the true one, Fourier order 2 and ``l_max``
6, and a wrong one, 5 and 4) runs one trial each way, twice, through
:func:`bayestune.tuning.trial.run_trial` with the ``pymc-marketing-nutpie`` fitter (300
tuning steps and 300 draws on 2 chains, compiled before the first trial): ``rolling``, 3
folds of 8 weeks (weeks 46 to 69, 1 to 8 weeks ahead), and ``lfo``, the same 24 weeks each
one week ahead (k̂ threshold 0.7). Per trial: weeks scored, exact fits, wall seconds, the
trial's value (mean CRPS per week; the two ways score different horizons, so the values are
not comparable across ways) and the largest k̂. Writes ``lfo_cost.json`` and ``lfo_cost.md``.
A timing on a shared machine is noisy: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bayestune.simulator import read_dataset, simulate, write_dataset
from bayestune.tuning import load_config
from bayestune.tuning.compiled import ProgramCache
from bayestune.tuning.fitters.pymc_marketing_nutpie import PyMCMarketingNutpieFitter
from bayestune.tuning.folds import fold_plan
from bayestune.tuning.gate import GateThresholds
from bayestune.tuning.model import Candidate, FitSettings
from bayestune.tuning.trial import TrialRecord, run_trial

CONFIG = {"fitter": "pymc-marketing-nutpie", "space": {"l_max": [4, 7]}, "final": {"test_weeks": 8}}
SETTINGS = FitSettings("nutpie", draws=300, tune=300, chains=2)
STRUCTURES = (Candidate(2, 6), Candidate(5, 4))


def measure() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        dataset = read_dataset(write_dataset(simulate("quickstart", seed=1), Path(tmp) / "q"))
    fitter = PyMCMarketingNutpieFitter(ProgramCache())
    rows = []
    for candidate in STRUCTURES:
        fitter.fit(candidate, dataset.columns, dataset.data.iloc[:46], SETTINGS, 0)  # compile
        for validation in ("rolling", "lfo", "rolling", "lfo"):
            folds = fold_plan(dataset.weeks, load_config(None, CONFIG | {"validation": validation}))
            record = TrialRecord(candidate)
            start = time.perf_counter()
            value = run_trial(candidate, dataset, folds, SETTINGS, GateThresholds(1.0, 10.0, 0.0), seed=7,
                              trial_number=0, record=record, fitter=fitter)
            ks = [k for block in record.pareto_k for k in block if k is not None]
            rows.append({"structure": f"{candidate.yearly_seasonality}/{candidate.l_max}", "validation": validation,
                         "weeks": sum(len(w) for w in record.week_crps), "fits": record.fits,
                         "seconds": round(time.perf_counter() - start, 2), "value": round(value, 1),
                         "max_k": round(max(ks), 2) if ks else None})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    rows = measure()
    (out / "lfo_cost.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = ["| structure | validation | weeks scored | exact fits | seconds | value | largest k̂ |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['structure']} | {r['validation']} | {r['weeks']} | {r['fits']} | {r['seconds']} | {r['value']} "
              f"| {r['max_k'] if r['max_k'] is not None else '-'} |" for r in rows]
    (out / "lfo_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
