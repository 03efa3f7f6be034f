"""The study's records in the run dir: ``trials.csv`` and ``best.json``, derived from the storage.

One process writes them (the one running the search, never its workers); their layout is
:mod:`bayestune.rundir`'s (:class:`~bayestune.rundir.TrialRow`, :class:`~bayestune.rundir.BestRecord`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from bayestune.rundir import TRIAL_COLUMNS, BestRecord, TrialRow, write_record, write_trials
from bayestune.tuning.model import CANDIDATE_FIELDS, Candidate
from bayestune.tuning.replicates import averaged
from bayestune.scores import score_units
from bayestune.tuning.selection import Scored, Selection, describe, select
from bayestune.tuning.storage import interrupted_numbers


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: parameters, state, value, per-fold and per-week CRPS, diagnostics, times."""
    return pd.DataFrame([r.model_dump() for r in trial_rows(study)], columns=list(TRIAL_COLUMNS))


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    """The rows of ``trials.csv``, one per trial of the study."""
    rows = []
    interrupted = interrupted_numbers(study)
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        timings = a.get("timings", {})
        diags = a.get("diagnostics", [])
        row: dict[str, Any] = {"number": t.number, "state": t.state.name, "value": t.value}
        row |= {k: t.params.get(k) for k in CANDIDATE_FIELDS}
        row |= {
            "fold_crps": json.dumps(a.get("fold_crps", [])),
            "week_crps": json.dumps(a.get("week_crps", [])),
            "max_divergence_rate": max((d["divergence_rate"] for d in diags), default=None),
            "max_rhat": max((d["max_rhat"] for d in diags), default=None),
            "min_ess_bulk": min((d["min_ess_bulk"] for d in diags), default=None),
            "seconds_build": timings.get("build"),
            "seconds_compile": timings.get("compile"),
            "seconds_sample": timings.get("sample"),
            "seconds_predict": timings.get("predict"),
            "seconds_total": t.duration.total_seconds() if t.duration else None,
            "fitter": a.get("fitter"),
            "sampler": a.get("sampler"),
            "seed": a.get("seed"),
            "fold_seeds": json.dumps(a.get("seeds", [])),
            "pruned_reason": a.get("pruned_reason"),
            "error": a.get("error"),
            "interrupted": t.number in interrupted,
            "fits": a.get("fits"),
            "pareto_k": json.dumps(a.get("pareto_k", [])),
            "gate_retries": json.dumps(a.get("gate_retries", [])),
        }
        rows.append(TrialRow(**row))
    return rows


def choose(
    study: optuna.Study, rule: str = "lowest", replicates: dict[str, Any] | None = None
) -> tuple[optuna.trial.FrozenTrial, Selection] | None:
    """The completed trial that ``rule`` chooses (see :mod:`bayestune.tuning.selection`).

    With ``replicates`` (``replicates.json``), only the replicated top trials are candidates,
    each scored by its CRPS averaged over its fits (:mod:`bayestune.tuning.replicates`).
    """
    complete = {t.number: t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    scored = [Scored(t.number, dict(t.params), float(t.value), t.user_attrs.get("week_crps", []))
              for t in complete.values()]
    summary = None
    if replicates and replicates.get("fits"):
        scored, summary = averaged(scored, replicates)
    picked = select(scored, rule)
    if picked is None:
        return None
    return complete[picked.chosen.number], replace(picked, replicates=summary)


def best_trial(study: optuna.Study, rule: str = "lowest") -> optuna.trial.FrozenTrial | None:
    chosen = choose(study, rule)
    return chosen[0] if chosen else None


def write_records(run: Path, study: optuna.Study, rule: str = "lowest", replicates: dict[str, Any] | None = None) -> None:
    """Rewrite ``trials.csv`` and ``best.json`` (the trial ``rule`` chooses) from the storage, atomically."""
    write_trials(run, trial_rows(study))
    chosen = choose(study, rule, replicates)
    if chosen is not None:
        best, picked = chosen
        score = best.user_attrs.get("score", "crps")
        write_record(run, BestRecord(
            selection=describe(rule) + (" (score averaged over replicate refits of the top trials)"
                                        if picked.replicates else ""),
            selection_rule=picked.to_dict(),
            trial=best.number,
            crps=best.value,
            score=score,
            crps_units=score_units(score),
            candidate=Candidate.from_params(best.params).to_dict(),
            fold_crps=best.user_attrs.get("fold_crps"),
            week_crps=best.user_attrs.get("week_crps"),
            # the value the choice was made on; crps, fold_crps and week_crps are its own fit's
            crps_replicate_mean=picked.chosen.value if picked.replicates else None,
        ))
