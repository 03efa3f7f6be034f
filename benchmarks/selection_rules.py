"""The selection rules side by side on the same searches: ``lowest`` against ``one-se``.

``python benchmarks/selection_rules.py SUITE_OUT [--out DIR]`` reads every finished cell of a
suite run (``bayestune bench --suite quick --out SUITE_OUT``), applies both rules of
:mod:`bayestune.tuning.selection` to the cell's completed trials, and scores each choice
against the truth: exact Fourier order and ``l_max``, and the regret against the oracle
trial (the true structure scored on the same folds) with its paired SE. The trials are the
same for both rules, so the comparison isolates the rule from the search's own noise. Where
a cell's run dir holds replicate refits (``replicates.json``), both rules are also applied to
the replicate-averaged scores of its top trials (``lowest+replicates``, ``one-se+replicates``);
those variants are summarised over the cells that have them, beside both plain rules on the
same cells.
Kernel L1 and recovery need a fit of the chosen structure and are not computed here; a suite
run with a methodology per rule (``selection = "one-se"``) gives them.

Writes ``selection_rules.json`` and ``selection_rules.md`` into ``--out`` (default:
SUITE_OUT) and prints the table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from bayestune.evaluation.selection import regret
from bayestune.tuning.replicates import averaged, load_replicates
from bayestune.tuning.selection import RULES, scored_trials, select


def cell_choices(cell: Path) -> dict[str, Any] | None:
    run = cell / "run"
    try:
        trials = pd.read_csv(run / "trials.csv")
        oracle = json.loads((run / "oracle.json").read_text())
        truth = json.loads((cell / "dataset" / "truth.json").read_text())["structure"]
    except (OSError, ValueError):
        return None
    scored = scored_trials(trials)
    out: dict[str, Any] = {"cell": str(cell.relative_to(cell.parents[3])), "trials": len(scored),
                           "truth": {k: truth[k] for k in ("yearly_seasonality", "l_max")}}
    variants = [(rule, rule, scored) for rule in RULES]
    reps = load_replicates(run)
    if reps and reps.get("fits"):
        top, _ = averaged(scored, reps)
        variants += [(f"{rule}+replicates", rule, top) for rule in RULES]
    for name, rule, candidates in variants:
        sel = select(candidates, rule)
        if sel is None:
            return None
        p = sel.chosen.params
        r = regret(sel.chosen.week_crps, oracle["week_crps"]) if oracle.get("state") == "COMPLETE" else None
        out[name] = {"trial": sel.chosen.number, "yearly_seasonality": int(p["yearly_seasonality"]),
                     "l_max": int(p["l_max"]),
                     "exact_yearly_seasonality": int(p["yearly_seasonality"]) == truth["yearly_seasonality"],
                     "exact_l_max": int(p["l_max"]) == truth["l_max"],
                     "regret": r["regret"] if r else None, "regret_se": r["se"] if r else None,
                     "within": sel.within}
    return out


def variants(rows: list[dict[str, Any]]) -> list[str]:
    names = [*RULES, *(f"{rule}+replicates" for rule in RULES)]
    return [n for n in names if any(n in r for r in rows)]


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per variant over the cells that have every variant (the same searches for all)."""
    names = variants(rows)
    rows = [r for r in rows if all(n in r for n in names)]
    out = {}
    for rule in names:
        picks = [r[rule] for r in rows]
        regrets = [p["regret"] for p in picks if p["regret"] is not None]
        out[rule] = {"cells": len(picks),
                     "exact_yearly_seasonality": sum(p["exact_yearly_seasonality"] for p in picks),
                     "exact_l_max": sum(p["exact_l_max"] for p in picks),
                     "mean_regret": sum(regrets) / len(regrets) if regrets else None,
                     "mean_abs_fourier_error": sum(abs(p["yearly_seasonality"] - r["truth"]["yearly_seasonality"])
                                                   for p, r in zip(picks, rows, strict=True)) / max(len(picks), 1),
                     "mean_abs_l_max_error": sum(abs(p["l_max"] - r["truth"]["l_max"])
                                                 for p, r in zip(picks, rows, strict=True)) / max(len(picks), 1)}
    return out


def to_markdown(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    lines = ["| rule | cells | Fourier exact | l_max exact | mean abs. Fourier error | mean abs. l_max error | mean regret |",
             "|---|---|---|---|---|---|---|"]
    for rule, s in summary.items():
        reg = "n/a" if s["mean_regret"] is None else f"{s['mean_regret']:+.1f}"
        lines.append(f"| {rule} | {s['cells']} | {s['exact_yearly_seasonality']}/{s['cells']} | "
                     f"{s['exact_l_max']}/{s['cells']} | {s['mean_abs_fourier_error']:.2f} | "
                     f"{s['mean_abs_l_max_error']:.2f} | {reg} |")
    names = list(summary)
    lines += ["", "| cell | truth (Fourier, l_max) | " + " | ".join(f"{r} (Fourier, l_max; regret ± SE)" for r in names) + " |",
              "|---|---|" + "---|" * len(names)]
    for row in rows:
        t = row["truth"]
        picks = []
        for rule in names:
            if rule not in row:
                picks.append("")
                continue
            p = row[rule]
            reg = "n/a" if p["regret"] is None else f"{p['regret']:+.1f} ± {p['regret_se']:.1f}"
            picks.append(f"{p['yearly_seasonality']}, {p['l_max']}; {reg}")
        lines.append(f"| {row['cell']} | {t['yearly_seasonality']}, {t['l_max']} | " + " | ".join(picks) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite_out", type=Path, help="the --out dir of a suite run")
    parser.add_argument("--out", type=Path, help="where to write (default: SUITE_OUT)")
    parser.add_argument("--methodology", help="only this methodology's cells (e.g. one-se-replicated)")
    args = parser.parse_args(argv)
    cells = sorted(p.parent for p in args.suite_out.glob(f"cells/*/*/{args.methodology or '*'}/cell.json"))
    rows = [r for r in (cell_choices(c) for c in cells) if r is not None]
    if not rows:
        parser.error(f"no finished cell with an oracle trial under {args.suite_out}/cells")
    summary = summarise(rows)
    out = args.out or args.suite_out
    out.mkdir(parents=True, exist_ok=True)
    (out / "selection_rules.json").write_text(json.dumps({"summary": summary, "cells": rows}, indent=2) + "\n")
    md = to_markdown(rows, summary)
    (out / "selection_rules.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
