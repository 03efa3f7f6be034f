"""A broken fold plan, planted to test the benchmark's judges: scoring on fitted weeks.

:func:`in_sample` scores the same weeks as the rolling-origin plan
(:func:`bayestune.tuning.folds.rolling`), but each fold's fit covers them: the trial loop
fits weeks ``[0, test_end)`` and scores ``[train_end, test_end)`` with the in-sample
predictive. It is the seed blog's first trap made a methodology: a richer structure fits
weeks it has seen more closely, so the search drifts toward complexity. A config names it
as its ``validation``::

    validation = "bayestune.bench.mutants.in_sample:in_sample"
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bayestune.tuning.folds import Fold, rolling


def in_sample(weeks: int, config: Any) -> list[Fold]:
    """The rolling folds, each scored on weeks its fit saw."""
    return [replace(f, in_sample=True) for f in rolling(weeks, config)]


in_sample.description = "planted mutant: rolling folds scored on fitted weeks"  # type: ignore[attr-defined]
