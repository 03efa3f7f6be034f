"""A broken fitter, planted to test the benchmark's judges: held-out weeks without carry-over.

:class:`NoCarryOver` wraps another fitter and passes every call through, except that its
held-out predictions drop the adstock carried over from the fitted weeks: it predicts them
with ``out_of_sample=False``, as if the held-out window were a series of its own that starts
from zero adstock. The first weeks of every fold are then under-predicted by what the last
fitted weeks' spend still contributes.

A config names it with the wrapped fitter in parentheses, by a built-in name or an import
path (the fitter seam's own strings)::

    fitter = "bayestune.bench.mutants.carry_over:NoCarryOver(pymc-marketing)"
    fitter = "bayestune.bench.mutants.carry_over:NoCarryOver(tests.tuning.fakes:FakeFitter)"

The plug-in loader calls :class:`NoCarryOver` with the text between the parentheses
(:mod:`bayestune.plugins`, a factory with one argument).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayestune.tuning.fitters import Fitter, resolve_fitter

PREFIX = "NoCarryOver("


def name_for(inner: str) -> str:
    """The fitter string of :class:`NoCarryOver` around the fitter named ``inner``."""
    return f"{__name__}:{PREFIX}{inner})"


class NoCarryOver:
    """``inner``, with every held-out prediction started from zero adstock."""

    def __init__(self, inner: Fitter | str) -> None:
        self.inner = resolve_fitter(inner) if isinstance(inner, str) else inner
        self.description = f"planted mutant: {inner!s} without carry-over into held-out weeks"

    def fit(self, candidate: Any, columns: Any, data: pd.DataFrame, settings: Any, seed: int) -> tuple[Any, Any]:
        return self.inner.fit(candidate, columns, data, settings, seed)

    def predict(self, fitted: Any, columns: Any, data: pd.DataFrame, *, seed: int,
                out_of_sample: bool) -> tuple[np.ndarray, float]:
        return self.inner.predict(fitted, columns, data, seed=seed, out_of_sample=False)

    def diagnose(self, fitted: Any) -> Any:
        return self.inner.diagnose(fitted)

    def save(self, fitted: Any, path: Path, seed: int) -> None:
        self.inner.save(fitted, path, seed)

    def release(self) -> None:
        self.inner.release()

