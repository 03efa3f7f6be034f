"""The ``lowest`` selection rule: the trial with the lowest mean cross-validated score.

What the seed recipe does. It partly selects MCMC and week-to-week noise, because
differences between structures are often smaller than that noise (see ``one-se``).
"""

from __future__ import annotations

from collections.abc import Sequence

from bayestune.tuning.selection import Scored


def lowest(trials: Sequence[Scored]) -> Scored:
    """The trial with the lowest mean score (ties: the earlier trial)."""
    return min(trials, key=lambda t: (t.value, t.number))


lowest.description = "lowest mean CRPS"  # type: ignore[attr-defined]
