"""The true structure in the final stage: the other half of the honest regret.

The search's regret compares the chosen trial with the true structure on the folds the choice
was made on. The chosen trial won there partly by luck (the lowest of many noisy scores), so
that regret is biased in its favour: the winner's curse. Here the true structure is refitted
exactly as the final stage refits the chosen one (the same training weeks, the same production
settings, a seed of its own) and scored on the same test weeks, which neither the search nor
any fit saw. The evaluation layer pairs the two per test week.

When the chosen structure is the true one, nothing is fitted: the regret is exactly 0 on the
same weeks, and the record says so. When the truth names no structure or the fit fails, the
record says why; this stage never raises.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bayestune.evaluation.metrics import crps_ensemble
from bayestune.simulator.dataset import Dataset
from bayestune.tuning.fitters import Fitter
from bayestune.tuning.folds import Fold
from bayestune.tuning.gate import GateThresholds, check, strict_gate_words
from bayestune.tuning.model import Candidate, FitSettings, true_candidate
from bayestune.tuning.trial import FINAL_STAGE, fold_seed

ORACLE_TEST_DRAWS = "predictions/final_oracle_test.npz"
ORACLE_SEED_INDEX = 2
"""The final stage's third seed (0: train-only fit, 1: full-data fit)."""


def run_final_oracle(
    chosen: Candidate,
    dataset: Dataset,
    *,
    enabled: bool,
    fitter: Fitter,
    settings: FitSettings,
    thresholds: GateThresholds,
    split: Fold,
    chosen_test_weekly: np.ndarray,
    seed: int,
    run: Path,
) -> dict[str, Any] | None:
    """The ``oracle_test`` block of ``final.json``; ``None`` without a truth.

    ``chosen_test_weekly`` is the chosen structure's per-week CRPS on the same test weeks
    (reused as the true structure's when the two are the same structure).
    """
    if dataset.truth is None:
        return None
    block: dict[str, Any] = {"fit_range": (0, split.train_end), "test_range": (split.train_end, split.test_end)}
    if not enabled:
        return block | {"state": "SKIPPED", "error": "final.oracle = false: the true structure was not refitted"}
    lacking = dataset.truth_check().unavailable.get("hyperparameters")
    if lacking is not None:
        return block | {"state": "FAIL", "error": f"the true structure cannot be refitted: {lacking} in the truth"}
    truth = true_candidate(dataset.truth)
    block["candidate"] = truth.to_dict()
    if truth == chosen:
        return block | {"state": "SAME_AS_CHOSEN", "test_crps": float(chosen_test_weekly.mean()),
                        "test_week_crps": chosen_test_weekly.tolist()}
    s = fold_seed(seed, FINAL_STAGE, ORACLE_SEED_INDEX)
    block["seed"] = s
    data, cols = dataset.data, dataset.columns
    y = data[cols.target].to_numpy()
    mmm = None
    try:
        mmm, timings = fitter.fit(truth, cols, data.iloc[: split.train_end], settings, s)
        held_out, timings.predict = fitter.predict(mmm, cols, data.iloc[split.train_end:], seed=s, out_of_sample=True)
        weekly = crps_ensemble(y[split.train_end:], held_out)
        diag = fitter.diagnose(mmm)
    except Exception as exc:  # noqa: BLE001 - a reference that failed is recorded, never raised
        return block | {"state": "FAIL", "error": f"{exc.__class__.__name__}: {exc}"[:2000]}
    finally:
        del mmm
        fitter.release()
    passed, reasons = check(diag, thresholds)
    np.savez_compressed(run / ORACLE_TEST_DRAWS, draws_test=held_out, observed_test=y[split.train_end:])
    return block | {
        "state": "COMPLETE", "test_crps": float(weekly.mean()), "test_week_crps": weekly.tolist(),
        "draws": ORACLE_TEST_DRAWS, "diagnostics": diag.to_dict(), "strict_gate_passed": passed,
        "strict_gate_failures": reasons, "timings": timings.to_dict(),
    }


def final_oracle_line(block: dict[str, Any], chosen_test_crps: float, seconds: float) -> str:
    """One line for a log: how the true structure's final refit ended, and the honest regret."""
    head = "final refit of the true structure"
    state = block["state"]
    if state == "SAME_AS_CHOSEN":
        return f"{head}: not needed, the chosen structure is the true one (honest regret exactly 0)"
    if state != "COMPLETE":
        return f"{head} {state}: " + str(block.get("error", "")).strip().splitlines()[0][:200]
    weeks = block["test_range"][1] - block["test_range"][0]
    gate = strict_gate_words(block)
    return (f"{head} in {seconds:.0f} s: test CRPS {block['test_crps']:.1f} on the same {weeks} never-searched "
            f"weeks; chosen minus true {chosen_test_crps - block['test_crps']:+.1f}; {gate}")
