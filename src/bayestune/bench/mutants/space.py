"""A broken search space, planted to test the benchmark's judges: a space without the truth.

The true ``l_max`` and Fourier order differ by scenario (and, for drawn worlds, by seed), so
the cut is made per cell, where the bench knows the simulated truth: :func:`without_truth`
narrows each named range of the cell's space to the values below the true one (above it when
the truth sits at the range's low end). The cut space is written into the cell's tuning
config, so the cell records, resumes and replays like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bayestune.errors import BayestuneError

LOWEST = {"yearly_seasonality": 0, "l_max": 1}
"""The smallest value each cut dimension may take."""


def cut(low: int, high: int, true: int, floor: int) -> tuple[int, int] | None:
    """``[low, high]`` without ``true``: the part below it, else the part above; ``None`` when
    ``true`` is the range's only value. A range that already excludes ``true`` is kept."""
    if not low <= true <= high:
        return low, high
    if true - 1 >= max(low, floor):
        return low, true - 1
    if true + 1 <= high:
        return true + 1, high
    return None


def true_structure(scenario: str, seed: int) -> dict[str, Any]:
    """The simulated truth's structure for a scenario and seed (simulated here: cheap)."""
    from bayestune import simulator

    return dict(simulator.simulate(scenario, seed=seed).truth["structure"])


def without_truth(space: dict[str, Any], structure: dict[str, Any], dims: Iterable[str], where: str) -> dict[str, Any]:
    """``space`` (a tuning config's ``space`` table, defaults filled in) with each of ``dims``
    cut so that the true value lies outside it."""
    out = dict(space)
    for dim in dims:
        low, high = space[dim]
        got = cut(int(low), int(high), int(structure[dim]), LOWEST[dim])
        if got is None:
            raise BayestuneError(f"the space's {dim} range [{low}, {high}] holds only the true value "
                                 f"{structure[dim]}: it cannot be cut to exclude it", where)
        out[dim] = list(got)
    return out
