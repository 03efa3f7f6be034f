"""The score seam: a per-week proper score of predictive draws against observations.

A score is any callable ``score(observed, draws) -> per_week`` with ``observed`` of shape
``(n,)``, ``draws`` of shape ``(m, n)`` (draws on axis 0, PyMC-Marketing's convention) and a
finite array of shape ``(n,)`` returned, lower being better. An optional ``description``
attribute says what it is. A config names it (``score = "crps"``) by a built-in name, an
entry point of group ``bayestune.score`` or an import path ``package.module:object``
(:mod:`bayestune.plugins`).

The score ranks the search's trials: each fold's score, the oracle trial's and the
replicate refits' are computed with it, so regret and the selection rules compare like with
like. The run dir keeps the historical field names (``value``, ``fold_crps``,
``week_crps``) for whatever score the run used, and names that score in ``best.json``. The
final stage's train/test pair and the report stay in CRPS, whatever the search's score.

Built-ins, one module each:

``crps`` (:mod:`~bayestune.scores.crps`)
    The fair ensemble CRPS, in target units (the default).
``interval`` (:mod:`~bayestune.scores.interval`)
    The weighted interval score over 11 central intervals and the median, in target units.
``log`` (:mod:`~bayestune.scores.logscore`)
    The ensemble log score: minus the log density of a Gaussian kernel estimate, in nats.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from bayestune.plugins import one_line, positional_arity, resolve
from bayestune.rundir import CRPS_UNITS

BUILTINS: dict[str, str] = {
    "crps": "bayestune.scores.crps:crps",
    "interval": "bayestune.scores.interval:weighted_interval_score",
    "log": "bayestune.scores.logscore:log_score",
}
DEFAULT = "crps"


class Score(Protocol):
    """Per-week score of ``draws`` (shape ``(m, n)``) against ``observed`` (shape ``(n,)``)."""

    def __call__(self, observed: np.ndarray, draws: np.ndarray, /) -> np.ndarray: ...


def _check(score: Any) -> str | None:
    return positional_arity(score, 2)


def resolve_score(name: str, where: str = "score") -> Score:
    """The score ``name`` stands for, checked; a bad name raises a one-line error."""
    return resolve("score", name, BUILTINS, _check, where)


def describe(name: str) -> str:
    """One line saying what score ``name`` is."""
    return one_line(resolve_score(name), name)


def per_week(name: str, observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Score ``draws`` against ``observed`` with the score ``name``, checking what it returns."""
    out = np.asarray(resolve_score(name)(np.asarray(observed, dtype=float), np.asarray(draws, dtype=float)),
                     dtype=float)
    if out.shape != np.shape(observed):
        raise ValueError(f"score {name!r} returned shape {out.shape}, expected one value per week "
                         f"{np.shape(observed)}")
    return out


def score_units(name: str) -> str:
    """What the search's ``value``/``fold_crps``/``week_crps`` hold under the score ``name``."""
    if name == DEFAULT:
        return CRPS_UNITS
    return f"score {name!r} ({describe(name)}), mean per held-out week over folds"
