"""The Optuna sampler seam: which sampler proposes the structures, with what settings.

``optuna_sampler = { name = "TPESampler", kwargs = { n_startup_trials = 5 } }`` (or only
``optuna_sampler = "random"``) names any :class:`optuna.samplers.BaseSampler` subclass: a
class of :mod:`optuna.samplers` by its name (``TPESampler``, ``GPSampler``, ``CmaEsSampler``,
``QMCSampler``, ``RandomSampler``, ``GridSampler``, ...) or a short name (``tpe``, ``gp``,
``cmaes``, ``qmc``, ``random``, ``grid``), an entry point of group ``bayestune.optuna_sampler``
or an import path ``package.module:Class``. TPE is the default.

Two keyword arguments are filled in unless given: ``seed`` (the run's seed plus the
worker's rank, where the class takes one) and, for a class that takes a ``search_space``
(``GridSampler``), the config's space as a grid: every integer of the ``yearly_seasonality``
and ``l_max`` ranges and every listed adstock and saturation form. A grid sampler stops the
study once every point of the grid was tried, so a study may end with fewer trials than
``trials``.
"""

from __future__ import annotations

import importlib.util
import inspect
from typing import Any

from bayestune.errors import BayestuneError
from bayestune.plugins import instantiate, resolve

DEFAULT = "TPESampler"
SHORT = {"tpe": "TPESampler", "gp": "GPSampler", "cmaes": "CmaEsSampler", "qmc": "QMCSampler",
         "random": "RandomSampler", "grid": "GridSampler", "bruteforce": "BruteForceSampler"}
CLASSES = ("TPESampler", "GPSampler", "CmaEsSampler", "QMCSampler", "RandomSampler", "GridSampler",
           "BruteForceSampler", "NSGAIISampler", "NSGAIIISampler")
BUILTINS: dict[str, str] = {c: f"optuna.samplers:{c}" for c in CLASSES} | {
    short: f"optuna.samplers:{c}" for short, c in SHORT.items()}
REQUIRES = {"GPSampler": ("torch", "scipy"), "CmaEsSampler": ("cmaes",)}
"""Packages a built-in sampler imports only when it first samples: checked at load instead."""


def _check(cls: Any) -> str | None:
    import optuna

    if not (isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler)):
        return "is not an Optuna sampler class (a subclass of optuna.samplers.BaseSampler)"
    return None


def grid(space: Any) -> dict[str, list[Any]]:
    """The search space as a grid (``GridSampler``'s ``search_space``)."""
    ys, lm = space.yearly_seasonality, space.l_max
    return {"yearly_seasonality": list(range(ys[0], ys[1] + 1)), "l_max": list(range(lm[0], lm[1] + 1)),
            "adstock": list(space.adstock), "saturation": list(space.saturation)}


def make_sampler(name: str, kwargs: dict[str, Any], space: Any, seed: int, where: str = "optuna_sampler") -> Any:
    """The Optuna sampler ``name`` with ``kwargs`` (seed and grid filled in, see the module doc)."""
    cls = resolve("optuna_sampler", name, BUILTINS, _check, where)
    for package in REQUIRES.get(cls.__name__, ()) if cls.__module__.startswith("optuna.") else ():
        if importlib.util.find_spec(package) is None:
            raise BayestuneError(f"optuna_sampler: {name!r} needs the package {package!r} (pip install {package})",
                                 where)
    defaults = {"seed": seed}
    if "search_space" in inspect.signature(cls).parameters and "search_space" not in kwargs:
        defaults["search_space"] = grid(space)  # built only for a class that takes it
    return instantiate("optuna_sampler", name, cls, kwargs, defaults, where)


