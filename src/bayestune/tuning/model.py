"""Build, fit and predict one PyMC-Marketing MMM for a candidate structure.

Priors are PyMC-Marketing's defaults, never tuned; :func:`default_priors` writes them into
the run dir so a run says what it assumed.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayestune.simulator.dataset import ColumnRoles
from bayestune.simulator.transforms import ADSTOCK_FORMS, SATURATION_FORMS

if TYPE_CHECKING:
    import pymc_marketing.mmm as pmm


@dataclass(frozen=True, order=True)
class Candidate:
    """One point of the search space: the structure of an MMM."""

    yearly_seasonality: int
    l_max: int
    adstock: str = "geometric"
    saturation: str = "logistic"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Candidate:
        """The candidate an Optuna trial's ``params`` describe."""
        return cls(**{k: params[k] for k in CANDIDATE_FIELDS})


CANDIDATE_FIELDS = ("yearly_seasonality", "l_max", "adstock", "saturation")


@dataclass
class Timings:
    """Seconds spent per phase of one fit (compile = fit wall time minus sampling time)."""

    build: float = 0.0
    compile: float = 0.0
    sample: float = 0.0
    predict: float = 0.0

    def add(self, other: Timings) -> None:
        for key in ("build", "compile", "sample", "predict"):
            setattr(self, key, getattr(self, key) + getattr(other, key))

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class FitSettings:
    sampler: str
    draws: int
    tune: int
    chains: int
    sampler_kwargs: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def quiet_sampling():
    """Silence what PyMC, PyMC-Marketing and the backends print per fit.

    Their convergence advice ("the effective sample size per chain is smaller than 100",
    logged as an error) is the gate's job here, and their progress bars and logs would drown
    the study's own progress. Exceptions still raise.

    Standard output is silenced only in the main thread: ``sys.stdout`` belongs to the whole
    process, and a fit in a worker thread (a threaded Dask worker) would otherwise swallow, or
    break, what the main thread prints meanwhile.
    """
    loggers = [logging.getLogger(name) for name in ("pymc", "pymc_marketing", "jax", "numpyro")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    main_thread = threading.current_thread() is threading.main_thread()
    try:
        with warnings.catch_warnings(), open(os.devnull, "w") as null, \
                (contextlib.redirect_stdout(null) if main_thread else contextlib.nullcontext()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def true_candidate(truth: dict[str, Any]) -> Candidate:
    """The candidate whose structure is the truth's (``truth.json`` ``structure``)."""
    s = truth["structure"]
    return Candidate(s["yearly_seasonality"], s["l_max"], s["adstock"], s["saturation"])


def build_mmm(candidate: Candidate, columns: ColumnRoles, target_scale: float | None = None) -> pmm.MMM:
    """The MMM for ``candidate`` with PyMC-Marketing's default priors and scaling.

    By default the target is divided by its largest absolute value in the fitted data, so the
    priors on target-scale parameters depend on the data. ``target_scale`` fixes the divisor
    instead (PyMC-Marketing's ``FixedScaling``): simulation-based calibration needs a prior
    that does not move with the simulated data.
    """
    import pymc_marketing.mmm as pmm  # here, not at the top: a fake fitter's worker never pays for it

    adstock = getattr(pmm, ADSTOCK_FORMS[candidate.adstock].pymc_class)(l_max=candidate.l_max)
    saturation = getattr(pmm, SATURATION_FORMS[candidate.saturation].pymc_class)()
    scaling = None
    if target_scale is not None:
        from pymc_marketing.mmm.scaling import FixedScaling

        scaling = {"target": FixedScaling(dims=(), value=float(target_scale))}
    return pmm.MMM(
        date_column=columns.date,
        channel_columns=list(columns.channels),
        control_columns=list(columns.controls) or None,
        target_column=columns.target,
        adstock=adstock,
        saturation=saturation,
        yearly_seasonality=candidate.yearly_seasonality or None,
        scaling=scaling,
    )


def free_parameter_names(mmm: pmm.MMM) -> list[str]:
    """The sampled parameters (for convergence checks): no deterministics."""
    return [rv.name for rv in mmm.model.free_RVs]


def default_priors(candidate: Candidate, columns: ColumnRoles) -> dict[str, str]:
    """The priors a candidate's MMM uses, as text."""
    return {k: str(v) for k, v in build_mmm(candidate, columns).model_config.items()}


def fit(
    candidate: Candidate,
    columns: ColumnRoles,
    data: pd.DataFrame,
    settings: FitSettings,
    seed: int,
    target_scale: float | None = None,
) -> tuple[pmm.MMM, Timings]:
    """Fit ``candidate`` on ``data`` (all its rows); returns the fitted model and timings.

    ``target_scale``: a fixed divisor of the target (see :func:`build_mmm`).
    """
    timings = Timings()
    start = time.perf_counter()
    mmm = build_mmm(candidate, columns, target_scale)
    X = data.drop(columns=columns.target)
    y = data[columns.target]
    mmm.build_model(X, y)
    timings.build = time.perf_counter() - start
    start = time.perf_counter()
    with quiet_sampling():
        mmm.fit(
            X, y, draws=settings.draws, tune=settings.tune, chains=settings.chains,
            nuts_sampler=settings.sampler, random_seed=seed, progressbar=False,
            nuts_sampler_kwargs=dict(settings.sampler_kwargs) or None,
        )
    wall = time.perf_counter() - start
    sampling = mmm.idata["posterior"].attrs.get("sampling_time")
    timings.sample = float(sampling) if sampling is not None else wall
    timings.compile = max(wall - timings.sample, 0.0)
    return mmm, timings


def predict(
    mmm: pmm.MMM, columns: ColumnRoles, data: pd.DataFrame, *, seed: int, out_of_sample: bool
) -> tuple[np.ndarray, float]:
    """Posterior predictive draws of the target for ``data``, in target units.

    Returns an array ``(n_draws, n_weeks)`` and the seconds it took. Out of sample, adstock
    carries over from the last fitted weeks (``include_last_observations``); without it the
    first held-out weeks would start with no carry-over and be scored wrongly.
    """
    start = time.perf_counter()
    X = data.drop(columns=columns.target)
    with quiet_sampling():
        pp = mmm.sample_posterior_predictive(
            X, include_last_observations=out_of_sample, extend_idata=False,
            progressbar=False, random_seed=seed,
        )
    scale = float(mmm.idata["constant_data"]["target_scale"])
    draws = np.asarray(pp["y"].transpose("sample", "date").values) * scale
    return draws, time.perf_counter() - start


JAX_CACHE_LIMIT_MIB = 256.0
"""Clear JAX's compiled functions once the process has grown this much since the last clear."""

_baseline: dict[str, float] = {}
"""The resident size (MiB) after the last clear, or after the first fit."""


def _rss_mib() -> float | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def release(limit_mib: float | None = None) -> bool:
    """Free what the last fit left behind, so memory does not grow with the number of fits.

    Dropping the model is not enough: JAX keeps every function it compiled, and each fit
    compiles new ones (about 35 to 40 MB a trial on ``quickstart``). Clearing them after
    every fit costs about 4 s of compilation on the next one, so they are cleared only once
    the process has grown by ``limit_mib`` (default :data:`JAX_CACHE_LIMIT_MIB`) since the
    last clear: memory stays bounded and most fits keep the warm caches
    (``benchmarks/test_memory.py`` measures both). Where the resident size cannot be read,
    the caches are cleared every time. Returns whether they were cleared.
    """
    gc.collect()
    jax = sys.modules.get("jax")
    if jax is None:
        return False
    limit = JAX_CACHE_LIMIT_MIB if limit_mib is None else limit_mib
    rss = _rss_mib()
    if rss is not None and rss - _baseline.setdefault("rss", rss) < limit:
        return False
    jax.clear_caches()
    gc.collect()
    _baseline["rss"] = _rss_mib() or 0.0
    return True
