"""Suite files: lookup by name, validation, the cells they expand to, summaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayestune.bench.suite import find_suite, load_suite
from bayestune.bench.summary import to_markdown
from bayestune.cli import main
from bayestune.errors import BayestuneError
from tests.bench.payloads import baseline

ROOT = Path(__file__).parents[2]
SUITES = sorted(p.stem for p in (ROOT / "benchmarks" / "suites").glob("*.toml"))

GOOD = """
[suite]
name = "t"
scenarios = ["quickstart"]
seeds = [0, 1]
[tuning]
draws = 50
final = { test_weeks = 8, draws = 60 }
[methodology.a]
tuning = { trials = 2, final = { draws = 70 } }
[methodology.b]
reference = true
tuning = { trials = 3, validation = "tail", horizon = 12 }
[gate]
methodologies = ["a"]
max_kernel_l1 = 0.3
"""


def test_the_project_has_the_three_suites_and_each_loads():
    assert {"ci", "quick", "full"} <= set(SUITES)
    for name in SUITES:
        suite = load_suite(ROOT / "benchmarks" / "suites" / f"{name}.toml")
        assert suite.name == name
        assert any(m.reference for m in suite.methodologies.values()), "the seed recipe is in every suite"
        recipe = suite.methodologies["seed-recipe"].tuning
        assert recipe | {} == {"trials": 20, "validation": "tail", "horizon": 24, "draws": 500, "tune": 500, "chains": 2}


def test_the_quick_and_full_suites_pair_their_methodologies_over_several_datasets():
    """Paired statistics need cells: each methodology sees at least three datasets (a paired t with 2 df)."""
    for name in ("quick", "full"):
        info = load_suite(ROOT / "benchmarks" / "suites" / f"{name}.toml").spec.suite
        assert len(info.scenarios) * len(info.seeds) >= 3


def test_a_suite_expands_to_scenarios_x_seeds_x_methodologies(tmp_path):
    (tmp_path / "t.toml").write_text(GOOD)
    suite = load_suite(tmp_path / "t.toml")
    cells = suite.cells()
    assert [c.key for c in cells] == ["quickstart/seed0/a", "quickstart/seed0/b", "quickstart/seed1/a", "quickstart/seed1/b"]
    a = cells[0].tuning
    assert a["draws"] == 50 and a["trials"] == 2 and a["seed"] == 0 and a["quiet"] is True
    assert a["final"] == {"test_weeks": 8, "draws": 70}, "methodology keys merge over the shared [tuning]"
    assert [c.seed for c in suite.cells((5,))] == [5, 5]
    assert [c.key for c in suite.cells(methodologies=("b",))] == ["quickstart/seed0/b", "quickstart/seed1/b"]


def test_name_lookup_walks_up_from_the_working_directory(tmp_path):
    (tmp_path / "benchmarks" / "suites").mkdir(parents=True)
    (tmp_path / "benchmarks" / "suites" / "t.toml").write_text(GOOD)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_suite("t", deep) == tmp_path / "benchmarks" / "suites" / "t.toml"
    with pytest.raises(BayestuneError, match="no suite named 'nope'; known suites: t"):
        find_suite("nope", deep)


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace('seeds = [0, 1]', 'seeds = [0, 0]'), "seeds must be distinct"),
    (lambda s: s.replace('"quickstart"', '"nowhere"'), "unknown preset 'nowhere'"),
    (lambda s: s.replace('"quickstart"', '"missing.toml"'), "scenario file not found"),
    (lambda s: s.replace('trials = 2', 'trials = 0'), "methodology.a"),
    (lambda s: s.replace('trials = 2', 'trails = 2'), "unknown key 'trails'"),
    (lambda s: s.replace('methodologies = ["a"]', 'methodologies = ["c"]'), "unknown methodology 'c'"),
    (lambda s: s.replace('max_kernel_l1 = 0.3', 'max_kernel_l1 = -1'), "gate.max_kernel_l1"),
    (lambda s: s + "\n[[oops", "not valid TOML"),
])
def test_bad_suites_are_one_line_errors(tmp_path, capsys, edit, message):
    (tmp_path / "t.toml").write_text(edit(GOOD))
    assert main(["bench", "--suite", str(tmp_path / "t.toml"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bayestune: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists(), "nothing runs before the suite is valid"


def test_bad_flags(tmp_path, capsys):
    (tmp_path / "t.toml").write_text(GOOD)
    assert main(["bench", "--suite", str(tmp_path / "t.toml"), "--seeds", "a,b"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["bench", "--suite", str(tmp_path / "t.toml"), "--workers", "2", "--scheduler", "tcp://x:1"]) == 2
    assert "not allowed with" in capsys.readouterr().err
    assert main(["bench", "--suite", "no-such-suite"]) == 2
    assert "no suite named" in capsys.readouterr().err
    out = tmp_path / "out"
    assert main(["bench", "--suite", str(tmp_path / "t.toml"), "--methodologies", "a,z", "--out", str(out)]) == 2
    assert "the suite has no methodology 'z' (it has: a, b) (--methodologies)" in capsys.readouterr().err
    assert not out.exists()


def test_summary_tables_show_rates_means_and_failures():
    base = baseline()
    base["cells"].append({"key": "quickstart/seed3/default", "status": "failed", "error": "RuntimeError: boom",
                          "cell": {"scenario": "quickstart", "seed": 3, "methodology": "default", "tuning": {}}})
    from bayestune.bench.results import group_results

    base["groups"] = group_results(base["cells"])
    md = to_markdown(base)
    assert "| quickstart · default | 3 (1 failed) | 3/3 | 3/3 | 0.11 ± 0.01 |" in md
    assert "| quickstart/seed3/default | failed: RuntimeError: boom |" in md
    assert "| quickstart · seed-recipe | 3 |" in md
