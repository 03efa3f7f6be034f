"""The pruner seam: which Optuna pruner may stop a trial after a fold.

``[pruner] name = "median"`` (the default; ``kind`` is the older spelling of ``name``) with
``n_startup_trials`` and ``n_warmup_steps``; ``name = "none"`` never prunes. Any
:class:`optuna.pruners.BasePruner` subclass may be named instead, with ``kwargs``: a class of
:mod:`optuna.pruners` by its name (``PercentilePruner``, ``HyperbandPruner``,
``SuccessiveHalvingPruner``, ``ThresholdPruner``, ``WilcoxonPruner``, ...), an entry point of
group ``bayestune.pruner`` or an import path ``package.module:Class``. ``n_startup_trials``
and ``n_warmup_steps`` are passed to a class that takes them unless ``kwargs`` sets them.
A trial reports its running mean score after each fold (step = the fold's index).
"""

from __future__ import annotations

import inspect
from typing import Any

from bayestune.plugins import instantiate, resolve

DEFAULT = "median"
CLASSES = ("MedianPruner", "NopPruner", "PercentilePruner", "HyperbandPruner", "SuccessiveHalvingPruner",
           "ThresholdPruner", "WilcoxonPruner", "PatientPruner")
BUILTINS: dict[str, str] = {c: f"optuna.pruners:{c}" for c in CLASSES} | {
    "median": "optuna.pruners:MedianPruner", "none": "optuna.pruners:NopPruner",
    "percentile": "optuna.pruners:PercentilePruner", "hyperband": "optuna.pruners:HyperbandPruner",
    "successive-halving": "optuna.pruners:SuccessiveHalvingPruner", "threshold": "optuna.pruners:ThresholdPruner",
    "wilcoxon": "optuna.pruners:WilcoxonPruner"}


def _check(cls: Any) -> str | None:
    import optuna

    if not (isinstance(cls, type) and issubclass(cls, optuna.pruners.BasePruner)):
        return "is not an Optuna pruner class (a subclass of optuna.pruners.BasePruner)"
    return None


def takes(name: str, key: str) -> bool:
    """Whether the pruner ``name`` takes the keyword argument ``key`` (``n_startup_trials``, ...)."""
    return key in inspect.signature(resolve("pruner", name, BUILTINS, _check, "pruner")).parameters


def make_pruner(name: str, kwargs: dict[str, Any], n_startup_trials: int, n_warmup_steps: int,
                where: str = "pruner") -> Any:
    """The Optuna pruner ``name`` with ``kwargs`` (see the module doc)."""
    cls = resolve("pruner", name, BUILTINS, _check, where)
    return instantiate("pruner", name, cls, kwargs,
                       {"n_startup_trials": n_startup_trials, "n_warmup_steps": n_warmup_steps}, where)
