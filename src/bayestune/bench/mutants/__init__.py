"""Planted mutants: deliberately broken methodologies the benchmark must flag.

A benchmark is only as good as the differences it detects, so it tests itself. Beside a
suite's default methodology, ``bayestune bench --mutants`` (or a suite's ``[mutants]``
table) runs each of these, built from the default through the seams:

``random-choice``
    One trial from Optuna's random sampler: no search at all.
``highest-score``
    The selection rule chooses the trial with the highest (worst) mean score
    (:func:`~bayestune.bench.mutants.selection.highest`).
``in-sample``
    The folds score weeks the fit saw, with the in-sample predictive
    (:func:`~bayestune.bench.mutants.in_sample.in_sample`, the ``validation`` seam).
``no-carry-over``
    Held-out weeks predicted without the adstock carried over from the fitted weeks
    (:class:`~bayestune.bench.mutants.carry_over.NoCarryOver` around the default's fitter).
``space-without-truth``
    Each cell's space cut so that the true Fourier order and ``l_max`` lie outside it
    (:mod:`~bayestune.bench.mutants.space`, per cell, from the simulated truth).
``most-complex``
    The selection rule chooses the most complex structure tried
    (:func:`~bayestune.bench.mutants.selection.most_complex`).

and ``reruns`` reruns of the unchanged default (``<default>-rerun<k>``), on the same datasets
with other study seeds (``study_seed``). :mod:`bayestune.bench.catch` then says which the
suite's judges flag: the catch rate over the mutants, the false-alarm rate over the reruns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bayestune.errors import BayestuneError

if TYPE_CHECKING:
    from bayestune.bench.suite import Methodology, Suite

RERUN = "rerun"
"""The ``mutant`` field of a reseeded rerun of the default."""
RERUN_SEED_STEP = 1000
"""Rerun ``k`` seeds its studies with each cell's seed plus ``k`` times this."""


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    replace: Callable[[dict[str, Any]], dict[str, Any]]
    """From the default's tuning config data (the suite's ``[tuning]`` merged in): the top-level
    keys the mutant replaces."""
    exclude_truth: tuple[str, ...] = ()


def _no_carry_over(tuning: dict[str, Any]) -> dict[str, Any]:
    from bayestune.bench.mutants.carry_over import name_for
    from bayestune.tuning.fitters import DEFAULT

    return {"fitter": name_for(tuning.get("fitter", DEFAULT))}


MUTANTS: dict[str, Mutant] = {m.name: m for m in (
    Mutant("random-choice", "one trial from a random sampler: no search",
           lambda t: {"trials": 1, "optuna_sampler": "random", "replicates": 0}),
    Mutant("highest-score", "selection by the highest (worst) mean score",
           lambda t: {"selection": "bayestune.bench.mutants.selection:highest"}),
    Mutant("in-sample", "folds scored on weeks the fit saw (in-sample predictive)",
           lambda t: {"validation": "bayestune.bench.mutants.in_sample:in_sample"}),
    Mutant("no-carry-over", "held-out weeks predicted without adstock carry-over", _no_carry_over),
    Mutant("space-without-truth", "each cell's space cut to exclude the true Fourier order and l_max",
           lambda t: {}, exclude_truth=("yearly_seasonality", "l_max")),
    Mutant("most-complex", "selection of the most complex structure tried",
           lambda t: {"selection": "bayestune.bench.mutants.selection:most_complex"}),
)}


def base_methodology(suite: Suite) -> str:
    """The methodology the mutants break and the reruns repeat: the suite's default (the first
    gated methodology that is not the reference), as the paired comparisons name it."""
    methods = suite.methodologies
    name = next((m for m in suite.spec.gate.methodologies if m in methods and not methods[m].reference), None)
    if name is None:
        raise BayestuneError("mutants need a default methodology: name one in [gate] methodologies "
                             "that is not the reference", f"{suite.path}: mutants")
    return name


def planted(suite: Suite, names: Sequence[str], reruns: int, draws: int = 1) -> dict[str, Methodology]:
    """The mutant and rerun methodologies of ``suite``, by name (not yet in the suite); with
    ``draws`` > 1 each mutant also as ``<name>-draw<k>``, its studies seeded ``1000·(k-1)``
    higher (a random choice is one draw of a lottery: the gate judges the draws pooled)."""
    from bayestune.bench.suite import Methodology, merge

    where = f"{suite.path}: mutants"
    unknown = [n for n in names if n not in MUTANTS]
    if unknown:
        raise BayestuneError(f"unknown mutant {unknown[0]!r} (known: {', '.join(MUTANTS)})", where)
    base_name = base_methodology(suite)
    base = suite.methodologies[base_name]
    merged = merge(suite.spec.tuning, base.tuning)
    out: dict[str, Methodology] = {}
    for name in names:
        m = MUTANTS[name]
        for k in range(1, draws + 1):
            out[name if k == 1 else f"{name}-draw{k}"] = Methodology(
                description=f"planted mutant of {base_name}: {m.description}"
                            + (f" (draw {k}, its studies seeded {(k - 1) * RERUN_SEED_STEP} higher)" if k > 1 else ""),
                tuning=dict(base.tuning) | m.replace(merged), exclude_truth=m.exclude_truth, mutant=name,
                study_seed=(k - 1) * RERUN_SEED_STEP)
    for k in range(1, reruns + 1):
        out[f"{base_name}-rerun{k}"] = Methodology(
            description=f"{base_name} again, its studies seeded {k * RERUN_SEED_STEP} higher on the same datasets",
            tuning=dict(base.tuning), study_seed=k * RERUN_SEED_STEP, mutant=RERUN)
    clash = [n for n in out if n in suite.methodologies]
    if clash:
        raise BayestuneError(f"the suite already has a methodology named {clash[0]!r}", where)
    return out
