"""The default fitter: the PyMC-Marketing MMM on the configured NUTS backend.

A thin adapter over :mod:`bayestune.tuning.model` (building, fitting and predicting) and
:mod:`bayestune.tuning.gate` (diagnostics of the free parameters).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayestune.simulator.dataset import ColumnRoles
from bayestune.tuning.gate import Diagnostics, diagnose
from bayestune.tuning.model import Candidate, FitSettings, Timings, fit, free_parameter_names, predict, quiet_sampling, release

PRIOR_DRAWS = 1000
"""Prior draws of the free parameters saved with a final fit (posterior contraction needs them)."""


class PyMCMarketingFitter:
    """``pymc_marketing.mmm.MMM`` with PyMC-Marketing's default priors, sampled by ``settings.sampler``."""

    def sampler_name(self, configured: str) -> str:
        """The configured sampler: this fitter hands it to ``pm.sample``."""
        return configured

    def fit(self, candidate: Candidate, columns: ColumnRoles, data: pd.DataFrame, settings: FitSettings,
            seed: int) -> tuple[Any, Timings]:
        return fit(candidate, columns, data, settings, seed)

    def predict(self, fitted: Any, columns: ColumnRoles, data: pd.DataFrame, *, seed: int,
                out_of_sample: bool) -> tuple[np.ndarray, float]:
        return predict(fitted, columns, data, seed=seed, out_of_sample=out_of_sample)

    def diagnose(self, fitted: Any) -> Diagnostics:
        return diagnose(fitted.idata, free_parameter_names(fitted))

    def save(self, fitted: Any, path: Path, seed: int) -> None:
        """Save the fit as netCDF, with prior draws of its free parameters."""
        import pymc as pm

        with quiet_sampling():
            prior = pm.sample_prior_predictive(draws=PRIOR_DRAWS, model=fitted.model,
                                               var_names=free_parameter_names(fitted), random_seed=seed)
        fitted.idata["prior"] = prior["prior"]
        fitted.save(str(path))

    def release(self) -> None:
        release()
