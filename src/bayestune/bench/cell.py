"""One cell of a suite: simulate, tune, refit, evaluate; the figures that the suite compares.

:func:`run_cell` takes and returns plain data, so that any executor (in-process, a process
pool, a Dask cluster) can ship it. It never raises: a failing cell is recorded with its error
and the suite goes on. A finished cell writes ``cell.json`` into its folder; running the
suite again reuses it instead of repeating the work.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

from bayestune.fileio import write_atomic

CELL_FILE = "cell.json"
CELL_SCHEMA = "bayestune.bench-cell/1"

QUALITY = {
    # name: (direction, what it is); "lower" / "higher" is better. Rates are shares of seeds.
    "exact_yearly_seasonality": ("higher", "chosen Fourier order equals the true one"),
    "exact_l_max": ("higher", "chosen l_max equals the true one"),
    "exact_adstock": ("higher", "chosen adstock form is the true one"),
    "exact_saturation": ("higher", "chosen saturation form is the true one"),
    "all_exact": ("higher", "every hyperparameter exact"),
    "abs_error_yearly_seasonality": ("lower", "|chosen - true| Fourier order"),
    "abs_error_l_max": ("lower", "|chosen - true| l_max"),
    "kernel_l1_mean": ("lower", "adstock-kernel L1, mean over channels (0 to 2)"),
    "kernel_l1_max": ("lower", "adstock-kernel L1, worst channel (0 to 2)"),
    "regret": ("lower", "CV CRPS of the choice minus the true structure's on the search folds, target units"),
    "regret_z": ("lower", "regret in paired standard errors"),
    "regret_equivalent": ("higher", "|regret| within 1.96 SE: the choice is equivalent to the truth"),
    "final_regret": ("lower", "honest regret: test CRPS of the choice minus the true structure's, both refitted "
                              "on the final training weeks, never-searched test window, target units"),
    "final_regret_z": ("lower", "honest regret in paired standard errors (free of the winner's curse)"),
    "truth_rank_fraction": ("lower", "share of trials that beat the true structure"),
    "gap_ratio": ("lower", "honest test CRPS / train CRPS"),
    "roas_coverage": ("higher", "share of channels whose true ROAS is in the 90% interval"),
    "roas_relative_error": ("lower", "mean |relative error| of ROAS"),
    "contribution_nrmse": ("lower", "channel contribution NRMSE"),
    "contribution_calibration_error": ("lower", "calibration error of the contributions"),
    "parameter_coverage": ("higher", "share of true parameters in their 90% interval"),
}
RUNTIME = {
    "seconds_per_trial": "median seconds of a complete trial (all its folds)",
    "seconds_search": "seconds of every trial together",
    "seconds_final": "seconds of the two final refits",
    "seconds_cell": "wall seconds of the whole cell",
    "ess_per_second": "median bulk ESS per sampling second over the trials",
}
COUNTS = ("trials_complete", "trials_pruned", "trials_failed")


def cell_key(cell: dict[str, Any]) -> str:
    """``<scenario>/seed<k>/<methodology>``: the cell's folder under ``cells/`` and its name in the results."""
    return f"{Path(cell['scenario']).stem}/seed{cell['seed']}/{cell['methodology']}"


def cell_identity(cell: dict[str, Any]) -> dict[str, Any]:
    """What defines a cell's result: a stored result is reused only when this is unchanged.

    The settings as the suite file writes them, and a digest of every setting the tuner
    resolves from them, defaults included: a changed default (a new ``[gate] retries``, say)
    makes a stored cell that never named it stale, as it would compute something else now.
    """
    return {k: cell[k] for k in ("scenario", "seed", "methodology", "tuning")} | {"settings": settings_digest(cell)}


def settings_digest(cell: dict[str, Any]) -> str | None:
    """A short hash of the cell's resolved tuning config (None if it does not resolve: the
    cell then fails when it runs, and says why)."""
    from bayestune.tuning.config import config_from_dict

    try:
        resolved = config_from_dict(cell["tuning"], cell["methodology"]).model_dump(mode="json")
    except Exception:  # noqa: BLE001 - a bad config is the cell's error to report, not the identity's
        return None
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cell_dir(root: str | Path, key: str) -> Path:
    return Path(root) / "cells" / key


def read_done(root: str | Path, cell: dict[str, Any]) -> dict[str, Any] | None:
    """The stored result of ``cell`` if it finished before with the same settings.

    A result without every figure this version computes (a cell run before the honest regret
    existed) is run again: its run dir lacks what the new figure is made from.
    """
    path = cell_dir(root, cell_key(cell)) / CELL_FILE
    try:
        done = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = done.get("cell") == cell_identity(cell)
    complete = set(QUALITY) <= set(done.get("metrics") or {})
    return done if same and complete and done.get("status") == "ok" else None


def run_cell(cell: dict[str, Any], root: str) -> dict[str, Any]:
    """Run one cell into ``root/cells/<scenario>/seed<k>/<methodology>/``; return its result."""
    start = time.perf_counter()
    key = cell_key(cell)
    folder = cell_dir(root, key)
    result: dict[str, Any] = {"schema": CELL_SCHEMA, "key": key, "cell": cell_identity(cell), "dir": f"cells/{key}"}
    try:
        report, shared = _pipeline(cell, folder, Path(root))
        if shared:
            result["search_shared_from"] = shared
        result |= {"status": "ok", "metrics": cell_metrics(report),
                   "chosen": report["run"].get("chosen"), "warnings": report.get("warnings", []),
                   "environment": _environment(report)}
    except Exception as exc:  # noqa: BLE001 - a failing cell is a result, not the end of the suite
        result |= {"status": "failed", "error": _relative(f"{exc.__class__.__name__}: {exc}", root),
                   "traceback": traceback.format_exc(limit=8)}
    result["seconds"] = time.perf_counter() - start
    if result["status"] == "ok":
        result["metrics"]["seconds_cell"] = result["seconds"]
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / CELL_FILE, json.dumps(result, indent=2) + "\n")
    return result


def _relative(message: str, root: str) -> str:
    """``message`` with the suite folder's path dropped from the paths it names: a results file
    says where a cell's files are within the suite folder, not on the machine that ran it."""
    for prefix in {str(Path(root)), str(Path(root).resolve())}:
        message = message.replace(prefix + "/", "")
    return message


def _pipeline(cell: dict[str, Any], folder: Path, root: Path) -> tuple[dict[str, Any], str | None]:
    """Simulate, tune, evaluate: the report, and the key of the cell whose search was reused (if any)."""
    from bayestune import simulator
    from bayestune.bench.shared import SHARES, copy_search
    from bayestune.evaluation import evaluate
    from bayestune.tuning import tune
    from bayestune.tuning.config import config_from_dict

    config = config_from_dict(cell["tuning"], cell["methodology"])
    sim = simulator.simulate(cell["scenario"], seed=int(cell["seed"]))
    data = simulator.write_dataset(sim, folder / "dataset", force=True)
    run = folder / "run"
    shutil.rmtree(run, ignore_errors=True)  # an unfinished cell starts over: its seeds fix the result
    base = cell.get(SHARES)
    shared = base if base and copy_search(cell_dir(root, base), folder) else None
    tune(simulator.read_dataset(data), config, run)  # a copied search resumes: no trial runs again
    return evaluate(run, data).data, shared


def _environment(report: dict[str, Any]) -> dict[str, Any]:
    rt = report.get("runtime", {})
    return {"fitter": rt.get("fitter"), "sampler": rt.get("sampler"), "device": rt.get("device"), "cores": rt.get("cores")}


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _mean(values: list[Any]) -> float | None:
    v = [float(x) for x in values if x is not None]
    return sum(v) / len(v) if v else None


def cell_metrics(report: dict[str, Any]) -> dict[str, float | None]:
    """The suite's figures for one cell, from its ``report.json`` content (``None``: not available)."""
    m: dict[str, float | None] = dict.fromkeys([*QUALITY, *RUNTIME, *COUNTS])
    truth = report.get("truth", {})
    hp = truth.get("hyperparameters") or {}
    for name in ("yearly_seasonality", "l_max", "adstock", "saturation"):
        if name in hp:
            m[f"exact_{name}"] = float(hp[name]["exact"])
    if "all_exact" in hp:
        m["all_exact"] = float(hp["all_exact"])
    for name in ("yearly_seasonality", "l_max"):
        m[f"abs_error_{name}"] = _get(hp, name, "abs_error")
    kernels = _get(truth, "adstock_kernels", "channels") or {}
    l1 = [c["l1"] for c in kernels.values() if c.get("l1") is not None]
    m["kernel_l1_mean"] = _mean(l1)
    m["kernel_l1_max"] = max(l1) if l1 else None
    reg = truth.get("regret") or {}
    m["regret"], m["regret_z"] = reg.get("regret"), reg.get("z")
    m["regret_equivalent"] = float(reg["equivalent"]) if "equivalent" in reg else None
    honest = truth.get("final_regret") or {}
    if honest.get("available"):
        m["final_regret"], m["final_regret_z"] = honest.get("regret"), honest.get("z")
    rank = _get(truth, "oracle", "rank")
    if rank and rank.get("of", 0) > 1:
        m["truth_rank_fraction"] = rank["trials_better_than_truth"] / (rank["of"] - 1)
    tt = report.get("train_test", {})
    if tt.get("available"):
        m["gap_ratio"] = tt.get("ratio")
    rec = report.get("recovery", {})
    if rec.get("available"):
        m["roas_coverage"] = rec.get("roas_coverage_rate")
        m["roas_relative_error"] = rec.get("mean_abs_roas_relative_error")
        m["contribution_nrmse"] = rec.get("contribution_nrmse")
        m["contribution_calibration_error"] = rec.get("contribution_calibration_error")
        params = _get(rec, "parameters", "parameters") or {}
        covered = [float(p["covered"]) for p in params.values() if p.get("covered") is not None]
        m["parameter_coverage"] = _mean(covered)
    rt = report.get("runtime", {})
    m["seconds_per_trial"] = rt.get("median_seconds_per_complete_trial")
    m["seconds_search"] = _get(rt, "totals", "seconds_trials")
    final = rt.get("final") or {}
    if final:
        m["seconds_final"] = sum(sum(v or 0.0 for k, v in fit.items() if k.startswith("seconds_"))
                                 for fit in final.values())
    m["ess_per_second"] = rt.get("median_ess_per_second")
    states = _get(report, "run", "states") or {}
    m["trials_complete"] = float(states.get("COMPLETE", 0))
    m["trials_pruned"] = float(states.get("PRUNED", 0))
    m["trials_failed"] = float(states.get("FAIL", 0))
    return m
