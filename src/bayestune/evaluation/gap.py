"""The train/test CRPS gap, and the trap of an in-sample "test" score.

The gap must come from one fit that never saw the test weeks: CRPS on the weeks it was
fitted on against CRPS on the weeks after them. A "test" score computed on weeks the fit
saw (the first seed's final table refitted on all weeks, then scored the tail) is not a
test score; :func:`check_train_test` raises a loud flag for it, whatever the caller claims.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bayestune.evaluation.metrics import crps_ensemble
from bayestune.rundir import load_train_test_draws

DEFAULT_MAX_RATIO = 2.0
"""Warn when test CRPS / train CRPS exceeds this (configurable: ``--max-gap-ratio``)."""

IN_SAMPLE_FLAG = (
    "IN-SAMPLE TEST SCORE: the 'test' CRPS was computed on weeks the model was fitted on; "
    "it measures fit, not prediction, and the train/test comparison is meaningless"
)


def overlap(fit_range: Sequence[int], test_range: Sequence[int]) -> int:
    """Number of weeks in both half-open ranges ``[start, end)``."""
    return max(0, min(fit_range[1], test_range[1]) - max(fit_range[0], test_range[0]))


def check_train_test(
    fit_range: Sequence[int],
    test_range: Sequence[int],
    train_crps: float,
    test_crps: float,
    *,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> dict[str, Any]:
    """The gap, the ratio and the flags for one train/test pair (CRPS in target units)."""
    seen = overlap(fit_range, test_range)
    ratio = test_crps / train_crps if train_crps > 0 else float("inf")
    flags, warnings = [], []
    if seen:
        flags.append(f"{IN_SAMPLE_FLAG} ({seen} of {test_range[1] - test_range[0]} test weeks were fitted)")
    if ratio > max_ratio:
        warnings.append(
            f"test CRPS is {ratio:.2f} x train CRPS (threshold {max_ratio:g}): the model fits the "
            "fitted weeks much better than it predicts new ones (overfitting or a change in the data)"
        )
    return {
        "fit_range": list(fit_range),
        "test_range": list(test_range),
        "train_crps": float(train_crps),
        "test_crps": float(test_crps),
        "gap": float(test_crps - train_crps),
        "ratio": float(ratio),
        "max_ratio": max_ratio,
        "test_weeks_fitted": seen,
        "in_sample_test": bool(seen),
        "flags": flags,
        "warnings": warnings,
    }


def train_test_section(
    final: Mapping[str, Any] | None, run: Path, *, max_ratio: float = DEFAULT_MAX_RATIO
) -> dict[str, Any]:
    """The report's train/test section from the final stage's record (``final.json``) and the saved draws.

    The CRPS of both sides is recomputed from the saved predictive draws; the week ranges
    decide the in-sample flag, not the ``test_weeks_seen_by_fit`` field the run wrote.
    """
    if not final or "train_test" not in final:
        return {"available": False, "reason": "the run has no final stage (it was tuned with --no-final)"}
    tt = final["train_test"]
    train_crps, test_crps = tt["train_crps"], tt["test_crps"]
    recomputed = None
    saved = load_train_test_draws(run, final)
    if saved is not None:
        train_crps = float(crps_ensemble(saved["observed_fit"], saved["draws_fit"]).mean())
        test_crps = float(crps_ensemble(saved["observed_test"], saved["draws_test"]).mean())
        recomputed = bool(np.isclose(train_crps, tt["train_crps"]) and np.isclose(test_crps, tt["test_crps"]))
    out = {"available": True, "crps_units": "target units, mean per week (fair estimator)"}
    out |= check_train_test(tt["fit_range"], tt["test_range"], train_crps, test_crps, max_ratio=max_ratio)
    out["recomputed_from_draws_matches_run"] = recomputed
    out["test_weeks_seen_by_search"] = bool(tt.get("test_weeks_seen_by_search", False))
    return out
