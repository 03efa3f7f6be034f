"""Where a suite run's minutes went, cell by cell, from the files the run wrote.

    python benchmarks/cell_costs.py RESULTS_DIR [--markdown]

For each cell of ``RESULTS_DIR/results.json``: the fitter, how many distinct structures its
search met, the seconds its trials spent compiling, sampling and predicting (summed over
``trials.csv``), the trials' total, the fits the gate sent back for a fresh seed (``[gate]
retries``), the trials the convergence gate pruned and those the median pruner cut, and the
cell's minutes (search, oracle, final fits and evaluation). The
search's files are read from the cell's directory, or from ``searches/`` where a committed run
keeps them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bayestune.bench.results import folder_report_main
from bayestune.bench.searches import has_search, stored_searches


def _trials(searches: dict[str, Path], cell: dict) -> list[dict[str, str]]:
    if cell["key"] in searches and has_search(searches[cell["key"]]):
        with (searches[cell["key"]] / "run" / "trials.csv").open(newline="") as handle:
            return list(csv.DictReader(handle))
    if cell.get("status") != "ok":  # a failed cell's search is not kept: its row says it failed
        return []
    raise FileNotFoundError(f"no trials.csv for cell {cell['key']} (in cells/ or searches/)")


def _structure(chosen: dict | None) -> str | None:
    """``"Fourier/l_max"`` of a cell's choice (its forms left out: the suites search one each)."""
    return None if not chosen else f"{chosen.get('yearly_seasonality')}/{chosen.get('l_max')}"


def cell_costs(results_dir: Path) -> list[dict[str, object]]:
    """One row per cell, in the results file's order."""
    results = json.loads((results_dir / "results.json").read_text())
    searches = stored_searches(results_dir)
    rows = []
    for cell in results["cells"]:
        trials = _trials(searches, cell)

        def total(column: str, trials: list[dict[str, str]] = trials) -> float:
            return sum(float(t[column] or 0.0) for t in trials)

        gate = sum("convergence gate" in (t.get("pruned_reason") or "") for t in trials)
        retried = sum(len(json.loads(t.get("gate_retries") or "[]")) for t in trials)
        pruned = sum(t["state"] == "PRUNED" for t in trials)
        rows.append({
            "cell": cell["key"] if cell.get("status") == "ok" else f"{cell['key']} (failed)",
            "fitter": trials[0].get("fitter", "") if trials else "",
            "trials": len(trials),
            "structures": len({(t["yearly_seasonality"], t["l_max"], t["adstock"], t["saturation"]) for t in trials}),
            "compile_s": total("seconds_compile"),
            "sample_s": total("seconds_sample"),
            "predict_s": total("seconds_predict"),
            "trials_s": total("seconds_total"),
            "gate_retried": retried,
            "gate_pruned": gate,
            "median_pruned": pruned - gate,
            "cell_min": float(cell.get("seconds") or 0.0) / 60.0,
            "chosen": _structure(cell.get("chosen")),
            "final_regret_z": (cell.get("metrics") or {}).get("final_regret_z"),
            "kernel_l1_max": (cell.get("metrics") or {}).get("kernel_l1_max"),
        })
    return rows


def markdown(rows: list[dict[str, object]]) -> str:
    lines = ["| cell | fitter | structures | compile s | sample s | predict s | trials s | fits retried | gate-pruned | "
             "pruner-cut | cell min |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['cell']} | {r['fitter']} | {r['structures']} | {r['compile_s']:.0f} | {r['sample_s']:.0f} | "
                     f"{r['predict_s']:.0f} | {r['trials_s']:.0f} | {r['gate_retried']} | {r['gate_pruned']}/{r['trials']} | "
                     f"{r['median_pruned']}/{r['trials']} | {r['cell_min']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return folder_report_main(argv, prog="cell_costs.py", description=__doc__.splitlines()[0],
                              rows=lambda folder, _: cell_costs(folder), markdown=lambda rows, _: markdown(rows))


if __name__ == "__main__":
    raise SystemExit(main())
