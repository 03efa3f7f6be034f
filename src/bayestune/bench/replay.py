"""Replay: re-choose on a suite's stored searches with other selection rules, without any fit.

Every finished cell of a suite run keeps its search (``run/trials.csv``, and
``run/replicates.json`` with replicate refits), the true structure scored on the same folds
(``run/oracle.json``) and the truth (``dataset/truth.json``): in its own folder under
``cells/`` and, copied, under ``searches/`` (:mod:`bayestune.bench.searches`), which a results
folder keeps without the fits. :func:`replay` applies each named rule (built-in, entry point
or import path, :mod:`bayestune.tuning.selection`) to the same completed trials and scores
each choice against the truth: exact Fourier order and ``l_max``, their mean absolute errors,
and the regret against the oracle trial with its paired SE. The trials are the same for every
rule, so the comparison isolates the rule from the search's own noise. Where a cell holds
replicate refits, each rule is also applied to the replicate-averaged scores of its top
trials (``<rule>+replicates``); every variant is summarised over the cells that have all of
them.

Kernel L1 and recovery need a fit of the chosen structure and are not computed here; a suite
run with a methodology per rule gives them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bayestune.errors import BayestuneError

DEFAULT_RULES = ("lowest", "one-se")


def cell_choices(cell: Path, rules: Sequence[str] = DEFAULT_RULES, key: str | None = None) -> dict[str, Any] | None:
    """What each rule chooses in one finished cell's search; ``None`` without a complete search.

    ``cell`` holds ``run/`` and ``dataset/`` (the cell's folder or its kept copy); the row is
    named ``cells/<key>``, as in ``results.json``, whichever was read (``key`` defaults to the
    last three parts of ``cell``).
    """
    from bayestune.evaluation.selection import regret
    from bayestune.rundir import TRIALS_FILE, OracleRecord, read_record, read_trials
    from bayestune.tuning.replicates import averaged, load_replicates
    from bayestune.tuning.selection import scored_trials, select

    run = cell / "run"
    truth_path = cell / "dataset" / "truth.json"
    if not (run / TRIALS_FILE).exists() or not truth_path.exists():
        return None  # not a finished cell
    trials = read_trials(run)
    record = read_record(run, OracleRecord)
    if record is None:
        return None
    oracle = record.model_dump()
    truth = _true_structure(truth_path)
    scored = scored_trials(trials)
    key = key or cell.relative_to(cell.parents[2]).as_posix()
    out: dict[str, Any] = {"cell": f"cells/{key}", "trials": len(scored),
                           "truth": truth}
    variants = [(rule, rule, scored) for rule in rules]
    reps = load_replicates(run)
    if reps and reps.get("fits"):
        top, _ = averaged(scored, reps)
        variants += [(f"{rule}+replicates", rule, top) for rule in rules]
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


def _true_structure(path: Path) -> dict[str, Any]:
    """The truth's Fourier order and ``l_max``; a truth without them is refused in one line."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BayestuneError(f"cannot read truth.json: {exc}", str(path)) from None
    try:
        structure = data["structure"]
        return {k: int(structure[k]) for k in ("yearly_seasonality", "l_max")}
    except (KeyError, TypeError, ValueError):
        raise BayestuneError("truth.json has no structure with yearly_seasonality and l_max: replay scores "
                             "each choice against them", str(path)) from None


def variants(rows: list[dict[str, Any]], rules: Sequence[str] = DEFAULT_RULES) -> list[str]:
    """The variants present in ``rows``: each rule, then each rule on replicate-averaged scores."""
    names = [*rules, *(f"{rule}+replicates" for rule in rules)]
    return [n for n in names if any(n in r for r in rows)]


def summarise(rows: list[dict[str, Any]], rules: Sequence[str] = DEFAULT_RULES) -> dict[str, Any]:
    """Per variant over the cells that have every variant (the same searches for all)."""
    names = variants(rows, rules)
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
    """The summary table, then one row per cell with every variant's choice side by side."""
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


def replay(results_dir: str | Path, rules: Sequence[str] = DEFAULT_RULES,
           methodology: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each rule on every finished cell of the suite run in ``results_dir``: its ``--out``
    dir, or a results folder that kept its ``searches/``.

    Returns the rows (one per cell) and the summary per variant. Raises
    :class:`~bayestune.errors.BayestuneError` for a rule that does not resolve, and when no
    cell has a search with an oracle trial.
    """
    from bayestune.bench.searches import SEARCHES_DIR, stored_searches
    from bayestune.tuning.selection import resolve_rule

    rules = list(dict.fromkeys(rules))
    for rule in rules:
        resolve_rule(rule, "--selection")
    root = Path(results_dir)
    if not root.is_dir():
        raise BayestuneError("results dir not found", str(root))
    if not (root / "cells").is_dir() and not (root / SEARCHES_DIR).is_dir():
        raise BayestuneError(f"no cells/ or {SEARCHES_DIR}/ here: replay needs the --out dir of a suite run, or a "
                             f"results folder that kept its {SEARCHES_DIR}/ (a results.json alone keeps only the "
                             "choices)", str(root))
    found = stored_searches(root, methodology)
    rows = [r for r in (cell_choices(folder, rules, key) for key, folder in found.items()) if r is not None]
    if not rows:
        where = str(root) + (f" (methodology {methodology!r})" if methodology else "")
        raise BayestuneError("no finished cell with a stored search and an oracle trial", where)
    return rows, summarise(rows, rules)
