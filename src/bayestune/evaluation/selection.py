"""Truth scores for a chosen structure: how good was the choice, against the truth.

Three views, because the integers alone mislead:

* **Hyperparameters**: chosen against true, absolute error, exact match.
* **Predictive regret**: the chosen trial's cross-validated CRPS minus the CRPS of the true
  structure scored on the same folds (the oracle trial), with the standard error of the mean
  of the paired per-week differences. A regret within ``z`` standard errors of zero means
  the data cannot tell the two apart: the choice is *equivalent* to the truth.
* **Honest regret**: the same paired comparison on the final test window, which no search
  fold and no fit saw: the chosen and the true structure each refitted with production
  settings on the same final training weeks and scored per test week. The choice was made
  where the chosen trial scored lowest among many noisy scores, so the regret on the search
  folds is biased in its favour (the winner's curse); this one is not.
* **Adstock kernels**: per channel the L1 distance between the true normalised kernel and the
  fitted one. An ``l_max`` past the point where the true weights vanish adds only near-zero
  weights, so it is not counted as the error the integer comparison would call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bayestune.evaluation.metrics import paired_difference
from bayestune.evaluation.recovery import kernel_l1

HYPERPARAMETERS = ("yearly_seasonality", "l_max", "adstock", "saturation")
EQUIVALENCE_Z = 1.96
"""Regret within this many standard errors of zero counts as equivalent (two-sided 95%)."""


def hyperparameter_scores(chosen: Mapping[str, Any], truth: Mapping[str, Any]) -> dict[str, Any]:
    """Per hyperparameter: chosen, true, absolute error (numeric ones) and exact match."""
    out: dict[str, Any] = {}
    for name in HYPERPARAMETERS:
        c, t = chosen.get(name), truth.get(name)
        numeric = isinstance(c, int | float) and isinstance(t, int | float)
        out[name] = {"chosen": c, "true": t, "abs_error": abs(c - t) if numeric else None, "exact": c == t}
    out["all_exact"] = all(out[n]["exact"] for n in HYPERPARAMETERS)
    return out


def flatten_weeks(week_crps: Sequence[Sequence[float]]) -> np.ndarray:
    """Per-week CRPS of all folds in one array (fold order, then week order)."""
    return np.concatenate([np.asarray(w, dtype=float) for w in week_crps]) if week_crps else np.array([])


def regret(
    chosen_weeks: Sequence[Sequence[float]],
    oracle_weeks: Sequence[Sequence[float]],
    *,
    z: float = EQUIVALENCE_Z,
) -> dict[str, Any]:
    """CRPS(chosen) - CRPS(true structure) on the same held-out weeks, paired.

    Negative regret means the chosen structure predicted the held-out weeks better than the
    true one did (possible: MCMC noise, or a simpler model winning on little data).
    """
    a, b = flatten_weeks(chosen_weeks), flatten_weeks(oracle_weeks)
    if a.shape != b.shape:
        raise ValueError(f"the chosen and the oracle trial were scored on different weeks ({a.size} vs {b.size})")
    mean, se = paired_difference(a, b)
    return {
        "regret": mean,
        "se": se,
        "z": mean / se if se > 0 else (0.0 if mean == 0 else float(np.sign(mean) * np.inf)),
        "weeks": int(a.size),
        "relative": mean / float(b.mean()),
        "equivalent": bool(abs(mean) <= z * se),
        "equivalence_rule": f"|regret| <= {z} x SE of the paired per-week differences",
    }


SEARCH_FOLDS_WINDOW = "search folds: the held-out weeks the choice was made on (flattered by the winner's curse)"
FINAL_WINDOW = "final test window: weeks no search fold and no fit saw (free of the winner's curse)"


def final_regret(final: Mapping[str, Any] | None) -> dict[str, Any]:
    """The honest regret from ``final.json``: CRPS(chosen) - CRPS(true structure) per week of
    the never-searched final test window, both refitted on the same training weeks.

    Not available (with the reason) for a run without a final stage, a run made before the
    final stage refitted the true structure, or a refit that was skipped or failed. When the
    chosen structure is the true one, one fit serves both: the regret is exactly 0.
    """
    if not final:
        return {"available": False, "reason": "the run has no final stage (tuned with --no-final)"}
    block = final.get("oracle_test")
    if block is None:
        return {"available": False, "reason": "the final stage did not refit the true structure "
                                              "(a run made before it did so, or without a truth)"}
    if block["state"] not in ("COMPLETE", "SAME_AS_CHOSEN"):
        return {"available": False, "state": block["state"], "reason": block.get("error")}
    tt = final["train_test"]
    if list(block["test_range"]) != list(tt["test_range"]) or list(block["fit_range"]) != list(tt["fit_range"]):
        return {"available": False, "reason": "the true structure's final refit used other weeks than the chosen one's"}
    out = {"available": True, "window": FINAL_WINDOW, **regret([tt["test_week_crps"]], [block["test_week_crps"]])}
    return out | {
        "fit_range": list(tt["fit_range"]), "test_range": list(tt["test_range"]),
        "chosen_test_crps": tt["test_crps"], "true_test_crps": block["test_crps"],
        "same_structure": block["state"] == "SAME_AS_CHOSEN",
        "true_fit_strict_gate_passed": block.get("strict_gate_passed"),
        "true_fit_strict_gate_failures": block.get("strict_gate_failures", []),
    }


def rank_among_trials(values: Sequence[float], oracle: float) -> dict[str, Any]:
    """Rank of the true structure's CV CRPS among the completed trials' (1 = better than all)."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    better = int(np.sum(v < oracle))
    return {"rank": better + 1, "of": int(v.size) + 1, "trials_better_than_truth": better}


def kernel_scores(true_kernels: Mapping[str, Sequence[float]], fitted: Mapping[str, np.ndarray],
                  effective_l_max: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Per channel the L1 distance between the true and the fitted normalised kernels (0 to 2)."""
    out: dict[str, Any] = {}
    for channel, kernel in fitted.items():
        true = true_kernels.get(channel)
        entry: dict[str, Any] = {"l1": kernel_l1(true, kernel) if true is not None else None,
                                 "fitted_l_max": int(len(kernel))}
        if true is not None:
            entry["true_l_max"] = len(true)
        if effective_l_max and channel in effective_l_max:
            entry["true_effective_l_max"] = int(effective_l_max[channel])
        out[channel] = entry
    l1 = [e["l1"] for e in out.values() if e["l1"] is not None]
    return {"channels": out, "mean_l1": float(np.mean(l1)) if l1 else None}
