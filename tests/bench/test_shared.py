"""Which cells of a suite share a search (:mod:`bayestune.bench.shared`), and in what order they run."""

from __future__ import annotations

from bayestune.bench.cell import cell_key
from bayestune.bench.shared import SHARES, plan, release, split_waiting
from bayestune.bench.suite import load_suite, with_mutants


def test_only_methodologies_that_differ_in_selection_share_the_defaults_search():
    suite = with_mutants(load_suite("quick"))
    cells = plan([c.to_dict() for c in suite.cells()])
    shares = {cell_key(c): c.get(SHARES) for c in cells}
    for scenario in ("worlds-identifiable", "worlds-long-memory", "worlds-rich-seasonality"):
        base = f"{scenario}/seed0/default"
        assert shares[base] is None
        assert shares[f"{scenario}/seed0/highest-score"] == base
        assert shares[f"{scenario}/seed0/most-complex"] == base
        # another trial count and sampler, scoring, fitter, space or study seed: a search of its own
        for own in ("seed-recipe", "random-choice", "in-sample", "no-carry-over", "space-without-truth",
                    "default-rerun1"):
            assert shares[f"{scenario}/seed0/{own}"] is None, own


def test_a_cell_waits_for_the_search_it_shares_unless_that_is_done_or_not_run():
    a = {"scenario": "s", "seed": 0, "methodology": "a", "tuning": {}}
    b = a | {"methodology": "b", SHARES: "s/seed0/a"}
    c = a | {"methodology": "c", SHARES: "s/seed0/a"}
    now, waiting = split_waiting([a, b, c], done=set())
    assert now == [a] and waiting == {"s/seed0/a": [b, c]}
    assert release(waiting, b) == [], "b's end starts nothing"
    assert release(waiting, a) == [b, c] and waiting == {}, "a's end starts both, once"
    assert release(waiting, a) == []
    assert split_waiting([b], done={"s/seed0/a"}) == ([b], {})
    assert split_waiting([b], done=set()) == ([b], {}), "a base outside the run: b runs its own search"


def test_a_failed_cells_error_names_its_files_within_the_suite_folder(tmp_path, monkeypatch):
    from bayestune.bench import cell as cell_module
    from bayestune.errors import BayestuneError

    def fail(cell, folder, root):
        raise BayestuneError("no trial completed", str(folder / "run" / "trials.csv"))

    monkeypatch.setattr(cell_module, "_pipeline", fail)
    a = {"scenario": "quickstart", "seed": 0, "methodology": "a", "tuning": {}}
    result = cell_module.run_cell(a, str(tmp_path))
    assert result["status"] == "failed" and str(tmp_path) not in result["error"]
    assert "cells/quickstart/seed0/a/run/trials.csv" in result["error"]
