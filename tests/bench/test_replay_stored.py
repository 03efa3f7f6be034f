"""bench replay on a stored suite run, no fit: the selection suite (``lowest`` and ``one-se`` on
six seeds, 2 cores) kept each cell's search, so its choices and its tables come back from them.

The two methodologies differ only in the rule: the same seed gives both the same TPE and MCMC
seeds, so both ran the same search. Replaying ``one-se`` on the ``lowest`` cells' searches must
therefore give what the ``one-se`` cells chose, and the committed tables must be replay's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bayestune.bench.replay import DEFAULT_RULES, replay, to_markdown

RESULTS = Path(__file__).parents[2] / "benchmarks" / "results"
STORED = RESULTS / "2026-11-23-selection-2cores"
BEFORE = RESULTS / "2026-11-22-selection-2cores"  # the same suite, run before searches were kept
RULES = ("lowest", "one-se")


@pytest.fixture(scope="module")
def stored():
    payload = json.loads((STORED / "results.json").read_text())
    chosen = {(c["cell"]["seed"], c["cell"]["methodology"]): c["chosen"] for c in payload["cells"]
              if c["status"] == "ok"}
    return payload, chosen


def _seed(row) -> int:
    return int(next(part for part in row["cell"].split("/") if part.startswith("seed"))[4:])


def test_both_methodologies_searched_the_same_trials(stored):
    payload, _ = stored
    seeds = sorted({c["cell"]["seed"] for c in payload["cells"]})
    assert len(seeds) == 6
    for seed in seeds:
        frames = [pd.read_csv(STORED / "searches" / "quickstart" / f"seed{seed}" / m / "run" / "trials.csv")
                  for m in RULES]
        columns = ["number", "state", "value", "yearly_seasonality", "l_max"]
        pd.testing.assert_frame_equal(frames[0][columns], frames[1][columns])


def test_replaying_each_rule_on_the_lowest_searches_gives_that_methodologys_choice(stored):
    _, chosen = stored
    rows, _ = replay(STORED, RULES, "lowest")
    assert len(rows) == 6
    differ = 0
    for row in rows:
        seed = _seed(row)
        for rule in RULES:
            got = (row[rule]["yearly_seasonality"], row[rule]["l_max"])
            want = (chosen[(seed, rule)]["yearly_seasonality"], chosen[(seed, rule)]["l_max"])
            assert got == want, f"seed {seed}, {rule}: replay chose {got}, the suite chose {want}"
        differ += (row["lowest"]["trial"] != row["one-se"]["trial"])
    assert differ >= 1, "the two rules choose alike on every seed: the check would be trivial"


def test_the_stored_tables_are_replays_output(stored):
    for methodology in RULES:
        rows, summary = replay(STORED, DEFAULT_RULES, methodology)
        assert to_markdown(rows, summary) == (STORED / f"selection_rules-{methodology}-searches.md").read_text()
        stored_json = json.loads((STORED / f"selection_rules-{methodology}-searches.json").read_text())
        assert stored_json == json.loads(json.dumps({"summary": summary, "cells": rows}))


def test_the_searches_reproduce_the_table_of_the_run_that_kept_none():
    """The earlier run of the same suite kept only its choices; the same seeds searched again
    give the same trials, so replay on the new searches prints the earlier run's table."""
    rows, summary = replay(STORED, DEFAULT_RULES, "lowest")
    assert to_markdown(rows, summary) == (BEFORE / "selection_rules-lowest-searches.md").read_text()
