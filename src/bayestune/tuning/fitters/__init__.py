"""The fitter seam: build, fit, predict and diagnose one structure on one window.

A fitter is an object (or a class, instantiated without arguments, or a module) with:

``fit(candidate, columns, data, settings, seed) -> (fitted, Timings)``
    Fit :class:`~bayestune.tuning.model.Candidate` on every row of ``data`` (a frame with
    the dataset's columns) under :class:`~bayestune.tuning.model.FitSettings`.
``predict(fitted, columns, data, *, seed, out_of_sample) -> (draws, seconds)``
    Predictive draws of the target for ``data``, shape ``(m, weeks)``, in target units;
    out of sample, carry-over from the fitted weeks must be kept.
``diagnose(fitted) -> Diagnostics``
    The convergence record (:class:`~bayestune.tuning.gate.Diagnostics`) the gate checks.
``save(fitted, path, seed)``
    Write the fit for the evaluation layer (the final stage's two fits, ``fits/*.nc``).
    ``bayestune evaluate`` reads an ArviZ InferenceData netCDF with a ``prior`` group there
    (recovery and posterior contraction); a fitter that writes something else can be tuned
    and benchmarked on the search's figures, not evaluated for recovery.
``release()``
    Free what the last fit left behind (called after every fit).
``log_likelihood(fitted, columns, data) -> array`` (optional)
    Each posterior draw's log density of each week of ``data`` (the weeks after the fitted
    ones, carry-over kept), shape ``(draws, weeks)``, in target units: PSIS-LFO's importance
    weights (``validation = "lfo"``, :mod:`bayestune.tuning.lfo`), refused at config time for
    a fitter without it. ``pymc-marketing-nutpie`` has it.
``sampler_name`` (optional)
    The sampler the fitter runs, as ``trials.csv`` and ``environment.json`` record it beside
    the fitter's name: a string, or a method that takes the configured sampler (``--sampler``)
    and returns one (the default fitter runs the configured sampler; the
    ``pymc-marketing-nutpie`` fitter always runs nutpie). A fitter without it is recorded as
    running an ``"unknown"`` sampler.

A config names it (``fitter = "pymc-marketing"``) by a built-in name, an entry point of group
``bayestune.fitter`` or an import path ``package.module:object`` (:mod:`bayestune.plugins`).
Tests replace sampling through this seam, never by patching module globals.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from bayestune.plugins import has_methods, resolve
from bayestune.simulator.dataset import ColumnRoles

BUILTINS: dict[str, str] = {
    "pymc-marketing": "bayestune.tuning.fitters.pymc_marketing:PyMCMarketingFitter",
    "pymc-marketing-nutpie": "bayestune.tuning.fitters.pymc_marketing_nutpie:PyMCMarketingNutpieFitter",
}
DEFAULT = "pymc-marketing"
UNKNOWN_SAMPLER = "unknown"
"""What the records say a fitter without ``sampler_name`` runs."""


class Fitter(Protocol):
    def fit(self, candidate: Any, columns: ColumnRoles, data: pd.DataFrame, settings: Any, seed: int, /) -> tuple[Any, Any]: ...

    def predict(self, fitted: Any, columns: ColumnRoles, data: pd.DataFrame, *, seed: int,
                out_of_sample: bool) -> tuple[np.ndarray, float]: ...

    def diagnose(self, fitted: Any, /) -> Any: ...

    def save(self, fitted: Any, path: Path, seed: int, /) -> None: ...

    def release(self) -> None: ...


_POSITIONAL = {"fit": 5, "diagnose": 1, "save": 3, "release": 0}


def _check(obj: Any) -> str | None:
    problem = has_methods(obj, _POSITIONAL)
    if problem:
        return problem
    predict = getattr(obj, "predict", None)
    if predict is None:
        return "has no method 'predict'"
    try:
        inspect.signature(predict).bind(0, 0, 0, seed=0, out_of_sample=True)
    except TypeError:
        return f"method 'predict' has the wrong signature {inspect.signature(predict)}: it must take " \
               "(fitted, columns, data, *, seed, out_of_sample)"
    except ValueError:
        pass
    return None


def _instance(obj: Any) -> Any:
    return obj() if isinstance(obj, type) else obj


def _check_instance(obj: Any) -> str | None:
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as exc:  # noqa: BLE001 - a plug-in class that cannot be made is the user's to fix
            return f"is a class that cannot be made without arguments ({exc.__class__.__name__}: {exc})"
    return _check(obj)


def sampler_name(fitter: Any, configured: str) -> str:
    """The sampler ``fitter`` runs when ``configured`` is the configured one (its ``sampler_name``)."""
    name = getattr(fitter, "sampler_name", None)
    if callable(name):
        name = name(configured)
    return str(name) if name else UNKNOWN_SAMPLER


def resolve_fitter(name: str, where: str = "fitter") -> Fitter:
    """The fitter ``name`` stands for (a class is instantiated), checked."""
    return _instance(resolve("fitter", name, BUILTINS, _check_instance, where))
