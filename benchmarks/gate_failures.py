"""How often does the lenient search gate prune a trial of one structure, and do longer
adaptation or refits from fresh seeds (``[gate] retries``) change it?

The quick suite's short-data world lost the true structure's neighbours to the search gate
(R-hat > 1.10 or bulk ESS < 50 on a fold) in its worst runs of the default. This fits one
structure's search trial (the default's rolling folds, ``pymc-marketing-nutpie``, 2000 draws
x 2 chains) with many study seeds at each number of tuning steps, and counts the trials the
gate prunes, for each number of tuning steps and of gate retries:

    python benchmarks/gate_failures.py --out DIR [--preset worlds-short] [--structure 1,6]
        [--tune 300,1000] [--retries 0] [--seeds 20]

Writes ``gate_failures.json`` and ``gate_failures.md`` (per setting: trials pruned, fits made,
the smallest bulk ESS and the largest R-hat over the kept fits, median seconds per trial).
Timings on a shared machine are noisy; the pruned counts are seeded. A retry's first attempt
uses the seed a run without retries uses, so the settings' trials pair seed by seed.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
from pathlib import Path

CONFIG = """trials = 1
fitter = "pymc-marketing-nutpie"
validation = "rolling"
folds = 2
horizon = 8
draws = 2000
chains = 2
oracle = false
replicates = 0
quiet = true
[space]
yearly_seasonality = [{order}, {order}]
l_max = [{l_max}, {l_max}]
[gate]
max_divergence_rate = 0.1
max_rhat = 1.1
min_ess = 50.0
retries = {retries}
"""


def run(preset: str, order: int, l_max: int, tunes: list[int], seeds: int, work: Path,
        retries: tuple[int, ...] = (0,)) -> dict:
    from bayestune.cli import main

    data = work / "dataset"
    if main(["simulate", "--preset", preset, "--seed", "0", "--out", str(data)]) != 0:
        raise SystemExit("simulate failed")
    rows = []
    settings = [(tune, r) for tune in tunes for r in retries]
    for tune, r in settings:
        config = work / f"config-r{r}.toml"
        config.write_text(CONFIG.format(order=order, l_max=l_max, retries=r))
        for seed in range(seeds):
            out = work / f"t{tune}-r{r}-s{seed}"
            main(["tune", "--data", str(data), "--out", str(out), "--config", str(config),
                  "--tune", str(tune), "--seed", str(seed), "--no-final"])
            with open(out / "trials.csv") as fh:
                trial = next(csv.DictReader(fh))
            rows.append({"tune": tune, "retries": r, "seed": seed, "state": trial["state"], "fits": int(trial["fits"]),
                         "max_rhat": float(trial["max_rhat"]), "min_ess_bulk": float(trial["min_ess_bulk"]),
                         "seconds": float(trial["seconds_total"]), "pruned_reason": trial["pruned_reason"],
                         "gate_retries": json.loads(trial["gate_retries"])})
    summary = []
    for tune, r in settings:
        mine = [row for row in rows if row["tune"] == tune and row["retries"] == r]
        summary.append({"tune": tune, "retries": r, "trials": len(mine),
                        "pruned": sum(row["state"] == "PRUNED" for row in mine),
                        "fits": sum(row["fits"] for row in mine),
                        "min_ess_bulk": min(row["min_ess_bulk"] for row in mine),
                        "max_rhat": max(row["max_rhat"] for row in mine),
                        "median_seconds": statistics.median(row["seconds"] for row in mine)})
    return {"preset": preset, "seed": 0, "structure": {"yearly_seasonality": order, "l_max": l_max},
            "summary": summary, "trials": rows}


def markdown(result: dict) -> str:
    s = result["structure"]
    lines = [f"# Search-gate pruning of one structure: {result['preset']} seed 0, Fourier {s['yearly_seasonality']}, "
             f"l_max {s['l_max']}", "", "| tune | gate retries | trials | pruned by the gate | fits | smallest bulk ESS | largest R-hat | "
             "median s / trial |", "|---|---|---|---|---|---|---|---|"]
    for r in result["summary"]:
        lines.append(f"| {r['tune']} | {r.get('retries', 0)} | {r['trials']} | {r['pruned']} | {r.get('fits', '-')} | "
                     f"{r['min_ess_bulk']:.1f} | {r['max_rhat']:.3f} | {r['median_seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--preset", default="worlds-short")
    p.add_argument("--structure", default="1,6", help="Fourier order,l_max (default: 1,6)")
    p.add_argument("--tune", default="300,1000")
    p.add_argument("--retries", default="0", help="gate retries to compare, e.g. 0,1")
    p.add_argument("--seeds", type=int, default=20)
    args = p.parse_args()
    order, l_max = (int(x) for x in args.structure.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.preset, order, l_max, [int(t) for t in args.tune.split(",")], args.seeds, Path(tmp),
                     tuple(int(r) for r in args.retries.split(",")))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gate_failures.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "gate_failures.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
