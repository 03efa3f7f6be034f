"""The ``crps`` score: the fair ensemble CRPS (:func:`bayestune.evaluation.metrics.crps_ensemble`)."""

from __future__ import annotations

import numpy as np

from bayestune.evaluation.metrics import crps_ensemble


def crps(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    r"""Per-week fair CRPS, in target units.

    .. math::
        \widehat{\mathrm{CRPS}}(F, y) = \frac{1}{m}\sum_i |x_i - y|
        - \frac{1}{2m(m-1)}\sum_{i,j} |x_i - x_j|

    (Ferro 2014); see :mod:`bayestune.evaluation.metrics`.
    """
    return crps_ensemble(observed, draws, estimator="fair")


crps.description = "fair CRPS, target units"  # type: ignore[attr-defined]


def _weighted(observed: np.ndarray, draws: np.ndarray, weights: np.ndarray) -> np.ndarray:
    from bayestune.scores.weighted import weighted_crps

    return weighted_crps(observed, draws, weights)


crps.weighted = _weighted  # type: ignore[attr-defined]
