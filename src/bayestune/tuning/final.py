"""The final stage: an honest train/test pair, then the production fit on all weeks.

(a) The chosen structure is refitted with production settings on the weeks before the final
test window, which neither the search nor this fit ever saw; both the fitted weeks and the
test weeks are scored. With a truth, the true structure is refitted and scored the same way
(:mod:`bayestune.tuning.final_oracle`), for a regret free of the winner's curse. (b) It is
refitted on all weeks and checked against the strict gate; a failure is reported, never
hidden. Both fits of the chosen structure are saved for the evaluation layer.

The fits go through the configured fitter (:mod:`bayestune.tuning.fitters`); the train/test
pair is scored by the CRPS whatever score ranked the search, so the report stays in CRPS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bayestune.evaluation.metrics import crps_ensemble
from bayestune.progress import Say
from bayestune.simulator.dataset import Dataset
from bayestune.tuning.config import TuningConfig
from bayestune.tuning.fitters import Fitter, resolve_fitter
from bayestune.tuning.final_oracle import final_oracle_line, run_final_oracle
from bayestune.tuning.folds import final_split
from bayestune.tuning.gate import GateThresholds, check, strict_gate_words
from bayestune.tuning.model import Candidate, FitSettings
from bayestune.tuning.trial import FINAL_STAGE, fold_seed

TRAIN_FIT = "fits/train.nc"
FULL_FIT = "fits/full.nc"
TRAIN_TEST_DRAWS = "predictions/final_train_test.npz"


@dataclass(frozen=True)
class FinalResult:
    train_crps: float
    test_crps: float
    fit_range: tuple[int, int]
    test_range: tuple[int, int]
    train_week_crps: list[float]
    test_week_crps: list[float]
    train_fit: dict[str, Any]
    full_fit: dict[str, Any]
    oracle_test: dict[str, Any] | None = None
    """The true structure on the same final window (:mod:`bayestune.tuning.final_oracle`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "crps_units": "target units, mean per week (fair estimator)",
            "train_test": {
                "fit_weeks": self.fit_range[1] - self.fit_range[0],
                "test_weeks": self.test_range[1] - self.test_range[0],
                "fit_range": list(self.fit_range),
                "test_range": list(self.test_range),
                "train_crps": self.train_crps,
                "test_crps": self.test_crps,
                "gap": self.test_crps - self.train_crps,
                "ratio": self.test_crps / self.train_crps,
                "test_weeks_seen_by_fit": self.test_range[0] < self.fit_range[1],
                "test_weeks_seen_by_search": False,
                "draws": TRAIN_TEST_DRAWS,
                "train_week_crps": self.train_week_crps,
                "test_week_crps": self.test_week_crps,
            },
            "train_fit": self.train_fit,
            "full_fit": self.full_fit,
            "oracle_test": self.oracle_test,
        }


def _fit_record(fitter: Fitter, mmm, timings, thresholds: GateThresholds, path: Path, seed: int) -> dict[str, Any]:
    diag = fitter.diagnose(mmm)
    passed, reasons = check(diag, thresholds)
    fitter.save(mmm, path, seed)
    return {
        "path": str(path.name if path.parent.name != "fits" else f"fits/{path.name}"),
        "seed": seed,
        "diagnostics": diag.to_dict(),
        "strict_gate_passed": passed,
        "strict_gate_failures": reasons,
        "timings": timings.to_dict(),
    }


def run_final(
    candidate: Candidate, dataset: Dataset, config: TuningConfig, run: Path, say: Say | None = None
) -> FinalResult:
    """Fit ``candidate`` twice with production settings and save both fits in ``run/fits``;
    with a truth, score the true structure on the same final window (``final.oracle``).

    ``say`` (:func:`bayestune.progress.reporter`) gets one line as each fit is done.
    """
    f = config.final
    settings = FitSettings(config.sampler, f.draws, f.tune, f.chains, dict(config.sampler_kwargs))
    thresholds = GateThresholds(f.gate.max_divergence_rate, f.gate.max_rhat, f.gate.min_ess)
    split = final_split(dataset.weeks, f.test_weeks)
    data, cols = dataset.data, dataset.columns
    y = data[cols.target].to_numpy()
    fitter = resolve_fitter(config.fitter)

    seed = fold_seed(config.seed, FINAL_STAGE, 0)
    start = time.perf_counter()
    train = data.iloc[: split.train_end]
    mmm, timings = fitter.fit(candidate, cols, train, settings, seed)
    in_sample, t_in = fitter.predict(mmm, cols, train, seed=seed, out_of_sample=False)
    held_out, t_out = fitter.predict(mmm, cols, data.iloc[split.train_end :], seed=seed, out_of_sample=True)
    timings.predict = t_in + t_out
    train_weekly = crps_ensemble(y[: split.train_end], in_sample)
    test_weekly = crps_ensemble(y[split.train_end :], held_out)
    np.savez_compressed(
        run / TRAIN_TEST_DRAWS, draws_fit=in_sample, observed_fit=y[: split.train_end],
        draws_test=held_out, observed_test=y[split.train_end :],
    )
    train_record = _fit_record(fitter, mmm, timings, thresholds, run / TRAIN_FIT, seed)
    del mmm
    fitter.release()
    if say:
        say(f"final train-only fit in {time.perf_counter() - start:.0f} s: train CRPS {train_weekly.mean():.1f}, "
            f"test CRPS {test_weekly.mean():.1f} on {len(test_weekly)} never-seen weeks; "
            + strict_gate_words(train_record))

    start = time.perf_counter()
    oracle_test = run_final_oracle(
        candidate, dataset, enabled=f.oracle, fitter=fitter, settings=settings, thresholds=thresholds, split=split,
        chosen_test_weekly=test_weekly, seed=config.seed, run=run,
    )
    if say and oracle_test is not None:
        say(final_oracle_line(oracle_test, float(test_weekly.mean()), time.perf_counter() - start))

    seed_full = fold_seed(config.seed, FINAL_STAGE, 1)
    start = time.perf_counter()
    mmm, timings = fitter.fit(candidate, cols, data, settings, seed_full)
    full_record = _fit_record(fitter, mmm, timings, thresholds, run / FULL_FIT, seed_full)
    del mmm
    fitter.release()
    if say:
        say(f"final full-data fit in {time.perf_counter() - start:.0f} s: {strict_gate_words(full_record)}")
    return FinalResult(
        float(train_weekly.mean()), float(test_weekly.mean()), (0, split.train_end), (split.train_end, split.test_end),
        train_weekly.tolist(), test_weekly.tolist(), train_record, full_record, oracle_test,
    )
