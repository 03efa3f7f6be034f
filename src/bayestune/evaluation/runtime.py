"""What every fit cost: seconds per phase, ESS per second, fitter, sampler, device, versions.

A trial's phases are summed over its folds. Its ESS per second is the smallest bulk ESS over
its folds divided by the mean sampling seconds per fold: the rate at which the worst-mixing
parameter gains effective draws.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

PHASES = ("build", "compile", "sample", "predict")


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def trial_runtimes(trials: pd.DataFrame, n_folds: int) -> list[dict[str, Any]]:
    rows = []
    for _, t in trials.iterrows():
        row: dict[str, Any] = {"number": int(t["number"]), "state": t["state"]}
        for phase in PHASES:
            row[f"seconds_{phase}"] = _finite(t.get(f"seconds_{phase}"))
        row["seconds_total"] = _finite(t.get("seconds_total"))
        ess, sample = _finite(t.get("min_ess_bulk")), row["seconds_sample"]
        folds_run = len(json.loads(t["fold_seeds"])) if isinstance(t.get("fold_seeds"), str) else n_folds
        row["ess_per_second"] = ess / (sample / max(folds_run, 1)) if ess and sample else None
        rows.append(row)
    return rows


def fit_runtime(record: Mapping[str, Any]) -> dict[str, Any]:
    """One final fit: seconds per phase and ESS per second."""
    timings = record.get("timings", {})
    diag = record.get("diagnostics", {})
    sample = timings.get("sample")
    ess = diag.get("min_ess_bulk")
    return {f"seconds_{p}": timings.get(p) for p in PHASES} | {
        "ess_per_second": ess / sample if ess and sample else None,
    }


def runtime_section(
    trials: pd.DataFrame,
    *,
    n_folds: int,
    final: Mapping[str, Any] | None,
    oracle: Mapping[str, Any] | None,
    environment: Mapping[str, Any],
) -> dict[str, Any]:
    per_trial = trial_runtimes(trials, n_folds)
    totals = {f"seconds_{p}": float(np.nansum([r[f"seconds_{p}"] or np.nan for r in per_trial] or [0.0]))
              for p in PHASES}
    totals["seconds_trials"] = float(np.nansum([r["seconds_total"] or np.nan for r in per_trial] or [0.0]))
    complete = [r["seconds_total"] for r in per_trial if r["state"] == "COMPLETE" and r["seconds_total"]]
    ess_rates = [r["ess_per_second"] for r in per_trial if r["ess_per_second"]]
    out: dict[str, Any] = {
        "fitter": environment.get("fitter"),
        "sampler": environment.get("sampler"),
        "device": environment.get("device"),
        "cores": environment.get("cores"),
        "packages": environment.get("packages", {}),
        "trials": per_trial,
        "totals": totals,
        "median_seconds_per_complete_trial": float(np.median(complete)) if complete else None,
        "median_ess_per_second": float(np.median(ess_rates)) if ess_rates else None,
    }
    if oracle and oracle.get("timings"):
        out["oracle"] = {f"seconds_{p}": oracle["timings"].get(p) for p in PHASES}
    if final:
        out["final"] = {name: fit_runtime(final[name]) for name in ("train_fit", "full_fit") if name in final}
        block = final.get("oracle_test") or {}
        if block.get("timings"):  # the true structure's final refit: the honest regret's cost
            out["final_oracle"] = fit_runtime(block)
    return out
