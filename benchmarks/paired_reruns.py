"""Two methodologies run with the same study seeds, compared run by run.

    python benchmarks/paired_reruns.py RESULTS_DIR --base default --new retry [--markdown]

A suite such as ``benchmarks/suites/retries.toml`` runs methodology ``B`` and ``N`` on the same
datasets with the same study seeds: ``B`` beside ``N``, ``B-rerun1`` beside ``N-rerun1``, and so
on. Where the two differ only after a point (a gate retry changes nothing until a fit fails),
pairing by study seed as well as by dataset removes the rest. Per pair, from the files the run
wrote: the choice, the trials the search gate pruned, the fits made (gate retries included) and
the honest regret z and worst kernel L1; then, over the pairs, paired t-tests of those figures
(:func:`bayestune.bench.paired.paired_test`, two-sided, 95% intervals).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path
from typing import Any

from bayestune.bench.paired import paired_test
from bayestune.bench.results import folder_report_main
from bayestune.bench.searches import has_search, stored_searches

FIGURES = (("gate_pruned", "lower"), ("fits", "lower"), ("final_regret_z", "lower"), ("kernel_l1_max", "lower"),
           ("exact_yearly_seasonality", "higher"))


def _run(base: str, name: str) -> int | None:
    """0 for ``base`` itself, k for ``base-rerunk``, None for another methodology."""
    if name == base:
        return 0
    match = re.fullmatch(re.escape(base) + r"-rerun(\d+)", name)
    return int(match[1]) if match else None


def _figures(cell: dict[str, Any], searches: dict[str, Path]) -> dict[str, Any]:
    trials: list[dict[str, str]] = []
    folder = searches.get(cell["key"])
    if folder is not None and has_search(folder):
        with (folder / "run" / "trials.csv").open(newline="") as handle:
            trials = list(csv.DictReader(handle))
    metrics = cell.get("metrics") or {}
    chosen = cell.get("chosen") or {}
    return {
        "chosen": f"{chosen.get('yearly_seasonality')}/{chosen.get('l_max')}" if chosen else None,
        "gate_pruned": sum("convergence gate" in (t.get("pruned_reason") or "") for t in trials),
        "fits": sum(int(t["fits"] or 0) for t in trials),
        **{name: metrics.get(name) for name, _ in FIGURES[2:]},
    }


def pairs(results_dir: Path, base: str, new: str) -> list[dict[str, Any]]:
    """One row per (dataset, run) that both methodologies finished."""
    payload = json.loads((results_dir / "results.json").read_text())
    searches = stored_searches(results_dir)
    sides: dict[str, dict[tuple[str, int, int], dict[str, Any]]] = {base: {}, new: {}}
    for cell in payload["cells"]:
        if cell["status"] != "ok":
            continue
        for side in sides:
            run = _run(side, cell["cell"]["methodology"])
            if run is not None:
                sides[side][(Path(cell["cell"]["scenario"]).stem, int(cell["cell"]["seed"]), run)] = cell
    rows = []
    for key in sorted(set(sides[base]) & set(sides[new])):
        rows.append({"dataset": f"{key[0]}/seed{key[1]}", "run": key[2],
                     "base": _figures(sides[base][key], searches), "new": _figures(sides[new][key], searches)})
    return rows


def tests(rows: list[dict[str, Any]]) -> list[Any]:
    return [paired_test(name, better, [r["base"][name] for r in rows], [r["new"][name] for r in rows],
                        alpha=0.05, power=0.8) for name, better in FIGURES]


def markdown(rows: list[dict[str, Any]], base: str, new: str) -> str:
    lines = [f"| dataset | run | {base}: chosen | gate-pruned | fits | honest regret z | kernel L1 | "
             f"{new}: chosen | gate-pruned | fits | honest regret z | kernel L1 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cols = [r["dataset"], str(r["run"])]
        for side in ("base", "new"):
            f = r[side]
            cols += [str(f["chosen"]), str(f["gate_pruned"]), str(f["fits"]),
                     "-" if f["final_regret_z"] is None else f"{f['final_regret_z']:+.2f}",
                     "-" if f["kernel_l1_max"] is None else f"{f['kernel_l1_max']:.3f}"]
        lines.append("| " + " | ".join(cols) + " |")
    lines += ["", f"| {new} − {base} | pairs | base mean | new mean | mean diff | 95% interval | p (t) |",
              "|---|---|---|---|---|---|---|"]
    for t in tests(rows):
        if not t.judged:
            lines.append(f"| {t.metric} | {t.n} | - | - | - | - | - |")
            continue
        lines.append(f"| {t.metric} | {t.n} | {t.base_mean:.3g} | {t.new_mean:.3g} | {t.mean:+.3g} | "
                     f"[{t.low:+.3g}, {t.high:+.3g}] | {t.p_t:.3f} |")
    return "\n".join(lines)


def _rows(folder: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = pairs(folder, args.base, args.new)
    if not rows:
        raise ValueError(f"no dataset where both {args.base!r} and {args.new!r} finished a run")
    return rows


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="default")
    parser.add_argument("--new", required=True)


def main(argv: list[str] | None = None) -> int:
    return folder_report_main(argv, prog="paired_reruns.py", description=__doc__.splitlines()[0], rows=_rows,
                              markdown=lambda rows, args: markdown(rows, args.base, args.new), arguments=_arguments)


if __name__ == "__main__":
    raise SystemExit(main())
