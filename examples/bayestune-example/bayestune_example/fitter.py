"""A fitter: ordinary least squares on spend and controls, with bootstrap predictive draws.

No MCMC and no carry-over: a baseline to check that a search and its selection can tell a
structure-free model from the MMM, and a fitter fast enough to run a real study in seconds.
bayestune calls ``fit``, ``predict``, ``diagnose``, ``save`` and ``release`` (see
``bayestune.tuning.fitters``); ``candidate``, ``columns`` and ``settings`` are bayestune's
own types, read here by attribute only.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DRAWS = 400


@dataclass
class LeastSquaresFit:
    coef: np.ndarray
    residuals: np.ndarray
    columns: list[str]


class LeastSquaresFitter:
    """``target ~ 1 + spend + controls`` by least squares; predictive draws add resampled residuals."""

    def fit(self, candidate, columns, data, settings, seed):
        from bayestune.tuning.model import Timings

        start = time.perf_counter()
        names = [*columns.channels, *columns.controls]
        X = np.column_stack([np.ones(len(data)), data[names].to_numpy(dtype=float)])
        y = data[columns.target].to_numpy(dtype=float)
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        fitted = LeastSquaresFit(coef, y - X @ coef, names)
        return fitted, Timings(sample=time.perf_counter() - start)

    def predict(self, fitted, columns, data, *, seed, out_of_sample):
        start = time.perf_counter()
        X = np.column_stack([np.ones(len(data)), data[fitted.columns].to_numpy(dtype=float)])
        rng = np.random.default_rng(seed)
        noise = rng.choice(fitted.residuals, size=(DRAWS, len(data)), replace=True)
        return X @ fitted.coef + noise, time.perf_counter() - start

    def diagnose(self, fitted):
        from bayestune.tuning.gate import Diagnostics

        # exact estimates: nothing to converge
        return Diagnostics(divergence_rate=0.0, max_rhat=1.0, min_ess_bulk=float(DRAWS), min_ess_tail=float(DRAWS),
                           n_draws=DRAWS, n_chains=1, worst_rhat_var="", worst_ess_var="")

    def save(self, fitted, path, seed):
        Path(path).write_text(json.dumps({"coef": fitted.coef.tolist(), "columns": fitted.columns}))

    def release(self):
        pass
