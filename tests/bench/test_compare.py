"""`bayestune bench compare`: noise bands from replicate seeds, runtime tolerance, exit status."""

from __future__ import annotations

import json

import pytest

from bayestune.bench.compare import compare, quality_change
from bayestune.bench.results import group_results, summarise
from bayestune.cli import main
from tests.bench.payloads import baseline, cell, degraded, payload


def _changes(base, new, **kw):
    changes, notes = compare(base, new, noise_z=kw.get("z", 2.0), runtime_tolerance=kw.get("tol", 1.5))
    return {(c.group, c.metric): c for c in changes}, notes


def test_summarise_mean_sd_and_standard_error():
    s = summarise([1.0, 2.0, 3.0, None])
    assert s["n"] == 3 and s["mean"] == pytest.approx(2.0)
    assert s["sd"] == pytest.approx(1.0) and s["se"] == pytest.approx(1 / 3 ** 0.5)
    assert summarise([5.0])["se"] is None and summarise([])["mean"] is None


def test_the_baseline_against_itself_has_nothing_worse():
    changes, notes = _changes(baseline(), baseline())
    assert notes == []
    assert not [c for c in changes.values() if c.verdict in ("worse", "better")]


def test_a_worsening_beyond_the_noise_band_is_worse_and_within_it_is_not():
    base = baseline()
    # kernel L1 over seeds 0.10, 0.11, 0.12: se = 0.00577; band for two such = 2 * 0.00816 = 0.0163
    big, _ = _changes(base, degraded(base, kernel_l1_max=0.05))
    small, _ = _changes(base, degraded(base, kernel_l1_max=0.01))
    key = ("quickstart · default", "kernel_l1_max")
    assert big[key].verdict == "worse" and "noise band" in big[key].detail
    assert small[key].verdict == "same"
    better, _ = _changes(base, degraded(base, kernel_l1_max=-0.05))
    assert better[key].verdict == "better"
    # the other methodology was not touched
    assert big[("quickstart · seed-recipe", "kernel_l1_max")].verdict == "same"


def test_direction_higher_is_better_for_rates():
    ch = quality_change("g", "roas_coverage", {"mean": 1.0, "se": 0.0}, {"mean": 0.5, "se": 0.1}, 2.0)
    assert ch.verdict == "worse"
    ch = quality_change("g", "roas_coverage", {"mean": 0.5, "se": 0.0}, {"mean": 1.0, "se": 0.1}, 2.0)
    assert ch.verdict == "better"


def test_one_seed_means_no_noise_band_so_quality_is_not_judged():
    one = payload([cell(0)])
    worse = payload([cell(0, kernel_l1_max=1.5)])
    changes, _ = _changes(one, worse)
    assert changes[("quickstart · default", "kernel_l1_max")].verdict == "not judged"


def test_runtime_tolerance_and_different_machines():
    base = baseline()
    slow = degraded(base, seconds_per_trial=2.0)
    changes, _ = _changes(base, slow, tol=1.5)
    assert changes[("quickstart · default", "seconds_per_trial")].verdict == "worse"
    changes, _ = _changes(base, slow, tol=2.5)
    assert changes[("quickstart · default", "seconds_per_trial")].verdict == "same"
    slow["machine"]["cores"] = 64
    changes, notes = _changes(base, slow, tol=1.5)
    assert changes[("quickstart · default", "seconds_per_trial")].verdict == "not judged"
    assert any("different machines" in n for n in notes)
    slow["machine"]["cores"] = base["machine"]["cores"]
    slow["executor"] = "process pool (2 workers)"
    changes, _ = _changes(base, slow, tol=1.5)
    assert changes[("quickstart · default", "seconds_per_trial")].verdict == "not judged"


def test_more_failed_cells_is_worse_and_missing_groups_are_noted():
    base = baseline()
    new = json.loads(json.dumps(base))
    new["cells"][0] = {**new["cells"][0], "status": "failed", "error": "boom"}
    new["cells"] = [c for c in new["cells"] if c["cell"]["methodology"] != "seed-recipe"]
    new["groups"] = group_results(new["cells"])
    changes, notes = _changes(base, new)
    assert changes[("quickstart · default", "failed_cells")].verdict == "worse"
    assert any("only in BASE" in n for n in notes)


def test_cli_exits_zero_on_itself_and_one_on_a_degraded_copy(tmp_path, capsys):
    base = baseline()
    (tmp_path / "base.json").write_text(json.dumps(base))
    # shifts with some spread over the 3 cells (a shift alike in every cell cannot be a finding on 3)
    (tmp_path / "bad.json").write_text(json.dumps(degraded(base, regret=(40.0, 40.5, 41.0),
                                                           kernel_l1_max=(0.3, 0.301, 0.302))))
    assert main(["bench", "compare", str(tmp_path / "base.json"), str(tmp_path / "base.json")]) == 0
    assert "0 worse" in capsys.readouterr().out
    assert main(["bench", "compare", str(tmp_path / "base.json"), str(tmp_path / "bad.json")]) == 1
    out = capsys.readouterr().out
    assert "WORSE" in out and "regret" in out and "kernel_l1_max" in out


def test_the_stored_quick_baseline_fails_against_a_degraded_copy(tmp_path, capsys):
    from pathlib import Path

    stored = Path(__file__).parents[2] / "benchmarks" / "baselines" / "quick.json"
    base = json.loads(stored.read_text())
    datasets = {(c["cell"]["scenario"], c["cell"]["seed"]) for c in base["cells"]}
    assert base["suite"]["name"] == "quick" and len(datasets) >= 2
    assert main(["bench", "compare", str(stored), str(stored)]) == 0
    methods = {g["methodology"] for g in base["groups"]}
    bad = base
    for m in methods:
        n = sum(c["cell"]["methodology"] == m for c in base["cells"])  # a shift with spread, one per cell
        bad = degraded(bad, m, kernel_l1_max=tuple(0.5 + 0.001 * k for k in range(n)),
                       regret_z=tuple(5.0 + 0.01 * k for k in range(n)))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    capsys.readouterr()
    assert main(["bench", "compare", str(stored), str(tmp_path / "bad.json")]) == 1
    assert "WORSE" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable results JSON"),
    ('{"schema": "other"}', "not a bench results file"),
])
def test_bad_results_files_are_one_line_errors(tmp_path, capsys, content, message):
    (tmp_path / "r.json").write_text(content)
    assert main(["bench", "compare", str(tmp_path / "r.json"), str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bayestune: error: ") and message in err and err.count("\n") == 1


def test_missing_results_file(tmp_path, capsys):
    assert main(["bench", "compare", str(tmp_path / "nope.json"), str(tmp_path / "nope.json")]) == 2
    assert "results file not found" in capsys.readouterr().err
