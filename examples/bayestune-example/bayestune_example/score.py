r"""A score: the Dawid-Sebastiani score of the predictive mean and standard deviation.

.. math::
    \mathrm{DSS}(F, y) = \left(\frac{y - \mu_F}{\sigma_F}\right)^2 + 2 \log \sigma_F

It is proper (it depends on the forecast only through its first two moments) and lower is
better (Dawid & Sebastiani 1999). bayestune calls a score with the observed weeks, shape
``(n,)``, and the predictive draws, shape ``(m, n)``, and wants one value per week back.

Dawid, A. P. and Sebastiani, P. (1999). Coherent dispersion criteria for optimal experimental
design. *The Annals of Statistics*, 27(1), 65-81.
"""

from __future__ import annotations

import numpy as np


def dawid_sebastiani(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Per-week Dawid-Sebastiani score of ``draws`` against ``observed``."""
    mu = draws.mean(axis=0)
    sigma = draws.std(axis=0, ddof=1)
    return ((observed - mu) / sigma) ** 2 + 2.0 * np.log(sigma)


dawid_sebastiani.description = "Dawid-Sebastiani score (mean and SD of the draws)"
