"""Run a suite and summarise it: ``results.json`` (``bayestune.bench/1``) and ``summary.md``
(with ``figures/paired_differences.png``, :mod:`bayestune.bench.summary`), and keep each
finished cell's search under ``searches/`` (:mod:`bayestune.bench.searches`).

A group is one scenario and one methodology over the suite's seeds. Each figure of a group
is the mean over its seeds with the standard deviation and the standard error of the mean
(``sd / sqrt(n)``): the replicate seeds are the noise band that ``bench compare`` uses.
Both files are rewritten after every cell, so a stopped suite keeps what it finished, and
running it again runs only what is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bayestune import __version__
from bayestune.bench.cell import COUNTS, QUALITY, RUNTIME, cell_identity, cell_key, read_done, run_cell
from bayestune.bench.executor import Executor, InProcess, split_done
from bayestune.bench.searches import has_search, keep_search, search_dir
from bayestune.bench.shared import plan, release, split_waiting
from bayestune.bench.suite import Suite
from bayestune.fileio import write_atomic

RESULTS_SCHEMA = "bayestune.bench/1"
RESULTS_FILE = "results.json"


def machine() -> dict[str, Any]:
    """What the runtimes were measured on; runtimes compare only on the same machine."""
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "python": platform.python_version()}


def summarise(values: list[float | None]) -> dict[str, Any]:
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    n = len(v)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "se": None}
    mean = sum(v) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1)) if n > 1 else None
    return {"n": n, "mean": mean, "sd": sd, "se": sd / math.sqrt(n) if sd is not None else None}


def group_results(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in cells:
        groups.setdefault((Path(c["cell"]["scenario"]).stem, c["cell"]["methodology"]), []).append(c)
    out = []
    for (scenario, method), members in groups.items():
        ok = [c for c in members if c["status"] == "ok"]
        figures = {name: summarise([c["metrics"].get(name) for c in ok]) for name in (*QUALITY, *RUNTIME, *COUNTS)}
        out.append({"scenario": scenario, "regime": members[0].get("regime"), "methodology": method, "cells": len(members),
                    "failed": len(members) - len(ok), "seeds": sorted(c["cell"]["seed"] for c in ok),
                    "metrics": figures})
    return out


def results_payload(suite: Suite, cells: list[dict[str, Any]], executor: str, started: str) -> dict[str, Any]:
    from bayestune.bench.regimes import with_regimes

    cells = with_regimes(sorted(cells, key=lambda c: c["key"]))
    return {
        "schema": RESULTS_SCHEMA,
        "bayestune": __version__,
        "suite": suite.to_dict(),
        "executor": executor,
        "machine": machine(),
        "started": started,
        "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "definitions": {k: {"better": d, "what": w} for k, (d, w) in QUALITY.items()}
        | {k: {"better": "lower", "what": w} for k, w in RUNTIME.items() if k != "ess_per_second"}
        | {"ess_per_second": {"better": "higher", "what": RUNTIME["ess_per_second"]}},
        "cells": [{k: v for k, v in c.items() if k != "traceback"} | {"dir": f"cells/{c['key']}"} for c in cells],
        "groups": group_results(cells),
    }


def _line(result: dict[str, Any]) -> str:
    if result["status"] != "ok":
        return f"FAILED: {result.get('error', '?')}"
    m, ch = result["metrics"], result.get("chosen") or {}
    parts = [f"chose Fourier {ch.get('yearly_seasonality')}, l_max {ch.get('l_max')}"]
    if m.get("kernel_l1_max") is not None:
        parts.append(f"kernel L1 {m['kernel_l1_max']:.2f}")
    if m.get("regret") is not None:
        parts.append(f"regret z {m['regret_z']:+.1f}")
    if m.get("final_regret") is not None:
        parts.append(f"honest regret z {m['final_regret_z']:+.1f}")
    shared = f"; the search of {result['search_shared_from']}" if result.get("search_shared_from") else ""
    return "; ".join(parts) + f" ({(result.get('seconds') or 0) / 60:.1f} min{shared})"


def run_suite(
    suite: Suite,
    out: str | Path,
    executor: Executor | None = None,
    *,
    seeds: tuple[int, ...] | None = None,
    methodologies: tuple[str, ...] | None = None,
    progress: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Run every cell of ``suite`` not already done in ``out``; write and return the results."""
    out = Path(out)
    # bad names fail before anything is written; cells of one search share it (bench.shared)
    cells = plan([c.to_dict() for c in suite.cells(seeds, methodologies)])
    out.mkdir(parents=True, exist_ok=True)
    executor = executor or InProcess()
    say = progress or (lambda _line: None)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    try:  # a resumed suite keeps the time it first started
        started = json.loads((out / RESULTS_FILE).read_text()).get("started") or started
    except (OSError, ValueError):
        pass
    done, todo = split_done(cells, partial(read_done, out))
    results: dict[str, dict[str, Any]] = {result["key"]: result for _, result in done}
    for key in results:  # a run from before searches were kept gets them now, without a fit
        if not has_search(search_dir(out, key)):
            keep_search(out, key)
    total = len(cells)
    say(f"suite {suite.name!r}: {total} cells ({len(results)} already done), {executor.name}; results in {out}")

    def write() -> dict[str, Any]:
        payload = results_payload(suite, list(results.values()), executor.name, started)
        write_atomic(out / RESULTS_FILE, json.dumps(payload, indent=2) + "\n")
        from bayestune.bench.summary import write_summary

        write_summary(payload, out)
        return payload

    payload = write()
    # a cell that reuses another's search starts as soon as that cell is done (bench.shared)
    now, waiting = split_waiting(todo, set(results))
    for cell, result in executor.map_unordered(partial(run_cell, root=str(out)), now,
                                               then=lambda cell, _result: release(waiting, cell)):
        key = cell_key(cell)  # a result the executor lost carries neither key nor cell
        result.setdefault("key", key)
        result.setdefault("cell", cell_identity(cell))
        result.setdefault("seconds", None)
        results[key] = result
        if result["status"] == "ok":
            keep_search(out, key)
        say(f"[{len(results)}/{total}] {key}: {_line(result)}")
        payload = write()
    return payload


def load_results(path: str | Path) -> dict[str, Any]:
    """Read a results JSON (a file, or a suite output dir holding ``results.json``)."""
    from bayestune.errors import BayestuneError

    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_FILE
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BayestuneError("results file not found", str(p)) from None
    except (OSError, ValueError) as exc:
        raise BayestuneError(f"not a readable results JSON: {exc}", str(p)) from None
    if not isinstance(data, dict) or data.get("schema") != RESULTS_SCHEMA:
        raise BayestuneError(f"not a bench results file (schema is not {RESULTS_SCHEMA})", str(p))
    return data


def folder_report_main(argv: list[str] | None, *, prog: str, description: str,
                       rows: Callable[[Path, argparse.Namespace], list[dict[str, Any]]],
                       markdown: Callable[[list[dict[str, Any]], argparse.Namespace], str],
                       arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> int:
    """The command line of a script that reports on a suite's results folder (the scripts of
    ``benchmarks/`` that read a run: ``cell_costs.py``, ``objective_report.py``, ...):
    ``prog RESULTS_DIR [--markdown] [its own arguments]``, JSON lines by default, a Markdown
    table with ``--markdown``; a folder without ``results.json``, or no rows, is one line on
    stderr and exit status 2."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--markdown", action="store_true", help="a Markdown table instead of JSON lines")
    if arguments is not None:
        arguments(parser)
    args = parser.parse_args(argv)
    if not (args.results_dir / RESULTS_FILE).is_file():
        print(f"{prog}: error: no {RESULTS_FILE} in {args.results_dir}", file=sys.stderr)
        return 2
    try:
        found = rows(args.results_dir, args)
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print(markdown(found, args) if args.markdown else "\n".join(json.dumps(r) for r in found))
    return 0
