"""Reference media transforms in NumPy: adstock kernels, saturation curves, Fourier features.

Each function reproduces the PyMC-Marketing transform of the same name for the same
parameters (``tests/simulator/test_transforms.py`` checks this against ``.eval()`` of
PyMC-Marketing's own graphs). Spend enters the saturation curves on PyMC-Marketing's
scale: a fraction of the channel's largest weekly spend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

DAYS_IN_YEAR = 365.25
"""Length of PyMC-Marketing's yearly Fourier period, in days."""

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------- adstock
def geometric_weights(alpha: float, l_max: int) -> FloatArray:
    r"""Unnormalised geometric adstock weights.

    .. math:: w_\ell = \alpha^{\ell}, \quad \ell = 0, \dots, l_{max} - 1
    """
    return np.power(float(alpha), np.arange(l_max, dtype=float))


def delayed_weights(alpha: float, theta: float, l_max: int) -> FloatArray:
    r"""Unnormalised delayed adstock weights, peaking at lag ``theta``.

    .. math:: w_\ell = \alpha^{(\ell - \theta)^2}
    """
    lags = np.arange(l_max, dtype=float)
    return np.power(float(alpha), (lags - float(theta)) ** 2)


def weibull_pdf_weights(lam: float, k: float, l_max: int) -> FloatArray:
    r"""Weibull-PDF adstock weights (scale ``lam``, shape ``k``), min-max rescaled.

    .. math:: f(t) = \frac{k}{\lambda}\left(\frac{t}{\lambda}\right)^{k-1}
              e^{-(t/\lambda)^k}, \quad t = 1, \dots, l_{max};\qquad
              w = \frac{f - \min f}{\max f - \min f}

    The min-max step is PyMC-Marketing's; it makes the smallest weight exactly zero.
    """
    t = np.arange(1, l_max + 1, dtype=float)
    z = t / lam
    f = (k / lam) * np.power(z, k - 1.0) * np.exp(-np.power(z, k))
    return (f - f.min()) / (f.max() - f.min())


def weibull_cdf_weights(lam: float, k: float, l_max: int) -> FloatArray:
    r"""Weibull-CDF adstock weights: the cumulative survival of a Weibull hazard.

    .. math:: w_0 = 1, \quad w_\ell = \prod_{t=1}^{\ell} e^{-(t/\lambda)^k}
    """
    t = np.arange(1, l_max, dtype=float)
    survival = np.exp(-np.power(t / lam, k))
    return np.cumprod(np.concatenate([[1.0], survival]))


def normalise(weights: ArrayLike) -> FloatArray:
    """Scale weights to sum to one (PyMC-Marketing's ``normalize=True``)."""
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def apply_adstock(x: ArrayLike, weights: ArrayLike) -> FloatArray:
    r"""Carry spend forward in time with lag weights (causal, zero history).

    .. math:: a_t = \sum_{\ell=0}^{L-1} w_\ell \, x_{t-\ell}, \qquad x_{t<0} = 0

    Parameters
    ----------
    x
        Spend, time on axis 0 (any trailing axes, e.g. channels).
    weights
        Lag weights, ``weights[0]`` for the current week; 1-D, or 2-D ``(L, channels)``.
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(weights, dtype=float)
    out = np.zeros_like(x)
    n = x.shape[0]
    for lag in range(min(w.shape[0], n)):
        out[lag:] += w[lag] * x[: n - lag]
    return out


def effective_l_max(weights: ArrayLike, mass: float = 0.99) -> int:
    """The shortest number of lags holding ``mass`` of the kernel's total weight.

    An ``l_max`` beyond this changes the transform by less than ``1 - mass`` of its
    size, which is why ``l_max`` is weakly identified past it.
    """
    w = normalise(weights)
    return int(np.searchsorted(np.cumsum(w), mass - 1e-12) + 1)


# ------------------------------------------------------------------------ saturation
def logistic(x: ArrayLike, lam: float, beta: float) -> FloatArray:
    r"""Logistic saturation. :math:`f(x) = \beta\,\frac{1 - e^{-\lambda x}}{1 + e^{-\lambda x}}`."""
    e = np.exp(-lam * np.asarray(x, dtype=float))
    return beta * (1.0 - e) / (1.0 + e)


def hill(x: ArrayLike, slope: float, kappa: float, beta: float) -> FloatArray:
    r"""Hill saturation. :math:`f(x) = \beta\,\frac{x^s}{x^s + \kappa^s}`, 0 at ``x <= 0``."""
    x = np.asarray(x, dtype=float)
    safe = np.where(x > 0, x, 1.0)
    value = 1.0 / (1.0 + np.exp(-slope * (np.log(safe) - np.log(kappa))))
    return beta * np.where(x > 0, value, 0.0)


def michaelis_menten(x: ArrayLike, alpha: float, lam: float) -> FloatArray:
    r"""Michaelis–Menten saturation. :math:`f(x) = \frac{\alpha x}{\lambda + x}`."""
    x = np.asarray(x, dtype=float)
    return alpha * x / (lam + x)


def tanh(x: ArrayLike, b: float, c: float) -> FloatArray:
    r"""Tanh saturation. :math:`f(x) = b \tanh\!\left(\frac{x}{b c}\right)`."""
    return b * np.tanh(np.asarray(x, dtype=float) / (b * c))


# ----------------------------------------------------------------------- seasonality
def fourier_features(dates: pd.DatetimeIndex | ArrayLike, order: int) -> pd.DataFrame:
    r"""Yearly Fourier features exactly as PyMC-Marketing's MMM builds them.

    With :math:`p = \mathrm{dayofyear} / 365.25`, columns ``sin_1..sin_K`` then
    ``cos_1..cos_K`` hold :math:`\sin(2\pi k p)` and :math:`\cos(2\pi k p)`.
    """
    index = pd.DatetimeIndex(dates)
    period = index.day_of_year.to_numpy(dtype=float) / DAYS_IN_YEAR
    k = np.arange(1, order + 1)
    angle = 2.0 * np.pi * period[:, None] * k[None, :]
    columns = [f"sin_{i}" for i in k] + [f"cos_{i}" for i in k]
    return pd.DataFrame(np.hstack([np.sin(angle), np.cos(angle)]), columns=columns)


# -------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class AdstockForm:
    """An adstock form: its parameters, their bounds and its weight function."""

    name: str
    pymc_class: str
    params: tuple[str, ...]
    bounds: dict[str, tuple[float, float, bool]]
    """Per parameter ``(low, high, high_inclusive)``; ``low`` is always inclusive."""
    weights: Callable[..., FloatArray]

    def kernel(self, params: dict[str, float], l_max: int) -> FloatArray:
        """Normalised lag weights for ``params`` (PyMC-Marketing's default ``normalize=True``)."""
        return normalise(self.weights(**params, l_max=l_max))


@dataclass(frozen=True)
class SaturationForm:
    """A saturation form: its parameters, which of them carry target units, its curve."""

    name: str
    pymc_class: str
    params: tuple[str, ...]
    amplitude: tuple[str, ...]
    """Parameters in target units: divided by the target scale on PyMC-Marketing's scale."""
    inverse_amplitude: tuple[str, ...]
    """Parameters in inverse target units: multiplied by the target scale."""
    curve: Callable[..., FloatArray]


_POS = (0.0, np.inf, False)
ADSTOCK_FORMS: dict[str, AdstockForm] = {
    "geometric": AdstockForm(
        "geometric", "GeometricAdstock", ("alpha",), {"alpha": (0.0, 1.0, False)},
        geometric_weights,
    ),
    "delayed": AdstockForm(
        "delayed", "DelayedAdstock", ("alpha", "theta"),
        {"alpha": (0.0, 1.0, False), "theta": (0.0, np.inf, False)}, delayed_weights,
    ),
    "weibull_pdf": AdstockForm(
        "weibull_pdf", "WeibullPDFAdstock", ("lam", "k"), {"lam": _POS, "k": _POS},
        weibull_pdf_weights,
    ),
    "weibull_cdf": AdstockForm(
        "weibull_cdf", "WeibullCDFAdstock", ("lam", "k"), {"lam": _POS, "k": _POS},
        weibull_cdf_weights,
    ),
}

SATURATION_FORMS: dict[str, SaturationForm] = {
    "logistic": SaturationForm(
        "logistic", "LogisticSaturation", ("lam", "beta"), ("beta",), (), logistic
    ),
    "hill": SaturationForm(
        "hill", "HillSaturation", ("slope", "kappa", "beta"), ("beta",), (), hill
    ),
    "michaelis_menten": SaturationForm(
        "michaelis_menten", "MichaelisMentenSaturation", ("alpha", "lam"), ("alpha",), (),
        michaelis_menten,
    ),
    "tanh": SaturationForm("tanh", "TanhSaturation", ("b", "c"), ("b",), ("c",), tanh),
}
