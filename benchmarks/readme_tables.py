"""The README's tables of measured suites, made from the stored results files, never by hand.

A table in the README sits between two markers naming its kind and its file::

    <!-- table: methodologies benchmarks/baselines/quick.json -->
    ... (generated) ...
    <!-- end table -->

Kinds:

``methodologies FILE``
    One row per methodology of a suite's ``results.json``, over every cell it finished
    (all scenarios and seeds together): the summary's columns, mean ± standard error.
``catch FILE``
    The planted mutants' catch and false-alarm rates and the table of which judges flagged
    each (:mod:`bayestune.bench.catch`), as the suite's ``summary.md`` has them.
``objective DIR``
    What each validation scheme of a results folder buys (weeks scored, cost and sharpness
    per trial, truth figures, tests against the reference): ``benchmarks/objective_report.py``
    on ``DIR``, which must keep its ``searches/``.

``python benchmarks/readme_tables.py`` rewrites every block of ``README.md`` from its file;
``--check`` changes nothing and exits 1 when a block is out of date (``tests/test_readme_tables.py``
runs it, so a changed baseline without regenerated tables fails the tests).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- table: (\w+) (\S+) -->\n)(.*?)(<!-- end table -->)", re.S)


def methodology_table(payload: dict[str, Any]) -> list[str]:
    """Per methodology, over all its finished cells: the summary's columns."""
    from bayestune.bench.cell import COUNTS, QUALITY, RUNTIME
    from bayestune.bench.results import summarise
    from bayestune.bench.summary import COLUMNS, fmt

    methods: dict[str, list[dict[str, Any]]] = {}
    for c in payload["cells"]:
        methods.setdefault(c["cell"]["methodology"], []).append(c)
    head = ["methodology", "cells", *(c[1] for c in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, cells in methods.items():
        ok = [c for c in cells if c["status"] == "ok"]
        stats = {m: summarise([c["metrics"].get(m) for c in ok]) for m in (*QUALITY, *RUNTIME, *COUNTS)}
        count = f"{len(ok)}" + (f" ({len(cells) - len(ok)} failed)" if len(ok) < len(cells) else "")
        lines.append("| " + " | ".join([name, count, *(fmt(stats.get(m, {}), kind, scale)
                                                         for m, _, kind, scale in COLUMNS)]) + " |")
    return lines


def catch_table(payload: dict[str, Any]) -> list[str]:
    """The summary's "Planted mutants" section without its heading and figure."""
    from bayestune.bench.catch import catch_matrix, resampled_false_alarms, to_markdown

    rules = payload["suite"].get("compare") or {}
    alpha, power = float(rules.get("alpha", 0.05)), float(rules.get("power", 0.8))
    caught = catch_matrix(payload, alpha=alpha, power=power)
    if not caught:
        raise SystemExit("readme_tables: the results hold no planted mutants")
    null = resampled_false_alarms(payload, alpha=alpha, power=power)
    lines = to_markdown(caught, payload, alpha=alpha, figure=None, null=null)[2:]  # without its heading
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def objective_table(folder: Path) -> list[str]:
    """``objective_report.py``'s table of a results folder."""
    spec = importlib.util.spec_from_file_location("objective_report", Path(__file__).with_name("objective_report.py"))
    assert spec is not None and spec.loader is not None
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    return report.markdown(report.report(folder)).split("\n")


def _results_file(table: Any) -> Any:
    return lambda path: table(json.loads(path.read_text()))


KINDS = {"methodologies": _results_file(methodology_table), "catch": _results_file(catch_table),
         "objective": objective_table}


def render(readme: str, root: Path = ROOT) -> str:
    """``readme`` with every table block regenerated from its file."""
    def block(m: re.Match[str]) -> str:
        kind, file = m.group(2), m.group(3)
        if kind not in KINDS:
            raise SystemExit(f"readme_tables: unknown table kind {kind!r} (known: {', '.join(KINDS)})")
        return m.group(1) + "\n".join(KINDS[kind](root / file)) + "\n" + m.group(5)

    return BLOCK.sub(block, readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a table is out of date")
    args = parser.parse_args(argv)
    path = ROOT / "README.md"
    old = path.read_text()
    new = render(old)
    if args.check:
        if new != old:
            print("README.md: a table is out of date; run python benchmarks/readme_tables.py", file=sys.stderr)
            return 1
        return 0
    if new != old:
        path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
