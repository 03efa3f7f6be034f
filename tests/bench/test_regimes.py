"""Results by regime: cells carry their scenario's regime, summary.md pools figures by regime."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from bayestune.bench.regimes import UNLABELLED, regime_contrasts, regime_section, with_regimes
from bayestune.bench.results import group_results
from bayestune.bench.suite import load_suite
from bayestune.bench.summary import to_markdown
from bayestune.errors import BayestuneError

from tests.bench.payloads import cell, payload


def _regimes_payload() -> dict:
    """Two regimes of 3 seeds each; the seed recipe's worst kernel L1 is 0.3 worse in the long-memory one only."""
    cells = []
    for s in (0, 1, 2):
        cells.append(cell(s, scenario="worlds-identifiable"))
        cells.append(cell(s, "seed-recipe", scenario="worlds-identifiable"))
        cells.append(cell(s, scenario="worlds-long-memory", kernel_l1_max=0.20 + 0.01 * s, exact_l_max=0.0))
        cells.append(cell(s, "seed-recipe", scenario="worlds-long-memory", kernel_l1_max=0.50 + 0.02 * s,
                          exact_l_max=0.0))
    cells = with_regimes(cells)
    p = payload(cells)
    p["suite"]["methodology"] = {"default": {"description": "d"}, "seed-recipe": {"reference": True}}
    return p


def test_cells_and_groups_carry_their_scenarios_regime():
    cells = with_regimes([cell(0, scenario="worlds-collinear"), cell(0, scenario="quickstart"),
                          cell(0, scenario="/gone/away.toml") | {"regime": "kept"},
                          cell(0, scenario="/gone/too.toml")])
    assert [c["regime"] for c in cells] == ["collinear spend", "identifiable", "kept", UNLABELLED]
    groups = {g["scenario"]: g["regime"] for g in group_results(cells)}
    assert groups["worlds-collinear"] == "collinear spend" and groups["quickstart"] == "identifiable"


def test_summary_reports_each_regime_and_methodology_and_keeps_the_other_tables():
    p = _regimes_payload()
    md = to_markdown(p)
    for section in ("## Over the suite", "## Paired differences", "## By regime", "## Cells"):
        assert section in md
    assert md.index("## Paired differences") < md.index("## By regime") < md.index("## Cells")
    by_regime = md[md.index("## By regime"):md.index("## Cells")]
    row = next(line for line in by_regime.splitlines() if line.startswith("| long memory | seed-recipe |"))
    cols = [c.strip() for c in row.strip("|").split("|")]
    assert cols[2] == "3"  # cells
    assert cols[3] == "3/3" and cols[4] == "0/3"  # Fourier exact, l_max exact: counts of cells
    assert cols[5] == "0.52 ± 0.01"  # kernel L1: mean of 0.50, 0.52, 0.54 and its standard error
    assert "| identifiable | default | 3 |" in by_regime


def test_paired_differences_per_regime_find_the_regime_where_a_methodology_differs():
    p = _regimes_payload()
    contrasts = {(r, new, base): tests for r, new, base, _, tests in regime_contrasts(p, alpha=0.05, power=0.8)}
    assert set(contrasts) == {("identifiable", "default", "seed-recipe"), ("long memory", "default", "seed-recipe")}
    l1 = {r: next(t for t in tests if t.metric == "kernel_l1_max") for (r, *_), tests in contrasts.items()}
    assert l1["long memory"].mean == pytest.approx(-0.31)
    assert l1["long memory"].verdict == "better"
    assert l1["identifiable"].verdict == "same" and l1["identifiable"].mean == 0
    md = "\n".join(regime_section(p))
    assert re.search(r"\| long memory \| default − seed-recipe \| kernel_l1_max \| lower \| 3 \| -0\.31 \|.*\*\*better\*\*", md)


def test_a_regime_with_one_cell_has_figures_but_no_paired_differences():
    cells = with_regimes([cell(0, scenario=s) for s in ("worlds-short", "worlds-collinear")]
                         + [cell(0, "other", scenario=s) for s in ("worlds-short", "worlds-collinear")])
    p = payload(cells)
    assert regime_contrasts(p, alpha=0.05, power=0.8) == []
    md = "\n".join(regime_section(p))
    assert "| short data | default | 1 |" in md and "| collinear spend | other | 1 |" in md
    assert "Paired differences NEW − BASE per regime" not in md


def test_a_suite_of_one_regime_has_no_by_regime_section():
    p = payload(with_regimes([cell(s, scenario="quickstart") for s in (0, 1)]
                             + [cell(s, scenario="recovery") for s in (0, 1)]))
    assert regime_section(p) == []
    assert "## By regime" not in to_markdown(p) and "## Over the suite" in to_markdown(p)


def test_the_regimes_suite_loads_and_drawn_weeks_that_leave_no_room_name_the_seed(tmp_path):
    suite = load_suite("regimes")
    assert len(suite.cells()) == 6 * 3 * 2
    short = resources.files("bayestune.simulator.presets").joinpath("worlds-short.toml").read_text()
    (tmp_path / "tight.toml").write_text(short.replace("weeks = { choice = [56, 60, 64] }",
                                                       "weeks = { choice = [40, 60] }"))
    suite_file = tmp_path / "s.toml"
    suite_file.write_text('[suite]\nname = "s"\nscenarios = ["tight.toml"]\nseeds = [0, 1, 2, 3, 4, 5]\n\n'
                          '[tuning]\nfinal = { test_weeks = 16 }\n\n[methodology.default]\n'
                          'tuning = { trials = 10, validation = "rolling", folds = 2, horizon = 8 }\n')
    with pytest.raises(BayestuneError, match=r"too few weeks: 40 weeks .*\(scenario 'tight', seed \d+: 40 weeks\)"):
        load_suite(suite_file)
