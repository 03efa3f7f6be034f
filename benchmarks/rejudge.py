"""Judge a stored suite result again under a suite file's current judges.

The catch judges (``[mutants] primary`` and ``judges``) and the gate (``[gate]``) are
read from the suite file, not from the results, so a judge can be measured on cells that
ran before it existed: the catch matrix, and the false-alarm rates resampled from the
default's runs (:func:`bayestune.bench.catch.resampled_false_alarms`), per judge and per
gate check. No cell runs again.

    python benchmarks/rejudge.py RESULTS.json [--suite quick] [--draws 2000]

The quick suite's decision not to count its gate came from this on the first part of its
six-world run (one rerun; `git show 97577f9:benchmarks/baselines/quick.json`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bayestune.bench import load_suite
from bayestune.bench.catch import catch_matrix, rates, resampled_false_alarms


def rejudge(payload: dict, suite: str, draws: int) -> dict:
    spec = load_suite(suite).to_dict()
    payload = payload | {"suite": payload["suite"] | {"gate": spec["gate"], "mutants": spec["mutants"]}}
    caught = catch_matrix(payload, alpha=0.05, power=0.8)
    (k, n), (fk, fn) = rates(caught)
    return {"catch": f"{k}/{n}", "false_alarms": f"{fk}/{fn}",
            "flagged_by": {c.methodology: c.flagged_by for c in caught},
            "resampled": resampled_false_alarms(payload, alpha=0.05, power=0.8, draws=draws)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path)
    p.add_argument("--suite", default="quick", help="the suite whose [gate] and [mutants] judge (default: quick)")
    p.add_argument("--draws", type=int, default=2000)
    args = p.parse_args()
    print(json.dumps(rejudge(json.loads(args.results.read_text()), args.suite, args.draws), indent=2))


if __name__ == "__main__":
    main()
