"""Run one trial: fit each fold, gate it, predict the held-out weeks, score them.

This module runs a trial and classifies how it ended; recording it (Optuna storage,
``trials.csv``) is :mod:`bayestune.tuning.objective` and :mod:`bayestune.tuning.records`'s job, as Optuna keeps ``_optimize`` and
``_tell`` apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bayestune.scores import DEFAULT as DEFAULT_SCORE
from bayestune.scores import per_week
from bayestune.simulator.dataset import Dataset
from bayestune.tuning.fitters import DEFAULT as DEFAULT_FITTER
from bayestune.tuning.fitters import Fitter, resolve_fitter
from bayestune.tuning.folds import Fold
from bayestune.tuning.gate import GateThresholds, check
from bayestune.tuning.lfo import LFOBlock, run_lfo
from bayestune.tuning.model import Candidate, FitSettings, Timings


class GateFailed(Exception):
    """A fit failed the convergence gate; ``reasons`` say how."""

    def __init__(self, fold: int, reasons: list[str]) -> None:
        self.fold = fold
        self.reasons = reasons
        super().__init__(f"fold {fold}: " + "; ".join(reasons))


class Pruned(Exception):
    """The pruner stopped the trial after ``fold``."""

    def __init__(self, fold: int) -> None:
        self.fold = fold
        super().__init__(f"pruned by the pruner after fold {fold}")


@dataclass
class TrialRecord:
    """Everything a trial measured, whatever its ending."""

    candidate: Candidate
    seeds: list[int] = field(default_factory=list)
    fold_crps: list[float] = field(default_factory=list)
    week_crps: list[list[float]] = field(default_factory=list)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    gate_failures: list[str] = field(default_factory=list)
    gate_retries: list[str] = field(default_factory=list)
    """Fits that failed the gate and were made again with a fresh seed (``[gate] retries``):
    ``"<label> <index>: <reasons>"``; their diagnostics are not in ``diagnostics``."""
    fits: int = 0
    """Exact fits made, retries included (a rolling trial: one per fold; PSIS-LFO: the first
    and every refit)."""
    pareto_k: list[list[float | None]] = field(default_factory=list)
    """PSIS-LFO only: k̂ of each scored week's weights per block; a week whose k̂ passed the
    threshold was refitted exactly, as was one with ``None`` (weights too degenerate to smooth)
    after the first week (the first fit's)."""

    @property
    def value(self) -> float:
        """Mean CRPS per held-out week over all folds (target units)."""
        return float(np.mean(np.concatenate([np.asarray(w) for w in self.week_crps])))

    def attrs(self) -> dict[str, Any]:
        return {
            "seeds": self.seeds,
            "fold_crps": self.fold_crps,
            "week_crps": self.week_crps,
            "diagnostics": self.diagnostics,
            "timings": self.timings.to_dict(),
            "gate_failures": self.gate_failures,
            "gate_retries": self.gate_retries,
            "fits": self.fits,
            "pareto_k": self.pareto_k,
        }


def gate_fit(fitter: Fitter, fitted: Any, record: TrialRecord, thresholds: GateThresholds, timings: Timings, *,
             index: int, label: str, enforce_gate: bool, retry: bool = False) -> bool:
    """Diagnose ``fitted`` into ``record`` and apply the convergence gate to it: whether to use it.

    A failure with ``retry`` is recorded in ``record.gate_retries`` (the fit's seconds counted)
    and returns ``False``: the caller fits again. Otherwise it raises :class:`GateFailed` (the
    fit's seconds counted first), or, with ``enforce_gate=False``, is only recorded as
    ``"<label> <index>: <reasons>"`` in ``record.gate_failures``.
    """
    diag = fitter.diagnose(fitted)
    passed, reasons = check(diag, thresholds)
    line = f"{label} {index}: " + "; ".join(reasons)
    if not passed and retry:
        record.timings.add(timings)
        record.gate_retries.append(line)
        return False
    record.diagnostics.append(diag.to_dict())
    if passed:
        return True
    if enforce_gate:
        record.timings.add(timings)
        raise GateFailed(index, reasons)
    record.gate_failures.append(line)
    return True


def fit_gated(fitter: Fitter, candidate: Candidate, columns: Any, data: Any, settings: FitSettings,
              thresholds: GateThresholds, record: TrialRecord, *, seed: int, trial_number: int, index: int,
              label: str, enforce_gate: bool) -> tuple[Any, Timings, int]:
    """Fit ``data`` and gate the fit: ``(fitted, timings, its seed)``.

    A fit that fails an enforced gate is made again from a fresh seed
    (:func:`fold_seed`'s ``attempt``), up to ``thresholds.retries`` times; the last failure
    raises :class:`GateFailed`. Chains that disagree by chance on a weakly identified
    posterior then cost one more fit instead of the structure's trial. Every attempt's seed
    and fit are recorded; a discarded fit is released.
    """
    attempts = 1 + (thresholds.retries if enforce_gate else 0)
    for attempt in range(attempts):
        s = fold_seed(seed, trial_number, index, attempt)
        record.seeds.append(s)
        record.fits += 1
        fitted, timings = fitter.fit(candidate, columns, data, settings, s)
        try:
            use = gate_fit(fitter, fitted, record, thresholds, timings, index=index, label=label,
                           enforce_gate=enforce_gate, retry=attempt + 1 < attempts)
        except BaseException:
            fitted = None  # drop the fit before the fitter frees what it held
            fitter.release()
            raise
        if use:
            return fitted, timings, s
        fitted = None
        fitter.release()
    raise AssertionError("unreachable: the last attempt either passes or raises")


FINAL_STAGE = 2**31 - 1
"""Stands in for the trial number when seeding the final stage's fits."""


def fold_seed(base: int, trial: int, fold: int, attempt: int = 0) -> int:
    """The MCMC seed of one fold of one trial (or of the final stage), from the run's seed;
    ``attempt`` k > 0: the seed of its k-th refit after a gate failure."""
    entropy = [base, trial, fold + 1] + ([attempt] if attempt else [])
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def run_trial(
    candidate: Candidate,
    dataset: Dataset,
    folds: list[Fold],
    settings: FitSettings,
    thresholds: GateThresholds,
    *,
    seed: int,
    trial_number: int,
    record: TrialRecord,
    report: Callable[[float, int], bool] | None = None,
    predictions_dir: Path | None = None,
    prefix: str | None = None,
    enforce_gate: bool = True,
    fitter: Fitter | str = DEFAULT_FITTER,
    score: str = DEFAULT_SCORE,
) -> float:
    """Score ``candidate`` on the folds (``score``, by default the CRPS); fill ``record`` as it goes.

    PSIS-LFO's blocks (:class:`~bayestune.tuning.lfo.LFOBlock`, ``validation = "lfo"``) are
    scored by :func:`bayestune.tuning.lfo.run_lfo`: the same contract, fewer exact fits.

    Parameters
    ----------
    predictions_dir
        Where to save each fold's predictive draws and observations
        (``trial<N>_fold<K>.npz``, or ``<prefix>_fold<K>.npz``), so every score can be
        recomputed independently.
    report
        Called after each fold with the mean CRPS so far and the fold index; returning
        ``True`` prunes the trial.
    thresholds
        The convergence gate; a fold whose fit fails it is fitted again from a fresh seed up to
        ``thresholds.retries`` times before the trial is pruned (:func:`fit_gated`).
    enforce_gate
        With ``False`` a fit that fails the gate is still scored and its failure only
        recorded (``record.gate_failures``): the oracle trial is a reference, not a contender.
    fitter, score
        The fitter (an object or its name, :mod:`bayestune.tuning.fitters`) and the name of
        the per-week score (:mod:`bayestune.scores`).

    Raises
    ------
    GateFailed
        A fold's fit failed the convergence gate.
    Pruned
        ``report`` asked to stop.
    """
    fitter = resolve_fitter(fitter) if isinstance(fitter, str) else fitter
    if folds and all(isinstance(f, LFOBlock) for f in folds):
        return run_lfo(candidate, dataset, folds, settings, thresholds, seed=seed, trial_number=trial_number,
                       record=record, report=report, predictions_dir=predictions_dir, prefix=prefix,
                       enforce_gate=enforce_gate, fitter=fitter, score=score)
    data, columns = dataset.data, dataset.columns
    for fold in folds:
        mmm, timings, s = fit_gated(fitter, candidate, columns, data.iloc[: fold.fit_end], settings, thresholds,
                                    record, seed=seed, trial_number=trial_number, index=fold.index, label="fold",
                                    enforce_gate=enforce_gate)
        try:
            if fold.in_sample:  # the fit saw these weeks: predicted in sample, from the series' start
                draws, timings.predict = fitter.predict(
                    mmm, columns, data.iloc[: fold.test_end], seed=s, out_of_sample=False
                )
                draws = draws[:, fold.train_end :]
            else:
                draws, timings.predict = fitter.predict(
                    mmm, columns, data.iloc[fold.train_end : fold.test_end], seed=s, out_of_sample=True
                )
            record.timings.add(timings)
        finally:
            del mmm
            fitter.release()
        observed = data[columns.target].to_numpy()[fold.train_end : fold.test_end]
        if predictions_dir is not None:
            np.savez_compressed(
                predictions_dir / f"{prefix or f'trial{trial_number:04d}'}_fold{fold.index}.npz",
                draws=draws, observed=observed,
            )
        weekly = per_week(score, observed, draws)
        if not np.all(np.isfinite(weekly)):
            raise FloatingPointError(f"fold {fold.index}: the predictive draws are not finite")
        record.week_crps.append(weekly.tolist())
        record.fold_crps.append(float(weekly.mean()))
        if report is not None and report(record.value, fold.index):
            raise Pruned(fold.index)
    return record.value
