"""Paired comparisons: planted shifts are found and no shift is not, cells pair by scenario and
seed in any order, a missing or failed cell is named and left out, the unpaired fallback says
so, Holm's adjustment, the exact sign-flip test, the summary's paired tables and forest plot."""

from __future__ import annotations

import copy
import json
import random

import numpy as np
import pytest

from bayestune.bench.compare import compare, compare_files
from bayestune.bench.paired import (
    holm, judge, pair_cells, paired_test, quality_metrics, sign_flip_p, suite_contrasts,
)
from bayestune.bench.results import group_results
from bayestune.bench.summary import FOREST_FILE, to_markdown, write_summary
from bayestune.cli import main
from tests.bench.payloads import cell, payload

SEEDS = range(8)


def _noisy(shift: float = 0.0, method: str = "default", noise_seed: int = 3) -> list[dict]:
    """Eight datasets whose kernel L1 spreads widely (sd ~0.1) from dataset to dataset; a
    methodology moves each by ``shift`` plus a little cell noise of its own."""
    spread = np.random.default_rng(1).normal(0.3, 0.1, len(SEEDS))
    own = np.random.default_rng(noise_seed).normal(0.0, 0.01, len(SEEDS))
    return [cell(s, method, kernel_l1_max=float(spread[s] + shift + own[s]),
                 roas_coverage=float(0.5 + (s % 2) * 0.5)) for s in SEEDS]


def _files(shift: float) -> tuple[dict, dict]:
    return payload(_noisy()), payload(_noisy(shift, noise_seed=2))


def _test(result, metric: str, method: str = "default"):
    return next(t for t in result.tests[method] if t.metric == metric)


def _cmp(base, new, alpha: float = 0.05):
    return compare_files(base, new, alpha=alpha, power=0.8, noise_z=2.0, runtime_tolerance=1.5)


def test_a_planted_shift_is_flagged_paired_where_two_independent_means_miss_it():
    base, new = _files(0.03)
    result = _cmp(base, new)
    t = _test(result, "kernel_l1_max")
    assert t.n == 8 and t.verdict == "worse" and t.p_holm < 0.05
    assert t.low < 0.03 < t.high and t.p_sign_flip == pytest.approx(2 / 2 ** 8)
    assert result.worse and "PAIRED" in result.mode_line()
    # the same files as two independent means: the dataset spread swamps the shift
    unpaired, _ = compare(base, new, noise_z=2.0, runtime_tolerance=1.5)
    assert next(c for c in unpaired if c.metric == "kernel_l1_max").verdict == "same"


def test_no_shift_is_not_flagged():
    base, new = _files(0.0)  # the same datasets, each cell moved only by its own small noise
    result = _cmp(base, new)
    assert not result.worse
    assert all(t.verdict in ("same", "not judged") for t in result.tests["default"])
    t = _test(result, "kernel_l1_max")
    assert t.p_t > 0.05 and t.sd > 0.005, "the cells did move, by noise alone"


def test_direction_is_per_metric():
    base = payload([cell(s, roas_coverage=0.5 + 0.1 * (s % 3)) for s in SEEDS])
    lower = copy.deepcopy(base)
    for i, c in enumerate(lower["cells"]):
        c["metrics"]["roas_coverage"] -= 0.2 + 0.01 * (i % 2)
    assert _test(_cmp(base, lower), "roas_coverage").verdict == "worse"  # higher is better
    assert _test(_cmp(lower, base), "roas_coverage").verdict == "better"


def test_cells_pair_by_scenario_and_seed_whatever_their_order():
    base, new = _files(0.03)
    shuffled = copy.deepcopy(new)
    random.Random(0).shuffle(shuffled["cells"])
    a, b = _test(_cmp(base, new), "kernel_l1_max"), _test(_cmp(base, shuffled), "kernel_l1_max")
    assert a == b


def test_a_cell_missing_or_failed_on_one_side_is_named_and_left_out():
    base, new = _files(0.03)
    new["cells"] = [c for c in new["cells"] if c["cell"]["seed"] != 3]
    new["cells"][0] = {**new["cells"][0], "status": "failed", "error": "boom"}
    new["groups"] = group_results(new["cells"])
    result = _cmp(base, new)
    assert _test(result, "kernel_l1_max").n == 6
    assert result.paired_cells == {"default": 6}
    assert any("quickstart/seed3 only in BASE: left out" in n for n in result.notes)
    assert any("quickstart/seed0 failed on a side" in n for n in result.notes)
    pairing = pair_cells(base["cells"], new["cells"])
    assert pairing.only_base == ["quickstart/seed3"] and pairing.only_new == []


def test_files_without_common_cells_fall_back_to_unpaired_and_say_so(capsys, tmp_path):
    base = payload([cell(s) for s in (0, 1, 2)])
    new = payload([cell(s, kernel_l1_max=0.5) for s in (3, 4, 5)])
    result = _cmp(base, new)
    assert result.paired_cells == {"default": None} and result.tests == {}
    assert "UNPAIRED for default" in result.mode_line()
    quality = next(c for c in result.changes if c.metric == "kernel_l1_max")
    assert quality.group == "quickstart · default" and "noise band" in quality.detail
    (tmp_path / "b.json").write_text(json.dumps(base))
    (tmp_path / "n.json").write_text(json.dumps(new))
    assert main(["bench", "compare", str(tmp_path / "b.json"), str(tmp_path / "n.json")]) == 1
    assert "UNPAIRED for default" in capsys.readouterr().out


def test_holm_adjustment_and_its_use_in_the_verdict():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    # one raw p of 0.03 among nineteen unremarkable ones is not a finding after Holm
    tests = [paired_test("kernel_l1_max", "lower", [0.0, 0.0, 0.0, 0.0], [0.1, 0.25, 0.08, 0.2], alpha=0.05, power=0.8)]
    assert tests[0].p_t < 0.05
    alone = judge(tests, 0.05)[0]
    crowd = judge(tests + [paired_test("regret", "lower", [0, 0, 0, 0], [1, -1, 2, -2], alpha=0.05, power=0.8)] * 19,
                  0.05)[0]
    assert alone.verdict == "worse" and crowd.verdict == "same" and crowd.p_holm > alone.p_holm


def test_sign_flip_is_exact_and_cannot_reach_five_percent_below_six_cells():
    assert sign_flip_p([1.0, 2.0, 3.0]) == pytest.approx(0.25)
    assert sign_flip_p([1.0] * 5) == pytest.approx(2 / 32)
    assert sign_flip_p([1.0] * 6) == pytest.approx(2 / 64)
    assert sign_flip_p([0.0, 0.0, 0.0]) == 1.0
    assert sign_flip_p([1.0, -1.0, 0.5, 2.0, 3.0, 0.1, 0.4]) == pytest.approx(20 / 128)


def test_the_metric_list_comes_from_the_results_too():
    base, new = _files(0.0)
    for p in (base, new):
        p["definitions"] = {"honest_regret": {"better": "lower", "what": "x"}, "seconds_cell": {"better": "lower"}}
        for c in p["cells"]:
            c["metrics"]["honest_regret"] = float(c["cell"]["seed"])
    for c in new["cells"]:
        c["metrics"]["honest_regret"] += 5.0 + 0.1 * (c["cell"]["seed"] % 3)
    assert "honest_regret" in quality_metrics(base) and "seconds_cell" not in quality_metrics(base)
    assert _test(_cmp(base, new), "honest_regret").verdict == "worse"


def test_cli_detect_prints_the_cells_needed_and_rejects_bad_input(tmp_path, capsys):
    base, new = _files(0.03)
    (tmp_path / "b.json").write_text(json.dumps(base))
    (tmp_path / "n.json").write_text(json.dumps(new))
    assert main(["bench", "compare", str(tmp_path / "b.json"), str(tmp_path / "n.json"),
                 "--detect", "kernel_l1_max=0.005"]) == 1
    out = capsys.readouterr().out
    assert "detect kernel_l1_max +0.005 for default (alpha 0.05 two-sided, power 80%, per test):" in out
    assert "PAIRED by cell key" in out and "Holm" in out
    need = int(out.split("per test): ")[1].split(" cells")[0])
    assert need > 8, "a difference well inside the interval needs more cells than the suite has"
    for flags, message in ((["--detect", "kernel_l1_max"], "expected METRIC=DELTA"),
                           (["--detect", "nope=0.1"], "unknown quality metric 'nope'"),
                           (["--alpha", "1.5"], "--alpha")):
        assert main(["bench", "compare", str(tmp_path / "b.json"), str(tmp_path / "n.json"), *flags]) == 2
        err = capsys.readouterr().err
        assert err.startswith("bayestune: error: ") and message in err and err.count("\n") == 1


def test_summary_compares_each_methodology_with_the_reference_and_the_default(tmp_path):
    cells = _noisy() + _noisy(0.03, "one-se", 2) + _noisy(0.0, "seed-recipe", 4)
    run = payload(cells)
    run["suite"]["methodology"] = {"default": {}, "one-se": {}, "seed-recipe": {"reference": True}}
    contrasts = suite_contrasts(run, alpha=0.05, power=0.8)
    assert [(c.new, c.base, c.against) for c in contrasts] == [
        ("default", "seed-recipe", "reference"), ("one-se", "seed-recipe", "reference"), ("one-se", "default", "default")]
    path = write_summary(run, tmp_path)
    md = path.read_text()
    assert "## Paired differences" in md and f"![paired differences]({FOREST_FILE})" in md
    assert "### one-se − default (against the default, 8 cells)" in md
    row = next(line for line in md.splitlines() if line.startswith("| kernel_l1_max |") and "**worse**" in line)
    assert "| lower | 8 |" in row
    png = (tmp_path / FOREST_FILE).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    alone = payload(_noisy())
    assert "## Paired differences" not in to_markdown(alone)
    (tmp_path / "alone").mkdir()
    write_summary(alone, tmp_path / "alone")
    assert not (tmp_path / "alone" / FOREST_FILE).exists()


def test_a_shift_without_spread_is_judged_by_the_exact_sign_flip_not_a_t_p_of_zero(tmp_path, capsys):
    # two cells of a 0/1 figure, both lost: the t statistic is undefined, and two cells cannot be a finding
    two = paired_test("roas_coverage", "higher", [1.0, 1.0], [0.0, 0.0], alpha=0.05, power=0.8)
    assert two.no_spread and two.p_t == pytest.approx(0.5) and two.p_t == two.p_sign_flip
    assert judge([two], 0.05)[0].verdict == "same"
    assert "no spread" in two.detail(0.95) and "sign-flip p decides" in two.detail(0.95)
    # six cells moved alike reach the exact sign-flip's 2/64
    six = paired_test("kernel_l1_max", "lower", [0.1] * 6, [0.2] * 6, alpha=0.05, power=0.8)
    assert six.p_t == pytest.approx(2 / 64) and judge([six], 0.05)[0].verdict == "worse"
    base = payload([cell(s, roas_coverage=1.0) for s in (0, 1)])
    new = payload([cell(s, roas_coverage=0.0) for s in (0, 1)])
    (tmp_path / "b.json").write_text(json.dumps(base))
    (tmp_path / "n.json").write_text(json.dumps(new))
    assert main(["bench", "compare", str(tmp_path / "b.json"), str(tmp_path / "n.json")]) == 0
    assert "0 worse" in capsys.readouterr().out
