"""Which completed trial the study chooses: the selection seam.

A selection rule is any callable ``rule(trials) -> Scored`` that takes the completed trials
(a non-empty sequence of :class:`Scored`) and returns the chosen one. A config names it
(``selection = "one-se"``) by a built-in name, an entry point of group
``bayestune.selection`` or an import path ``package.module:object``
(:mod:`bayestune.plugins`). Two optional attributes are used where present:
``description`` (one line for ``best.json`` and the report; else the docstring's first line)
and ``within(trials) -> Sequence[Scored]`` (the trials the rule held indistinguishable from
the lowest; recorded as ``within_one_se``).

Built-ins, one module each:

``lowest`` (:mod:`~bayestune.tuning.selection.lowest`)
    The trial with the lowest mean cross-validated score.
``one-se`` (:mod:`~bayestune.tuning.selection.one_se`)
    The simplest structure within one paired standard error of the lowest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bayestune.plugins import one_line, positional_arity, resolve

BUILTINS: dict[str, str] = {
    "lowest": "bayestune.tuning.selection.lowest:lowest",
    "one-se": "bayestune.tuning.selection.one_se:one_se",
}
RULES: tuple[str, ...] = tuple(BUILTINS)
ADSTOCK_PARAMETERS = {"geometric": 1, "delayed": 2, "weibull_pdf": 2, "weibull_cdf": 2}
SATURATION_PARAMETERS = {"logistic": 2, "tanh": 2, "michaelis_menten": 2, "hill": 3}


@dataclass(frozen=True)
class Scored:
    """A completed trial as the selection sees it: its mean score and per-week scores by fold."""

    number: int
    params: dict[str, Any]
    value: float
    week_crps: Sequence[Sequence[float]]


class SelectionRule(Protocol):
    """Takes the completed trials (never empty) and returns the chosen one."""

    def __call__(self, trials: Sequence[Scored], /) -> Scored: ...


def _check(rule: Any) -> str | None:
    problem = positional_arity(rule, 1)
    if problem is None and hasattr(rule, "within"):
        problem = positional_arity(rule.within, 1)
        return f"attribute 'within' {problem}" if problem else None
    return problem


def resolve_rule(name: str, where: str = "selection") -> SelectionRule:
    """The rule ``name`` stands for, checked; a bad name raises a one-line error."""
    return resolve("selection", name, BUILTINS, _check, where)


def describe(name: str) -> str:
    """One line saying what rule ``name`` does."""
    return one_line(resolve_rule(name), name)


@dataclass(frozen=True)
class Selection:
    chosen: Scored
    rule: str
    lowest: Scored
    within: list[int] = field(default_factory=list)
    """Trial numbers the rule held indistinguishable from the lowest (the lowest included)."""
    replicates: dict[str, Any] | None = None
    """With replicate refits: what they found and cost (:mod:`bayestune.tuning.replicates`)."""

    def to_dict(self) -> dict[str, Any]:
        out = {"rule": self.rule, "description": describe(self.rule), "lowest_trial": self.lowest.number,
               "lowest_crps": self.lowest.value, "within_one_se": self.within}
        return out | ({"replicates": self.replicates} if self.replicates else {})


def scored_trials(trials: Any) -> list[Scored]:
    """The completed trials of a ``trials.csv`` frame (as :func:`pandas.read_csv` reads it)."""
    done = trials[trials["state"] == "COMPLETE"]
    return [Scored(int(t["number"]), {k: t[k] for k in ("yearly_seasonality", "l_max", "adstock", "saturation")},
                   float(t["value"]), json.loads(t["week_crps"])) for _, t in done.iterrows()]


def simplicity(params: dict[str, Any]) -> tuple[int, int, int, int]:
    """Smaller is simpler: Fourier order, ``l_max``, adstock then saturation parameter counts."""
    return (int(params["yearly_seasonality"]), int(params["l_max"]),
            ADSTOCK_PARAMETERS.get(params["adstock"], 9), SATURATION_PARAMETERS.get(params["saturation"], 9))


def select(trials: Sequence[Scored], rule: str = "lowest") -> Selection | None:
    """Choose among completed trials by the rule named ``rule``; ``None`` when there is none."""
    chooser = resolve_rule(rule)
    if not trials:
        return None
    trials = list(trials)
    lowest = min(trials, key=lambda t: (t.value, t.number))
    chosen = chooser(trials)
    if not any(chosen is t or chosen == t for t in trials):
        from bayestune.errors import BayestuneError

        raise BayestuneError("the rule returned something that is not one of the trials it was given",
                             f"selection {rule!r}")
    within = sorted(t.number for t in chooser.within(trials)) if hasattr(chooser, "within") else [chosen.number]
    return Selection(chosen, rule, lowest, within)

