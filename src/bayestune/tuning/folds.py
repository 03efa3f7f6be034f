"""Time-series validation folds: rolling origin (expanding window) or one tail holdout.

Which weeks are fitted and which are scored is the ``validation`` seam: a config names a fold
plan (``validation = "rolling"``) by a built-in name (``rolling``, ``tail``, ``lfo``: PSIS
leave-future-out, :mod:`bayestune.tuning.lfo`), an entry point of
group ``bayestune.validation`` or an import path ``package.module:object``
(:mod:`bayestune.plugins`). A plan is any callable ``plan(weeks, config) -> list[Fold]``.

The last ``test_weeks`` weeks form the final test window: the search never sees them, so
the final train/test gap is honest twice over (the fit and the selection never saw them).
The search's folds end where that window starts::

    |--------- fit ---------|h|                 fold 0
    |----------- fit -----------|h|             fold 1
    |------------- fit -------------|h|         fold 2
                                       |test|   final test window, never searched
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bayestune.errors import BayestuneError

if TYPE_CHECKING:
    from bayestune.tuning.config import TuningConfig


@dataclass(frozen=True)
class Fold:
    """Fit on weeks ``[0, train_end)``, predict weeks ``[train_end, test_end)``.

    With ``in_sample`` the fit covers the scored weeks too (``[0, test_end)``) and they are
    predicted in sample (``predict(out_of_sample=False)``): never honest, there for plans that
    measure what scoring fitted weeks does to a search (the bench's planted mutants).
    """

    index: int
    train_end: int
    test_end: int
    in_sample: bool = False

    @property
    def fit_end(self) -> int:
        """The fit covers weeks ``[0, fit_end)``."""
        return self.test_end if self.in_sample else self.train_end

    @property
    def horizon(self) -> int:
        return self.test_end - self.train_end


def search_folds(
    n_weeks: int, *, folds: int, horizon: int, test_weeks: int, min_train: int, step: int | None = None
) -> list[Fold]:
    """Expanding-window folds, each predicting the ``horizon`` weeks after its fit window.

    The last fold ends where the final test window begins; the others start ``step`` weeks
    apart (``step = horizon``, the default, puts them side by side).

    Parameters
    ----------
    n_weeks
        All weeks in the dataset.
    folds, horizon
        Number of folds and weeks predicted per fold (a tail holdout is ``folds=1``).
    test_weeks
        Final test weeks at the end, kept out of the search.
    min_train
        Fewest weeks the first fold may fit on (more than the largest ``l_max``).
    step
        Weeks between consecutive folds' origins (default ``horizon``).
    """
    step = horizon if step is None else step
    first_train = first_fold_end(n_weeks - test_weeks, folds=folds, horizon=horizon, step=step)
    if first_train < min_train:
        raise BayestuneError(
            f"too few weeks: {n_weeks} weeks leave {first_train} to fit the first fold, "
            f"need at least {min_train} ({_span(folds, horizon, step)} + {test_weeks} "
            "final test weeks); lower --folds, --horizon, --step or final.test_weeks",
            "data.csv",
        )
    return [Fold(i, first_train + i * step, first_train + i * step + horizon) for i in range(folds)]


def first_fold_end(search_end: int, *, folds: int, horizon: int, step: int | None = None) -> int:
    """The weeks the first of ``folds`` rolling folds fits on, the last fold scoring the
    ``horizon`` weeks before ``search_end`` and their origins ``step`` weeks apart (default ``horizon``)."""
    return search_end - horizon - (folds - 1) * (horizon if step is None else step)


def _span(folds: int, horizon: int, step: int) -> str:
    if step == horizon:
        return f"{folds} fold(s) x {horizon} weeks"
    return f"{folds} fold(s) of {horizon} weeks, {step} week(s) apart"


BUILTINS: dict[str, str] = {"rolling": "bayestune.tuning.folds:rolling", "tail": "bayestune.tuning.folds:tail",
                            "lfo": "bayestune.tuning.lfo:lfo"}


def rolling(weeks: int, config: TuningConfig) -> list[Fold]:
    """Rolling origin: ``config.folds`` expanding windows ``config.step`` weeks apart (default:
    ``horizon``), each scoring the ``horizon`` weeks after it."""
    from bayestune.simulator.dataset import required_weeks

    return search_folds(weeks, folds=config.folds, horizon=config.horizon, test_weeks=config.final.test_weeks,
                        min_train=required_weeks(config.space.l_max[1], 0), step=config.step)


def tail(weeks: int, config: TuningConfig) -> list[Fold]:
    """One tail holdout: the ``horizon`` weeks before the final test window."""
    from bayestune.simulator.dataset import required_weeks

    return search_folds(weeks, folds=1, horizon=config.horizon, test_weeks=config.final.test_weeks,
                        min_train=required_weeks(config.space.l_max[1], 0))


def _check(plan: object) -> str | None:
    from bayestune.plugins import positional_arity

    return positional_arity(plan, 2)


def resolve_plan(name: str, where: str = "validation"):
    """The fold plan ``name`` stands for, checked; a bad name raises a one-line error."""
    from bayestune.plugins import resolve

    return resolve("validation", name, BUILTINS, _check, where)


def fold_plan(weeks: int, config: TuningConfig) -> list[Fold]:
    """The search folds for ``weeks`` weeks of data under a tuning config (its ``validation`` plan)."""
    return list(resolve_plan(config.validation)(weeks, config))


def final_split(n_weeks: int, test_weeks: int) -> Fold:
    """The final stage's split: fit on everything before the final test window."""
    return Fold(-1, n_weeks - test_weeks, n_weeks)
