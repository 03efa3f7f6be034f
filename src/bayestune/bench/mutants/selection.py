"""Two broken selection rules, planted to test the benchmark's judges (selection seam).

``highest`` chooses the trial with the highest mean score (the worst one): a sign error in a
methodology. ``most_complex`` chooses the completed trial with the largest structure
(Fourier order, then ``l_max``, then the forms' parameter counts): a methodology that always
prefers the richest model, whatever the held-out weeks say. Both are ordinary selection
rules (:mod:`bayestune.tuning.selection`), named in a config by import path.
"""

from __future__ import annotations

from collections.abc import Sequence

from bayestune.tuning.selection import Scored, simplicity


def highest(trials: Sequence[Scored]) -> Scored:
    """The trial with the highest mean score (ties: the earlier trial)."""
    return max(trials, key=lambda t: (t.value, -t.number))


def most_complex(trials: Sequence[Scored]) -> Scored:
    """The completed trial with the largest (Fourier order, ``l_max``, adstock, saturation)
    (ties: the lower score, then the earlier trial)."""
    return max(trials, key=lambda t: (simplicity(t.params), -t.value, -t.number))


highest.description = "planted mutant: highest mean score (the worst trial)"  # type: ignore[attr-defined]
most_complex.description = "planted mutant: the most complex structure tried"  # type: ignore[attr-defined]
