"""`bayestune gate`: thresholds on the suite means; a missing figure fails; exit status."""

from __future__ import annotations

import json

from bayestune.bench.cell import CELL_FILE, cell_dir, cell_identity, cell_key, cell_metrics, read_done
from bayestune.bench.gate import gate_checks
from bayestune.bench.suite import GateRules
from bayestune.cli import main
from tests.bench.payloads import baseline, degraded

RULES = GateRules(methodologies=("default",), max_kernel_l1=0.3, max_regret_z=1.96,
                  min_roas_coverage=0.5, max_gap_ratio=2.0, min_exact_rate={"l_max": 0.5})


def _failed(payload, rules=RULES):
    return {(c.group, c.rule) for c in gate_checks(payload, rules) if not c.passed}


def test_a_good_result_passes_every_check():
    checks = gate_checks(baseline(), RULES)
    assert len(checks) == 6 and all(c.passed for c in checks)


def test_each_threshold_can_fail():
    base = baseline()
    g = "quickstart · default"
    assert _failed(degraded(base, kernel_l1_max=0.5)) == {(g, "max_kernel_l1")}
    assert _failed(degraded(base, regret_z=3.0)) == {(g, "max_regret_z")}
    assert _failed(degraded(base, roas_coverage=-0.8)) == {(g, "min_roas_coverage")}
    assert _failed(degraded(base, gap_ratio=2.0)) == {(g, "max_gap_ratio")}
    assert _failed(degraded(base, exact_l_max=-1.0)) == {(g, "min_exact_rate.l_max")}


def test_the_reference_methodology_is_not_gated_unless_named():
    base = degraded(baseline(), "seed-recipe", kernel_l1_max=5.0)
    assert _failed(base) == set()
    named = GateRules(methodologies=("default", "seed-recipe"), max_kernel_l1=0.3)
    assert _failed(base, named) == {("quickstart · seed-recipe", "max_kernel_l1")}


def test_a_figure_that_is_not_available_fails_and_so_do_failed_cells():
    base = baseline()
    for c in base["cells"]:
        c["metrics"]["roas_coverage"] = None
    base["cells"][0]["status"] = "failed"
    from bayestune.bench.results import group_results

    base["groups"] = group_results(base["cells"])
    failed = _failed(base)
    assert ("quickstart · default", "min_roas_coverage") in failed
    assert ("quickstart · default", "max_failed_cells") in failed
    missing = GateRules(methodologies=("absent",), max_kernel_l1=0.3)
    assert _failed(baseline(), missing) == {("absent", "has results")}


def test_gate_cli_on_stored_results(tmp_path, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text('[suite]\nname = "s"\nscenarios = ["quickstart"]\nseeds = [0]\n'
                     '[methodology.default]\n[gate]\nmax_kernel_l1 = 0.3\n')
    (tmp_path / "good.json").write_text(json.dumps(baseline()))
    (tmp_path / "bad.json").write_text(json.dumps(degraded(baseline(), kernel_l1_max=1.0)))
    assert main(["gate", "--suite", str(suite), "--results", str(tmp_path / "good.json")]) == 0
    assert "gate passed" in capsys.readouterr().out
    assert main(["gate", "--suite", str(suite), "--results", str(tmp_path / "bad.json")]) == 1
    captured = capsys.readouterr()
    assert "FAIL  quickstart · default: max_kernel_l1" in captured.out and "gate FAILED" in captured.err


def test_the_gate_checks_the_honest_regret():
    honest = GateRules(methodologies=("default",), max_final_regret_z=1.96, max_final_regret=50.0)
    g = "quickstart · default"
    assert _failed(baseline(), honest) == set()  # final_regret_z -0.4, 0, 0.4: mean 0
    assert _failed(degraded(baseline(), final_regret_z=2.0), honest) == {(g, "max_final_regret_z")}
    assert _failed(degraded(baseline(), final_regret=60.0), honest) == {(g, "max_final_regret")}
    # the search-fold regret, however good, does not stand in for the honest one
    blind = degraded(baseline(), regret_z=-5.0)
    for c in blind["cells"]:
        c["metrics"]["final_regret_z"] = None
    from bayestune.bench.results import group_results

    blind["groups"] = group_results(blind["cells"])
    assert (g, "max_final_regret_z") in _failed(blind, honest)


def test_a_cells_honest_regret_comes_from_the_reports_final_regret():
    report = {"truth": {"regret": {"regret": -96.0, "z": -3.1, "equivalent": False},
                        "final_regret": {"available": True, "regret": 12.5, "z": 0.8, "equivalent": True}}}
    m = cell_metrics(report)
    assert (m["regret"], m["regret_z"], m["final_regret"], m["final_regret_z"]) == (-96.0, -3.1, 12.5, 0.8)
    report["truth"]["final_regret"] = {"available": False, "reason": "an old run"}
    assert cell_metrics(report)["final_regret_z"] is None


def test_a_stored_cell_without_the_honest_regret_is_run_again(tmp_path):
    """A cell stored before the honest regret existed would fail the gate as 'not available'."""
    cell = {"scenario": "quickstart", "seed": 0, "methodology": "default", "tuning": {"seed": 0}}
    stored = {"status": "ok", "cell": cell_identity(cell), "metrics": cell_metrics({})}
    folder = cell_dir(tmp_path, cell_key(cell))
    folder.mkdir(parents=True)
    (folder / CELL_FILE).write_text(json.dumps(stored))
    assert read_done(tmp_path, cell) == stored
    del stored["metrics"]["final_regret_z"]
    (folder / CELL_FILE).write_text(json.dumps(stored))
    assert read_done(tmp_path, cell) is None


def test_a_stored_cell_is_reused_only_under_the_same_resolved_settings(tmp_path):
    """A default named or left to the tuner resolves alike; a stored cell whose resolved
    settings differ (a default changed since it ran) is run again."""
    cell = {"scenario": "quickstart", "seed": 0, "methodology": "default", "tuning": {"seed": 0}}
    named = cell | {"tuning": {"seed": 0, "gate": {"retries": 0}}}
    other = cell | {"tuning": {"seed": 0, "gate": {"retries": 1}}}
    assert cell_identity(cell)["settings"] == cell_identity(named)["settings"] != cell_identity(other)["settings"]
    stored = {"status": "ok", "cell": cell_identity(cell), "metrics": cell_metrics({})}
    folder = cell_dir(tmp_path, cell_key(cell))
    folder.mkdir(parents=True)
    (folder / CELL_FILE).write_text(json.dumps(stored))
    assert read_done(tmp_path, cell) == stored
    stored["cell"]["settings"] = cell_identity(other)["settings"]  # the same suite file, other defaults
    (folder / CELL_FILE).write_text(json.dumps(stored))
    assert read_done(tmp_path, cell) is None


def _with_planted(payload, mutant="random-choice", **worse):
    """``payload`` plus a planted mutant whose cells are the default's, ``worse`` added to their metrics."""
    import copy

    from bayestune.bench.results import group_results

    planted = [copy.deepcopy(c) for c in payload["cells"] if c["cell"]["methodology"] == "default"]
    for c in planted:
        c["cell"]["methodology"] = mutant
        c["key"] = c["key"].replace("/default", f"/{mutant}")
        for name, delta in worse.items():
            c["metrics"][name] += delta
    payload["cells"] += planted
    payload["groups"] = group_results(payload["cells"])
    payload["suite"].setdefault("methodology", {})[mutant] = {"mutant": mutant, "tuning": {}}
    return payload


def test_the_gate_says_when_it_passes_a_planted_mutant(tmp_path, capsys):
    """A gate that passes a random choice as it passes the default says little: a warning, or exit 1
    with --require-catch."""
    suite = tmp_path / "s.toml"
    suite.write_text('[suite]\nname = "s"\nscenarios = ["quickstart"]\nseeds = [0]\n'
                     '[methodology.default]\n[gate]\nmax_kernel_l1 = 0.3\n')
    (tmp_path / "caught.json").write_text(json.dumps(_with_planted(baseline(), kernel_l1_max=1.0)))
    (tmp_path / "blind.json").write_text(json.dumps(_with_planted(baseline())))
    assert main(["gate", "--suite", str(suite), "--results", str(tmp_path / "caught.json")]) == 0
    out = capsys.readouterr().out
    assert "planted random-choice: the gate fails it, as it must\n    FAIL  quickstart · random-choice: max_kernel_l1" in out
    assert main(["gate", "--suite", str(suite), "--results", str(tmp_path / "blind.json")]) == 0
    captured = capsys.readouterr()
    assert "planted random-choice: PASSES the gate" in captured.out
    assert "gate WARNING: it passes the planted mutant(s) random-choice" in captured.err
    assert main(["gate", "--suite", str(suite), "--results", str(tmp_path / "blind.json"), "--require-catch"]) == 1
    assert "gate FAILED: it passes the planted mutant(s) random-choice" in capsys.readouterr().err


def test_a_gate_check_the_default_fails_too_does_not_catch_a_mutant():
    """Where the default fails a check on a scenario, a mutant failing it there is not told apart by it."""
    from bayestune.bench.catch import catch_matrix

    payload = degraded(baseline(), kernel_l1_max=1.0)  # the default fails max_kernel_l1
    payload["suite"]["gate"] = {"methodologies": ["default"], "max_kernel_l1": 0.3, "max_gap_ratio": 2.0}
    same = catch_matrix(_with_planted(payload), alpha=0.05, power=0.8)
    (caught,) = same
    assert not caught.gate_failed and caught.gate_shared and not caught.flagged
    payload = degraded(baseline(), kernel_l1_max=1.0)
    payload["suite"]["gate"] = {"methodologies": ["default"], "max_kernel_l1": 0.3, "max_gap_ratio": 2.0}
    (caught,) = catch_matrix(_with_planted(payload, gap_ratio=5.0), alpha=0.05, power=0.8)
    assert [line.split(": ")[1].split(" ")[0] for line in caught.gate_failed] == ["max_gap_ratio"]
    assert caught.flagged


def test_the_gate_judges_a_mutants_draws_pooled(tmp_path, capsys):
    """One draw of a random choice that happens to pass, three that fail: pooled (Stouffer over
    the four honest regret z), the random-choice mutant fails the gate; alone the lucky draw passes."""
    suite = tmp_path / "s.toml"
    suite.write_text('[suite]\nname = "s"\nscenarios = ["quickstart"]\nseeds = [0]\n'
                     '[methodology.default]\n[gate]\nover = "suite"\nmax_final_regret_z = 2.6\n')
    payload = baseline()  # three seeds of the default; honest regret z -0.4, 0, +0.4
    payload = _with_planted(payload, "random-choice", final_regret_z=0.5)
    for k, shift in ((2, 2.0), (3, 2.2), (4, 1.8)):
        payload = _with_planted(payload, f"random-choice-draw{k}", final_regret_z=shift)
        payload["suite"]["methodology"][f"random-choice-draw{k}"]["mutant"] = "random-choice"
    (tmp_path / "r.json").write_text(json.dumps(payload))
    assert main(["gate", "--suite", str(suite), "--results", str(tmp_path / "r.json"), "--require-catch"]) == 0
    out = capsys.readouterr().out
    assert "planted random-choice (4 draws pooled): the gate fails it, as it must" in out
    assert "max_final_regret_z 5.63 <= 2.6" in out  # (1.5 + 6.0 + 6.6 + 5.4) / sqrt(12)
    lucky = _with_planted(baseline(), "random-choice", final_regret_z=0.5)  # (0.1 + 0.5 + 0.9) / sqrt(3)
    (tmp_path / "lucky.json").write_text(json.dumps(lucky))
    assert main(["gate", "--suite", str(suite), "--results", str(tmp_path / "lucky.json"), "--require-catch"]) == 1
    assert "planted random-choice: PASSES the gate" in capsys.readouterr().out
