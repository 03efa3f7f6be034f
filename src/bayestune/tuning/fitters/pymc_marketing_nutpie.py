"""The PyMC-Marketing MMM compiled once per structure and sampled by nutpie.

The same model as the default fitter (:mod:`bayestune.tuning.fitters.pymc_marketing`), the
same priors and scaling, but each fold, replicate and trial of a structure reuses one
compiled program (:mod:`bayestune.tuning.compiled`) instead of compiling its own: a fit
swaps the window's data into it and samples with nutpie, and predictions come from a batched
program over all draws at once. ``settings.sampler`` is not read (the sampler is nutpie);
``settings.sampler_kwargs`` go to ``nutpie.sample``. nutpie's own default, the diagonal mass
matrix, is kept: measured at 300 tuning steps
(``benchmarks/results/2026-11-23-fit-paths-2cores/``), the low-rank matrix
(``low_rank_modified_mass_matrix = true``) sometimes left a chain behind (smallest bulk ESS 5
to 8, R-hat up to 1.35 on seed-blog's folds) where the diagonal one gave ESS 47 to 84 and
R-hat at most 1.04 on every fold measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayestune.simulator.dataset import ColumnRoles
from bayestune.tuning.compiled import Program, ProgramCache, series_data, window_data
from bayestune.tuning.gate import Diagnostics, diagnose
from bayestune.tuning.model import Candidate, FitSettings, Timings, build_mmm, quiet_sampling
from bayestune.tuning.model import release as release_caches

DEFAULT_SAMPLER_KWARGS: dict[str, Any] = {}
"""Keyword arguments of ``nutpie.sample`` that ``sampler_kwargs`` add to or override."""

PROGRAMS = ProgramCache()
"""The process's compiled programs, shared by every instance (trials resolve the fitter anew)."""


@dataclass
class NutpieFit:
    """One fit: the posterior (nutpie's DataTree) and the window it was fitted on."""

    candidate: Candidate
    columns: ColumnRoles
    frame: pd.DataFrame
    window: dict[str, np.ndarray]
    program: Program
    idata: Any
    sample_seconds: float = 0.0

    def posterior(self) -> dict[str, np.ndarray]:
        """Each free parameter's draws, stacked over chains: ``(draws, ...)``."""
        post = self.idata["posterior"]
        return {name: np.asarray(post[name].stack(sample=("chain", "draw")).transpose("sample", ...).values)
                for name in self.program.free}


class PyMCMarketingNutpieFitter:
    """``pymc_marketing.mmm.MMM`` compiled once per structure, sampled by nutpie on numba."""

    sampler_name = "nutpie"
    """Whatever ``--sampler`` says: the records name the sampler that ran."""

    def __init__(self, programs: ProgramCache | None = None) -> None:
        self.programs = PROGRAMS if programs is None else programs

    @property
    def compilations(self) -> int:
        """How many programs this fitter's cache has compiled."""
        return self.programs.compilations

    def fit(self, candidate: Candidate, columns: ColumnRoles, data: pd.DataFrame, settings: FitSettings,
            seed: int) -> tuple[NutpieFit, Timings]:
        import nutpie

        timings = Timings()
        start = time.perf_counter()

        def build() -> Any:
            mmm = build_mmm(candidate, columns)
            with quiet_sampling():
                mmm.build_model(data.drop(columns=columns.target), data[columns.target])
            return mmm

        key = (candidate, columns)
        program, compiled = self.programs.get(key, build)
        window = window_data(columns, data)
        sampler = program.with_window(window)
        if compiled:
            timings.compile = program.compile_seconds
        timings.build = time.perf_counter() - start - timings.compile
        start = time.perf_counter()
        kwargs = {**DEFAULT_SAMPLER_KWARGS, **settings.sampler_kwargs}
        with quiet_sampling():
            idata = nutpie.sample(sampler, draws=settings.draws, tune=settings.tune, chains=settings.chains,
                                  seed=seed, progress_bar=False, **kwargs)
        timings.sample = time.perf_counter() - start
        fitted = NutpieFit(candidate, columns, data.reset_index(drop=True), window, program, idata, timings.sample)
        return fitted, timings

    def predict(self, fitted: NutpieFit, columns: ColumnRoles, data: pd.DataFrame, *, seed: int,
                out_of_sample: bool) -> tuple[np.ndarray, float]:
        """Posterior predictive draws for ``data`` in target units, ``(draws, weeks)``.

        Out of sample, the mean is computed over the fitted weeks followed by ``data``, so the
        held-out weeks' adstock carries over from the real fitted spend; the scales are the
        fitted window's, as PyMC-Marketing's own posterior predictive keeps them.
        """
        start = time.perf_counter()
        frame = pd.concat([fitted.frame, data], ignore_index=True) if out_of_sample else data
        inputs = {**series_data(columns, frame),
                  "channel_scale": fitted.window["channel_scale"], "target_scale": fitted.window["target_scale"]}
        _, y = fitted.program.draw(fitted.posterior(), inputs, seed)
        draws = y[:, -len(data):] * float(fitted.window["target_scale"])
        return draws, time.perf_counter() - start

    def log_likelihood(self, fitted: NutpieFit, columns: ColumnRoles, data: pd.DataFrame) -> np.ndarray:
        """Each posterior draw's log density of each week of ``data`` (the weeks after the fitted
        ones, carry-over kept), ``(draws, weeks)``, in target units (PSIS-LFO's weights).

        PyMC-Marketing's likelihood: the scaled target is Normal around the mean with scale
        ``y_sigma``, so in target units the density is that one less ``log(target_scale)``.
        """
        from scipy.stats import norm

        post = fitted.posterior()
        if "y_sigma" not in post:
            raise ValueError("the model's likelihood has no y_sigma: only a Normal likelihood is supported")
        frame = pd.concat([fitted.frame, data], ignore_index=True)
        inputs = {**series_data(columns, frame),
                  "channel_scale": fitted.window["channel_scale"], "target_scale": fitted.window["target_scale"]}
        mu, _ = fitted.program.draw(post, inputs, seed=0)
        scale = float(fitted.window["target_scale"])
        observed = data[columns.target].to_numpy(dtype=float) / scale
        sigma = np.asarray(post["y_sigma"], dtype=float).reshape(-1, 1)
        return norm.logpdf(observed, mu[:, -len(data):], sigma) - np.log(scale)

    def diagnose(self, fitted: NutpieFit) -> Diagnostics:
        return diagnose(fitted.idata, fitted.program.free)

    def save(self, fitted: NutpieFit, path: Path, seed: int) -> None:
        """Save the fit as PyMC-Marketing saves its own (see :mod:`bayestune.tuning.nutpie_idata`)."""
        from bayestune.tuning.nutpie_idata import save_fit

        save_fit(fitted, path, seed)

    def release(self) -> None:
        release_caches()
