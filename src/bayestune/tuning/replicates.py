"""Replicate refits: average MCMC noise out of the scores of the top candidates.

Two fits of the same structure on the same weeks with different MCMC seeds score differently
(on ``quickstart``'s first search, one configuration scored 294.7 and 304.7), by as much as
structures differ from one another, so a single fit per candidate partly ranks noise. With
``replicates = R`` (config key, ``--replicates``) the ``replicate_top = K`` best distinct
structures of the search are each refitted ``R`` more times on the same folds with other
seeds; the selection rule then chooses among those ``K`` alone, each scored by the per-week
CRPS averaged over its ``R + 1`` fits. The cost is ``K x R`` further trials (each a fit per
fold), written with every fit's seconds into ``replicates.json`` and summarised in
``best.json`` (``selection_rule.replicates``). A replicate is scored even when it fails the
search's convergence gate (the structure passed it once); the failure is recorded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from bayestune.errors import BayestuneError
from bayestune.rundir import PREDICTIONS_DIR, ReplicatesRecord, read_record, write_record
from bayestune.tuning.model import CANDIDATE_FIELDS, Candidate
from bayestune.tuning.trial import TrialRecord, run_trial

_TAG = 0x5EED


def replicate_seed(seed: int, replicate: int) -> int:
    """The base seed of replicate ``replicate`` (1, 2, ...) of a run seeded ``seed``."""
    return int(np.random.SeedSequence([seed, replicate, _TAG]).generate_state(1)[0])


def top_trials(study: optuna.Study, k: int) -> list[optuna.trial.FrozenTrial]:
    """The ``k`` completed trials with the lowest CRPS, one per distinct structure."""
    complete = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)),
                      key=lambda t: (t.value, t.number))
    seen, out = set(), []
    for t in complete:
        key = tuple(t.params.get(f) for f in CANDIDATE_FIELDS)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out[:k]


def load_replicates(run: str | Path) -> dict[str, Any] | None:
    """``replicates.json`` of a run dir, or ``None`` (also when it cannot be read: its fits
    are then run again)."""
    try:
        record = read_record(run, ReplicatesRecord)
    except BayestuneError:
        return None
    return None if record is None else record.model_dump(mode="json", by_alias=True)


def run_replicates(ctx, study: optuna.Study, k: int, n: int, say=None) -> dict[str, Any]:
    """Refit the top ``k`` structures ``n`` more times each (those not already in the file)."""
    old = load_replicates(ctx.run) or {}
    done = {(f["trial"], f["replicate"]): f for f in old.get("fits", []) if f.get("seed") == ctx.config.seed}
    top = top_trials(study, k)
    fits: list[dict[str, Any]] = []

    def write() -> dict[str, Any]:
        record = ReplicatesRecord(top=[t.number for t in top], replicates=n, fits=fits)
        write_record(ctx.run, record)
        return record.model_dump(mode="json", by_alias=True)

    todo = [(t, r) for t in top for r in range(1, n + 1) if (t.number, r) not in done]
    if todo and say:
        say(f"replicate refits: {len(top)} candidates x {n} seeds ({len(todo)} to run) ...")
    ran = 0
    for t in top:
        for r in range(1, n + 1):
            if (t.number, r) in done:
                fits.append(done[(t.number, r)])
                continue
            record = TrialRecord(Candidate.from_params(t.params))
            start = time.perf_counter()
            value = run_trial(
                record.candidate, ctx.dataset, ctx.folds, ctx.settings, ctx.thresholds,
                seed=replicate_seed(ctx.config.seed, r), trial_number=t.number, record=record,
                predictions_dir=ctx.run / PREDICTIONS_DIR, prefix=f"trial{t.number:04d}_rep{r}", enforce_gate=False,
                fitter=ctx.config.fitter, score=ctx.config.score,
            )
            fits.append({"trial": t.number, "replicate": r, "seed": ctx.config.seed, "value": value,
                         "week_crps": record.week_crps, "fold_seeds": record.seeds,
                         "gate_failures": record.gate_failures, "timings": record.timings.to_dict(),
                         "seconds": time.perf_counter() - start})
            write()  # after every fit: a kill loses at most the fit in flight
            ran += 1
            if say:
                say(f"replicate fit {ran} of {len(todo)} (trial {t.number}'s structure, replicate {r}) "
                    f"in {fits[-1]['seconds']:.0f} s: CRPS {value:.1f}")
    return write()


def averaged(trials: list, replicates: dict[str, Any]) -> tuple[list, dict[str, Any]]:
    """The top trials (as :class:`~bayestune.tuning.selection.Scored`) with per-week CRPS
    averaged over their original fit and replicates, and a summary of what that cost.
    """
    from dataclasses import replace

    by_trial: dict[int, list[dict[str, Any]]] = {}
    for f in replicates.get("fits", []):
        by_trial.setdefault(f["trial"], []).append(f)
    out, per_trial = [], {}
    for t in trials:
        if t.number not in replicates.get("top", []):
            continue
        reps = [f for f in by_trial.get(t.number, []) if _same_shape(f["week_crps"], t.week_crps)]
        weeks = [np.asarray(t.week_crps, dtype=float)] + [np.asarray(f["week_crps"], dtype=float) for f in reps]
        mean_weeks = np.mean(weeks, axis=0)
        values = [t.value] + [f["value"] for f in reps]
        out.append(replace(t, value=float(np.mean(mean_weeks)), week_crps=mean_weeks.tolist()))
        per_trial[str(t.number)] = {"values": values, "mean": float(np.mean(values)),
                                    "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None}
    fits = replicates.get("fits", [])
    sds = [v["sd"] for v in per_trial.values() if v["sd"] is not None]
    summary = {"candidates": replicates.get("top", []), "replicates": replicates.get("replicates"),
               "fits": len(fits), "seconds": float(sum(f["seconds"] for f in fits)),
               "gate_failures": sum(bool(f["gate_failures"]) for f in fits),
               "mcmc_sd_median": float(np.median(sds)) if sds else None, "per_trial": per_trial}
    return out, summary


def _same_shape(a: list, b: list) -> bool:
    return len(a) == len(b) and all(len(x) == len(y) for x, y in zip(a, b, strict=True))
