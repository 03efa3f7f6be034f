"""What each validation scheme of a suite run buys: weeks scored, cost and sharpness per trial,
and how often the choice is the truth.

    python benchmarks/objective_report.py RESULTS_DIR [--markdown]

For each methodology of ``RESULTS_DIR/results.json`` (``benchmarks/suites/objective.toml``
puts rolling folds, many-fold rolling, PSIS-LFO and the seed recipe side by side), over its
cells, from the files the run wrote:

- **week-forecasts per trial**: the per-week scores a completed trial's value averages (a week
  scored by two overlapping folds counts twice); **exact fits per trial** (``fits``);
  **seconds per trial** (``seconds_total``), medians over completed trials;
- **sharpness**: each completed trial whose structure is not the true one, paired week by week
  with the oracle (the true structure scored on the same folds, ``oracle.json``): the paired
  difference's standard error as a share of the oracle's mean score (``se/score``), and the
  difference in standard errors (``z``; positive: the truth scores better). The medians over a
  cell's trials, then over cells. Overlapping folds' week-forecasts are not independent, so
  their SE is a lower bound; LFO's one-week-ahead scores are;
- **truth**: the share of cells whose choice has the exact Fourier order and the exact
  ``l_max``, the mean worst kernel L1 and the mean honest regret z (``results.json``);
- against the reference (the seed recipe): one-sided paired t-tests of "better" on the worst
  kernel L1 and the honest regret z, over the datasets both ran.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from pathlib import Path
from typing import Any

from bayestune.bench.paired import default_and_reference, pair_cells, paired_test
from bayestune.bench.results import folder_report_main
from bayestune.bench.searches import has_search, stored_searches
from bayestune.evaluation.metrics import paired_difference

STRUCTURE = ("yearly_seasonality", "l_max", "adstock", "saturation")
TRUTH = ("exact_yearly_seasonality", "exact_l_max", "kernel_l1_max", "final_regret_z")
AGAINST_REFERENCE = (("kernel_l1_max", "lower"), ("final_regret_z", "lower"))


def _flat(nested: Any) -> list[float]:
    return [float(x) for block in nested for x in block]


def search_figures(run: Path) -> dict[str, float | None]:
    """One cell's search: medians over its completed trials (see the module's docstring)."""
    with (run / "trials.csv").open(newline="") as handle:
        done = [t for t in csv.DictReader(handle) if t["state"] == "COMPLETE"]
    oracle = json.loads((run / "oracle.json").read_text()) if (run / "oracle.json").is_file() else None
    truth = oracle["candidate"] if oracle and oracle.get("state") == "COMPLETE" else None
    truth_weeks = _flat(oracle["week_crps"]) if truth else None
    ses, zs = [], []
    for t in done:
        weeks = _flat(json.loads(t["week_crps"]))
        if truth_weeks is None or len(weeks) != len(truth_weeks) or len(weeks) < 2:
            continue
        if all(str(truth[k]) == t[k] for k in STRUCTURE):
            continue
        mean, se = paired_difference(weeks, truth_weeks)
        if se > 0:
            ses.append(se / statistics.fmean(truth_weeks))
            zs.append(mean / se)

    def median(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    return {
        "weeks": median([len(_flat(json.loads(t["week_crps"]))) for t in done]),
        "fits": median([float(t["fits"]) for t in done if t.get("fits")]),
        "seconds": median([float(t["seconds_total"]) for t in done if t.get("seconds_total")]),
        "se_share": median(ses),
        "z": median(zs),
    }


def _mean(values: list[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return statistics.fmean(kept) if kept else None


def report(results_dir: Path) -> list[dict[str, Any]]:
    """One row per methodology, in the order the results file first names them."""
    payload = json.loads((results_dir / "results.json").read_text())
    _, reference = default_and_reference(payload)
    searches = stored_searches(results_dir)
    cells: dict[str, list[dict[str, Any]]] = {}
    for cell in payload["cells"]:
        cells.setdefault(cell["cell"]["methodology"], []).append(cell)
    rows = []
    for name, group in cells.items():
        ok = [c for c in group if c["status"] == "ok"]
        per_cell = [search_figures(searches[c["key"]] / "run") for c in ok
                    if c["key"] in searches and has_search(searches[c["key"]])]
        row: dict[str, Any] = {"methodology": name, "cells": len(group), "ok": len(ok),
                               "cell_minutes": _mean([c.get("seconds", 0.0) / 60.0 for c in ok])}
        for key in ("weeks", "fits", "seconds", "se_share", "z"):
            values = [f[key] for f in per_cell if f[key] is not None]
            row[key] = statistics.median(values) if values else None
        for metric in TRUTH:
            row[metric] = _mean([c["metrics"].get(metric) for c in ok])
        if reference and name != reference:
            pairing = pair_cells(cells[reference], group)
            for metric, better in AGAINST_REFERENCE:
                t = paired_test(metric, better, [b["metrics"].get(metric) for _, b, _ in pairing.pairs],
                                [n["metrics"].get(metric) for _, _, n in pairing.pairs], alpha=0.05, power=0.8)
                if t.judged:  # one-sided p of "better than the reference"
                    assert t.mean is not None and t.p_t is not None
                    row[f"{metric}_vs_reference"] = {"mean": t.mean, "n": t.n,
                                                     "p": t.p_t / 2 if t.mean < 0 else 1 - t.p_t / 2}
        rows.append(row)
    return rows


def _f(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| methodology | cells | week-forecasts / trial | exact fits / trial | s / trial | cell min | "
             "SE / score | z of wrong structures | Fourier exact | l_max exact | kernel L1 | honest regret z | "
             "vs reference: kernel L1 | vs reference: honest regret z |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        against = []
        for metric, _ in AGAINST_REFERENCE:
            t = r.get(f"{metric}_vs_reference")
            against.append("-" if t is None else f"{t['mean']:+.2f} (p {t['p']:.3f}, {t['n']} cells)")
        lines.append(
            f"| {r['methodology']} | {r['ok']}/{r['cells']} | {_f(r['weeks'], '.0f')} | {_f(r['fits'], '.0f')} | "
            f"{_f(r['seconds'], '.1f')} | {_f(r['cell_minutes'], '.1f')} | {_f(r['se_share'], '.3f')} | "
            f"{_f(r['z'], '.2f')} | {_f(r['exact_yearly_seasonality'], '.0%')} | {_f(r['exact_l_max'], '.0%')} | "
            f"{_f(r['kernel_l1_max'], '.3f')} | {_f(r['final_regret_z'], '+.2f')} | {' | '.join(against)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return folder_report_main(argv, prog="objective_report.py", description=__doc__.splitlines()[0],
                              rows=lambda folder, _: report(folder), markdown=lambda rows, _: markdown(rows))


if __name__ == "__main__":
    raise SystemExit(main())
