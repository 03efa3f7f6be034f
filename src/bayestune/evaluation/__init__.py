"""Evaluation: how good was the choice, against the truth, and what did it cost.

>>> from bayestune.evaluation import evaluate          # doctest: +SKIP
>>> report = evaluate("runs/q1")                        # writes report.json, report.md, figures/
>>> print("\\n".join(report.headline))

Modules: :mod:`~bayestune.evaluation.metrics` (CRPS and paired comparisons),
:mod:`~bayestune.evaluation.recovery` (NRMSE, calibration error, contraction, kernel L1, and
their use on a fit), :mod:`~bayestune.evaluation.selection` (truth scores of the choice),
:mod:`~bayestune.evaluation.gap` (train/test gap), :mod:`~bayestune.evaluation.runtime`,
:mod:`~bayestune.evaluation.figures`, :mod:`~bayestune.evaluation.report` and
:mod:`~bayestune.evaluation.markdown`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bayestune.evaluation.report import Report


def evaluate(*args: Any, **kwargs: Any) -> Report:
    """See :func:`bayestune.evaluation.report.evaluate` (imported lazily: tuning imports
    :mod:`bayestune.evaluation.metrics` and must not pay for the report's imports)."""
    from bayestune.evaluation.report import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


__all__ = ["evaluate"]
