"""The oracle trial: the true structure, scored exactly as the search scores its trials.

When the dataset carries its truth, the true configuration is run through the same folds
and settings as every trial, with seeds of its own. The convergence gate is checked but does
not stop it: a reference that fails the gate is still scored, and its failures are recorded
(``gate_failures``) so the report can say how far to trust the comparison. Its record goes
to ``oracle.json`` and its predictive draws to ``predictions/oracle_fold<K>.npz``, never into the Optuna
storage: the search's sampler cannot learn from it and the selection can never pick it. The
evaluation layer compares the chosen trial with it week by week (regret and its paired
standard error, the true configuration's rank among the trials).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bayestune.rundir import PREDICTIONS_DIR, OracleRecord, read_record, write_record
from bayestune.scores import score_units
from bayestune.simulator.dataset import Dataset
from bayestune.tuning.context import SearchContext
from bayestune.tuning.model import true_candidate
from bayestune.tuning.trial import TrialRecord, run_trial

ORACLE_TRIAL = 2**31 - 2
"""Stands in for the trial number when seeding the oracle's fits."""


def run_oracle(ctx: SearchContext) -> dict[str, Any] | None:
    """Score the true structure on the search folds; ``None`` without a truth.

    An existing ``oracle.json`` is kept (a resumed run does not repeat it).
    """
    dataset: Dataset = ctx.dataset
    if dataset.truth is None:
        return None
    old = read_record(ctx.run, OracleRecord)
    if old is not None:
        return old.model_dump(mode="json", by_alias=True)
    lacking = dataset.truth_check().unavailable.get("hyperparameters")
    if lacking is not None:  # a truth from another generator may not name its structure
        oracle = OracleRecord(candidate=None, state="FAIL", value=None,
                              error=f"the true structure cannot be scored: {lacking} in the truth")
        write_record(ctx.run, oracle)
        return oracle.model_dump(mode="json", by_alias=True)
    candidate = true_candidate(dataset.truth)
    record = TrialRecord(candidate)
    payload: dict[str, Any] = {"candidate": candidate.to_dict(), "state": "COMPLETE", "value": None}
    try:
        payload["value"] = run_trial(
            candidate, dataset, ctx.folds, ctx.settings, ctx.thresholds, seed=ctx.config.seed,
            trial_number=ORACLE_TRIAL, record=record, predictions_dir=Path(ctx.run) / PREDICTIONS_DIR,
            prefix="oracle", enforce_gate=False, fitter=ctx.config.fitter, score=ctx.config.score,
        )
    except Exception as exc:  # noqa: BLE001 - recorded like a failed trial, never raised
        payload |= {"state": "FAIL", "error": f"{exc.__class__.__name__}: {exc}"[:2000]}
    payload |= record.attrs()
    payload["crps_units"] = score_units(ctx.config.score)
    oracle = OracleRecord(**payload)
    write_record(ctx.run, oracle)
    return oracle.model_dump(mode="json", by_alias=True)


def oracle_line(payload: dict[str, Any], seconds: float) -> str:
    """One line for a log: how the oracle trial ended, its CRPS and any recorded gate failure."""
    head = f"oracle (the true structure, never selectable) {payload['state']} in {seconds:.0f} s: "
    if payload["state"] != "COMPLETE":
        return head + str(payload.get("error", "failed")).strip().splitlines()[0][:200]
    failures = payload.get("gate_failures") or []
    return head + f"CRPS {payload['value']:.1f}" + (f"; convergence gate failed in {len(failures)} fold(s), recorded"
                                                    if failures else "")
