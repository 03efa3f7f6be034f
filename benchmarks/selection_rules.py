"""The selection rules side by side on the same searches: ``lowest`` against ``one-se``.

``python benchmarks/selection_rules.py SUITE_OUT [--out DIR]`` is ``bayestune bench replay
SUITE_OUT`` (:mod:`bayestune.bench.replay`, the built-in rules) that also writes
``selection_rules.json`` and ``selection_rules.md`` into ``--out`` (default: SUITE_OUT).
SUITE_OUT is a suite's ``--out`` dir or a results folder that kept its ``searches/``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bayestune.bench.replay import DEFAULT_RULES, replay, to_markdown
from bayestune.errors import BayestuneError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite_out", type=Path, help="the --out dir of a suite run, or a results folder with searches/")
    parser.add_argument("--out", type=Path, help="where to write (default: SUITE_OUT)")
    parser.add_argument("--methodology", help="only this methodology's cells (e.g. one-se-replicated)")
    args = parser.parse_args(argv)
    try:
        rows, summary = replay(args.suite_out, DEFAULT_RULES, args.methodology)
    except BayestuneError as exc:
        parser.error(str(exc))
    out = args.out or args.suite_out
    out.mkdir(parents=True, exist_ok=True)
    (out / "selection_rules.json").write_text(json.dumps({"summary": summary, "cells": rows}, indent=2) + "\n")
    md = to_markdown(rows, summary)
    (out / "selection_rules.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
