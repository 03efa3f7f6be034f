"""The benchmark scripts' own logic (their measurements run under ``tox -e bench``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from scipy import stats

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_rows_say_not_measured_without_a_gpu(tmp_path, monkeypatch):
    matrix = _load("backend_matrix")
    monkeypatch.setattr(matrix, "_gpu_available", lambda: False)
    assert matrix.main(["--out", str(tmp_path), "--only", "gpu"]) == 0
    data = json.loads((tmp_path / "backend_matrix.json").read_text())
    assert data["meta"]["gpu"] is None
    assert [r["status"] for r in data["results"]] == ["not measured (no GPU)"] * len(matrix.GPU_CELLS)
    assert all("first_fit" not in r for r in data["results"])  # no number without a measurement
    md = (tmp_path / "backend_matrix.md").read_text()
    assert md.count("not measured (no GPU)") == len(matrix.GPU_CELLS) and "GPU: none" in md


def test_a_backend_that_is_not_installed_is_reported_not_measured(monkeypatch):
    matrix = _load("backend_matrix")
    monkeypatch.setitem(matrix.BACKEND_MODULE, "blackjax", "a_module_that_does_not_exist")
    assert matrix.one_cell("blackjax", None, "cpu") == {
        "status": "not measured (blackjax is not installed)"}


def test_the_nutpie_memory_probe_makes_the_program_cache_evict_in_its_last_half(monkeypatch):
    """The probe's structures, through a program cache whose compilation is a stand-in."""
    from bayestune.tuning import compiled

    probe = _load("memory_probe")
    monkeypatch.setattr(compiled, "compile_program", lambda mmm: mmm)
    cache = compiled.ProgramCache()
    structures = probe.nutpie_structures(100)
    compiled_at = [i for i, c in enumerate(structures) if cache.get(c, object)[1]]
    assert len(set(structures)) > cache.kept
    assert len(compiled_at) == cache.compilations == 14
    assert [i for i in compiled_at if i >= 50] == [59, 69, 79, 89, 99]  # each one evicts


def test_cell_costs_sums_each_cells_trials_and_reads_a_committed_run(tmp_path, capsys):
    """``cell_costs.py`` on the committed numba-cache run: one row per cell, the trials'
    seconds and pruned counts summed from the cells' stored ``trials.csv``; its README's
    table is this output."""
    import csv

    costs = _load("cell_costs")
    run = BENCH / "results" / "2026-11-23-numba-cache-2cores"
    rows = costs.cell_costs(run)
    results = json.loads((run / "results.json").read_text())
    assert [r["cell"] for r in rows] == [c["key"] for c in results["cells"]]
    for row in rows:
        with (run / "searches" / row["cell"] / "run" / "trials.csv").open() as handle:
            trials = list(csv.DictReader(handle))
        assert row["compile_s"] == sum(float(t["seconds_compile"] or 0) for t in trials)
        assert row["gate_pruned"] + row["median_pruned"] == sum(t["state"] == "PRUNED" for t in trials)
    assert costs.markdown(rows) in (run / "README.md").read_text()
    assert costs.main([str(tmp_path)]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_cell_costs_lists_a_failed_cell_without_a_kept_search():
    """The six-regime quick run holds a failed cell (the random choice's one trial gate-pruned):
    its row says it failed, with no trials, where the others are summed."""
    costs = _load("cell_costs")
    rows = {r["cell"]: r for r in costs.cell_costs(BENCH / "results" / "2026-11-23-quick-6regimes-2cores")}
    failed = rows["worlds-collinear/seed0/random-choice (failed)"]
    assert failed["trials"] == 0 and failed["trials_s"] == 0
    assert rows["worlds-collinear/seed0/default"]["trials"] == 10


def test_rejudge_applies_the_suite_files_judges_to_a_stored_run():
    """The committed quick run judged under quick.toml's judges: what its summary says."""
    rejudge = _load("rejudge")
    payload = json.loads((Path(__file__).parents[1] / "benchmarks/baselines/quick.json").read_text())
    out = rejudge.rejudge(payload, "quick", draws=200)
    assert out["catch"] == "5/6" and out["false_alarms"] == "0/4"
    assert out["flagged_by"]["space-without-truth"] == ["gate"], "shown, not counted"
    assert out["flagged_by"]["random-choice"] == ["calibrated", "gate"]
    null = out["resampled"]
    assert null["runs"] == 5 and null["datasets"] == 6 and null["draws"] == 200
    assert null["gate"] > 0.2 > null["flagged"] >= max(null["paired"], null["calibrated"])
    assert null["flagged"] <= 0.08, "the counted judges together: about 5% at most"


def test_judge_false_alarms_measures_the_calibrated_judge_on_synthetic_and_stored_runs():
    script = _load("judge_false_alarms")
    out = script.synthetic(runs=3, heavy=True, experiments=20, alpha=0.05)
    assert out["runs"] == 3 and out["heavy"] and 0.0 <= out["calibrated_false_alarms"] <= 0.3
    payload = json.loads((Path(__file__).parents[1] / "benchmarks/baselines/quick.json").read_text())
    stored = script.stored(payload, level=0.025, draws=40)
    assert stored["runs"] == 5 and stored["either"] >= max(stored["paired"], stored["calibrated"])


def test_gate_failures_tabulates_pruned_trials_per_tuning_length_and_retries():
    script = _load("gate_failures")
    result = {"preset": "worlds-short", "seed": 0, "structure": {"yearly_seasonality": 1, "l_max": 6},
              "summary": [{"tune": 300, "retries": 1, "trials": 20, "pruned": 3, "fits": 46, "min_ess_bulk": 6.03,
                           "max_rhat": 1.284, "median_seconds": 4.2},
                          {"tune": 300, "trials": 20, "pruned": 5, "min_ess_bulk": 6.03, "max_rhat": 1.284,
                           "median_seconds": 4.2}], "trials": []}
    text = script.markdown(result)
    assert "worlds-short seed 0, Fourier 1, l_max 6" in text
    assert "| 300 | 1 | 20 | 3 | 46 | 6.0 | 1.284 | 4.2 |" in text
    assert "| 300 | 0 | 20 | 5 | - | 6.0 | 1.284 | 4.2 |" in text  # a file from before retries were measured
    config = script.CONFIG.format(order=1, l_max=6, retries=2)
    assert 'yearly_seasonality = [1, 1]' in config and "retries = 2" in config


def _objective_run(root: Path) -> None:
    """A results folder of two methodologies on two datasets: ``wide`` scores twice the weeks
    of the reference, and its choices are the truth's (kernel L1 and regret lower)."""
    import csv

    truth = {"yearly_seasonality": 2, "l_max": 6, "adstock": "geometric", "saturation": "logistic"}
    cells = []
    for seed in (0, 1):
        for name, weeks, fits, l1 in (("seed-recipe", 4, 1, 0.3 + 0.1 * seed), ("wide", 8, 3, 0.1 + 0.02 * seed)):
            key = f"w/seed{seed}/{name}"
            run = root / "cells" / key / "run"
            run.mkdir(parents=True)
            oracle = [[100.0 + i for i in range(weeks)]]
            (run / "oracle.json").write_text(json.dumps({"candidate": truth, "state": "COMPLETE", "week_crps": oracle}))
            rows = [  # the truth, a structure 1 CRPS worse every week but one, and a pruned trial
                truth | {"state": "COMPLETE", "week_crps": json.dumps(oracle), "fits": fits, "seconds_total": 10.0},
                truth | {"l_max": 9, "state": "COMPLETE", "fits": fits, "seconds_total": 20.0,
                         "week_crps": json.dumps([[w + (1.0 if i else 3.0) for i, w in enumerate(oracle[0])]])},
                truth | {"l_max": 3, "state": "PRUNED", "week_crps": "[]", "fits": 1, "seconds_total": 1.0},
            ]
            with (run / "trials.csv").open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            cells.append({"key": key, "dir": f"cells/{key}", "status": "ok", "seconds": 120.0,
                          "cell": {"scenario": "w", "seed": seed, "methodology": name},
                          "metrics": {"exact_yearly_seasonality": 1.0, "exact_l_max": float(name == "wide"),
                                      "kernel_l1_max": l1, "final_regret_z": 2.0 - (1.5 + seed) * (name == "wide")}})
            (run.parent / "cell.json").write_text(json.dumps(cells[-1]))
    payload = {"suite": {"methodology": {"seed-recipe": {"reference": True}, "wide": {}},
                         "gate": {"methodologies": ["wide"]}}, "cells": cells}
    (root / "results.json").write_text(json.dumps(payload))


def test_objective_report_counts_weeks_fits_and_the_sharpness_against_the_truth(tmp_path, capsys):
    report = _load("objective_report")
    _objective_run(tmp_path)
    rows = {r["methodology"]: r for r in report.report(tmp_path)}
    wide, ref = rows["wide"], rows["seed-recipe"]
    assert (wide["weeks"], wide["fits"], wide["seconds"]) == (8, 3, 15.0)  # medians over completed trials
    assert (ref["weeks"], ref["fits"]) == (4, 1)
    # the wrong structure: differences 3, 1, 1, ... against the oracle's weeks 100, 101, ...
    for row, n in ((wide, 8), (ref, 4)):
        d = [3.0] + [1.0] * (n - 1)
        mean = sum(d) / n
        se = (sum((x - mean) ** 2 for x in d) / (n - 1)) ** 0.5 / n ** 0.5
        assert row["z"] == pytest.approx(mean / se)
        assert row["se_share"] == pytest.approx(se / (100 + (n - 1) / 2))
    assert wide["exact_l_max"] == 1.0 and ref["exact_l_max"] == 0.0
    assert wide["kernel_l1_max"] == pytest.approx(0.11)
    against = wide["kernel_l1_max_vs_reference"]
    assert against["n"] == 2 and against["mean"] == pytest.approx(-0.24)
    assert against["p"] == pytest.approx(stats.ttest_1samp([-0.2, -0.28], 0.0, alternative="less").pvalue)
    assert "kernel_l1_max_vs_reference" not in ref  # the reference is not tested against itself
    assert "| wide | 2/2 | 8 | 3 | 15.0 | 2.0 |" in report.markdown(list(rows.values()))
    assert report.main([str(tmp_path / "nowhere")]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_paired_reruns_pairs_runs_by_study_seed_and_dataset(tmp_path, capsys):
    """``default-rerunK`` beside ``retry-rerunK`` on each dataset; other methodologies and failed
    cells left out; gate-pruned trials and fits counted from trials.csv."""
    import csv

    script = _load("paired_reruns")
    cells = []
    for seed in (0, 1):
        for name, z, pruned in (("default", 3.0, 2), ("default-rerun1", 4.0, 3), ("retry", 0.5, 0),
                                ("retry-rerun1", 0.0, 1), ("seed-recipe", 9.0, 0)):
            key = f"w/seed{seed}/{name}"
            run = tmp_path / "cells" / key / "run"
            run.mkdir(parents=True)
            cell = {"key": key, "dir": f"cells/{key}", "status": "ok", "chosen": {"yearly_seasonality": 1, "l_max": 4},
                    "cell": {"scenario": "w", "seed": seed, "methodology": name},
                    "metrics": {"final_regret_z": z + seed, "kernel_l1_max": 0.1, "exact_yearly_seasonality": 1.0}}
            (run.parent / "cell.json").write_text(json.dumps(cell))
            rows = [{"state": "PRUNED", "pruned_reason": "convergence gate: fold 0: R-hat 1.3 > 1.10", "fits": 1}] * pruned
            rows += [{"state": "COMPLETE", "pruned_reason": "", "fits": 3}]
            with (run / "trials.csv").open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=["state", "pruned_reason", "fits"])
                writer.writeheader()
                writer.writerows(rows)
            cells.append(cell)
    cells.append({"key": "w/seed2/retry", "dir": "cells/w/seed2/retry", "status": "failed",
                  "cell": {"scenario": "w", "seed": 2, "methodology": "retry"}})
    (tmp_path / "results.json").write_text(json.dumps({"cells": cells}))
    rows = script.pairs(tmp_path, "default", "retry")
    assert [(r["dataset"], r["run"]) for r in rows] == [("w/seed0", 0), ("w/seed0", 1), ("w/seed1", 0), ("w/seed1", 1)]
    assert rows[1]["base"] | {} == {"chosen": "1/4", "gate_pruned": 3, "fits": 6, "final_regret_z": 4.0,
                                    "kernel_l1_max": 0.1, "exact_yearly_seasonality": 1.0}
    assert rows[1]["new"]["gate_pruned"] == 1 and rows[1]["new"]["fits"] == 4
    z = next(t for t in script.tests(rows) if t.metric == "final_regret_z")
    assert z.n == 4 and z.mean == pytest.approx(-3.25)
    assert "| w/seed0 | 1 | 1/4 | 3 | 6 | +4.00 | 0.100 | 1/4 | 1 | 4 | +0.00 | 0.100 |" in script.markdown(rows, "default", "retry")
    assert script.main([str(tmp_path), "--new", "nothing"]) == 2
    assert "no dataset where both 'default' and 'nothing'" in capsys.readouterr().err
