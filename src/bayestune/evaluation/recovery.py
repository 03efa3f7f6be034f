r"""Parameter recovery: how well a posterior recovers known true values.

On simulated data the true parameter values :math:`\theta^\ast` are known, so a fitted
posterior can be scored against them. The definitions follow BayesFlow 2
(``bayesflow.diagnostics.metrics``); only the layout differs.

**Calibration.** For a nominal level :math:`\alpha`, the central :math:`\alpha`
interval of the draws of point :math:`j` is

.. math::
    I_j(\alpha) = \bigl[q_j\bigl(\tfrac{1-\alpha}{2}\bigr),\;
                        q_j\bigl(\tfrac{1+\alpha}{2}\bigr)\bigr],

with :math:`q_j` the empirical quantile of the draws. The coverage is the share of the
:math:`n` points whose true value lies inside (bounds included), and the calibration
error is the median over the levels of its gap to the nominal level:

.. math::
    \hat c(\alpha) = \frac{1}{n}\sum_{j=1}^{n} \mathbf{1}\{\theta^\ast_j \in I_j(\alpha)\},
    \qquad
    \mathrm{CE} = \operatorname*{median}_{\alpha \in A} \bigl|\hat c(\alpha) - \alpha\bigr|,

with :math:`A` = :data:`CALIBRATION_LEVELS`, 20 levels evenly spaced on
:math:`[0.005, 0.995]`. A calibrated posterior has :math:`\mathrm{CE} \approx 0`; 0.5
is about the worst (a posterior that never covers the truth).

**Accuracy.** For each posterior draw :math:`s`, the root mean squared error against
the true values across the points, normalised by their range, then the median over
the draws:

.. math::
    \mathrm{NRMSE} = \operatorname*{median}_{s}
        \frac{\sqrt{\tfrac{1}{n}\sum_{j} (\theta_{sj} - \theta^\ast_j)^2}}
             {\max_j \theta^\ast_j - \min_j \theta^\ast_j}.

It is unitless, so parameters on different scales can be compared.

**Contraction.** :math:`1 - \sigma^2_{\text{post}} / \sigma^2_{\text{prior}}`, clipped to
:math:`[0, 1]`: 0 means the data taught nothing, 1 that the posterior is a point.

**Adstock kernels.** :func:`kernel_l1` compares the *shape* of two carry-over kernels
of possibly different lengths; see there.

Draws follow the PyMC-Marketing convention used in :mod:`bayestune.evaluation.metrics`:
draws on axis 0, points (parameters or simulated data sets) on axis 1, shape
``(n_draws, n_points)``. Note that BayesFlow puts data sets on axis 0 and draws on
axis 1.

References
----------
Radev, S. T., Schmitt, M., Schumacher, L., Elsemüller, L., Pratz, V., Schälte, Y.,
Köthe, U. and Bürkner, P.-C. (2023). BayesFlow: Amortized Bayesian workflows with
neural networks. *Journal of Open Source Software*, 8(89), 5702.

Schad, D. J., Betancourt, M. and Vasishth, S. (2021). Toward a principled Bayesian
workflow in cognitive science. *Psychological Methods*, 26(1), 103-126.

Talts, S., Betancourt, M., Simpson, D., Vehtari, A. and Gelman, A. (2018). Validating
Bayesian inference algorithms with simulation-based calibration. *arXiv:1804.06788*.

Jin, Y., Wang, Y., Sun, Y., Chan, D. and Koehler, J. (2017). Bayesian methods for media
mix modeling with carryover and shape effects. Google Inc.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from bayestune.evaluation.posterior import FitPosterior

CALIBRATION_LEVELS: np.ndarray = np.linspace(0.005, 0.995, 20)
"""The nominal levels :func:`calibration_error` averages over (BayesFlow 2's default)."""


def _check_levels(levels: np.ndarray) -> None:
    if levels.size == 0:
        raise ValueError("at least one level is needed")
    if not np.all((levels >= 0.0) & (levels <= 1.0)):
        raise ValueError(f"levels must lie in [0, 1], got {levels}")


def _draws_and_truth(draws: npt.ArrayLike, truth: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(draws (m, n), truth (n,))`` as float arrays."""
    d = np.asarray(draws, dtype=float)
    t = np.asarray(truth, dtype=float)
    if t.ndim not in (0, 1):
        raise ValueError(f"truth must be 1-D (n_points,) or a scalar, got shape {t.shape}")
    if d.ndim != t.ndim + 1:
        raise ValueError(
            "draws must have shape (n_draws, n_points) for truth of shape (n_points,), or "
            f"(n_draws,) for a scalar truth; got draws {d.shape}, truth {t.shape}"
        )
    if d.shape[1:] != t.shape:
        raise ValueError(
            f"draws and truth disagree in the number of points: draws {d.shape} has "
            f"{d.shape[1]} points, truth {t.shape} has {t.shape[0]}"
        )
    if t.size == 0:
        raise ValueError("at least one point is needed")
    if d.shape[0] == 0:
        raise ValueError("at least one draw is needed")
    if not np.all(np.isfinite(t)):
        raise ValueError("truth contains NaN or infinite values")
    if not np.all(np.isfinite(d)):
        raise ValueError("draws contain NaN or infinite values")
    return d.reshape(d.shape[0], -1), t.reshape(-1)


def central_interval(
    draws: npt.ArrayLike, level: npt.ArrayLike, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Central interval of the draws at a nominal level.

    .. math::
        [\mathrm{lo}, \mathrm{hi}] = \bigl[q\bigl(\tfrac{1-\alpha}{2}\bigr),\;
                                          q\bigl(\tfrac{1+\alpha}{2}\bigr)\bigr]

    with :math:`q` numpy's default (``"linear"``) empirical quantile along ``axis``.
    Level 0 gives the median twice; level 1 the minimum and maximum.

    Parameters
    ----------
    draws : array_like
        Posterior draws, draws along ``axis``.
    level : float or array_like
        Nominal level(s) :math:`\alpha \in [0, 1]`.
    axis : int, default 0
        The axis that holds the draws.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lo, hi)``, each of the draws' shape without ``axis``, with the shape of
        ``level`` prepended when ``level`` is an array (as :func:`numpy.quantile`).

    Raises
    ------
    ValueError
        On a level outside :math:`[0, 1]`, no draws, or draws that are not finite.
    """
    alpha = np.asarray(level, dtype=float)
    _check_levels(alpha)
    d = np.asarray(draws, dtype=float)
    if d.ndim == 0 or d.shape[axis] == 0:
        raise ValueError(f"at least one draw along axis {axis} is needed, got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError("draws contain NaN or infinite values")
    lo = np.quantile(d, (1.0 - alpha) / 2.0, axis=axis)
    hi = np.quantile(d, (1.0 + alpha) / 2.0, axis=axis)
    return np.asarray(lo), np.asarray(hi)


def coverage(draws: npt.ArrayLike, truth: npt.ArrayLike, levels: npt.ArrayLike) -> np.ndarray:
    r"""Empirical coverage of the central intervals at each nominal level.

    .. math::
        \hat c(\alpha) = \frac{1}{n}\sum_{j=1}^{n}
            \mathbf{1}\bigl\{\mathrm{lo}_j(\alpha) \le \theta^\ast_j
                             \le \mathrm{hi}_j(\alpha)\bigr\}

    with :math:`[\mathrm{lo}_j(\alpha), \mathrm{hi}_j(\alpha)]` the
    :func:`central_interval` of the draws of point :math:`j`. For a calibrated
    posterior :math:`\hat c(\alpha) \approx \alpha`; below means over-confident, above
    under-confident (Talts et al. 2018; Radev et al. 2023).

    Parameters
    ----------
    draws : array_like, shape (n_draws, n_points) or (n_draws,)
        Posterior draws, draws on axis 0. A 1-D ``(n_draws,)`` array goes with a scalar
        truth (one point).
    truth : array_like, shape (n_points,) or ()
        The true values.
    levels : float or array_like, shape (n_levels,)
        Nominal levels :math:`\alpha \in [0, 1]`.

    Returns
    -------
    numpy.ndarray, shape of ``levels``
        The share of points covered at each level, in :math:`[0, 1]`; 0-d for a scalar
        level.

    Raises
    ------
    ValueError
        On mismatched shapes (draws and truth disagree in the number of points), no
        draws or points, values that are not finite, or a level outside :math:`[0, 1]`.
    """
    d, t = _draws_and_truth(draws, truth)
    lo, hi = central_interval(d, levels, axis=0)  # each (*levels.shape, n_points)
    inside = (lo <= t) & (t <= hi)
    return np.asarray(np.mean(inside, axis=-1))


def calibration_error(
    draws: npt.ArrayLike,
    truth: npt.ArrayLike,
    levels: npt.ArrayLike = CALIBRATION_LEVELS,
) -> float:
    r"""Median absolute gap between empirical coverage and nominal level.

    .. math::
        \mathrm{CE} = \operatorname*{median}_{\alpha \in A}
            \bigl|\hat c(\alpha) - \alpha\bigr|

    with :math:`\hat c` from :func:`coverage` and :math:`A` = ``levels``
    (BayesFlow 2's ``calibration_error``; Radev et al. 2023). 0 is perfect calibration;
    a posterior that never covers the truth scores the median level, about 0.5.

    Parameters
    ----------
    draws : array_like, shape (n_draws, n_points) or (n_draws,)
        Posterior draws, draws on axis 0.
    truth : array_like, shape (n_points,) or ()
        The true values.
    levels : array_like, shape (n_levels,), default CALIBRATION_LEVELS
        Nominal levels in :math:`[0, 1]`.

    Returns
    -------
    float
        The calibration error, in :math:`[0, 1]`.

    Raises
    ------
    ValueError
        As :func:`coverage`.
    """
    alphas = np.asarray(levels, dtype=float)
    gaps = np.abs(coverage(draws, truth, alphas) - alphas)
    return float(np.median(gaps))


def nrmse(draws: npt.ArrayLike, truth: npt.ArrayLike) -> float:
    r"""Normalised root mean squared error of the draws, median over draws.

    .. math::
        \mathrm{NRMSE} = \operatorname*{median}_{s=1..m}
            \frac{\sqrt{\tfrac{1}{n}\sum_{j=1}^{n} (\theta_{sj} - \theta^\ast_j)^2}}{R},
        \qquad R = \max_j \theta^\ast_j - \min_j \theta^\ast_j,

    as BayesFlow 2's ``root_mean_squared_error`` with ``normalize=True`` (Radev et al.
    2023). Unitless and invariant to rescaling draws and truth together.

    When the range :math:`R` is 0 (a single point, or constant true values), the
    normaliser is instead :math:`|\bar\theta^\ast|`, the absolute mean of the true values
    (they are all equal then), so the result is a relative error; when that is 0 too,
    the result is ``nan``. (BayesFlow would divide by 0.)

    Parameters
    ----------
    draws : array_like, shape (n_draws, n_points) or (n_draws,)
        Posterior draws, draws on axis 0. A 1-D ``(n_draws,)`` array goes with a scalar
        truth (one point).
    truth : array_like, shape (n_points,) or ()
        The true values.

    Returns
    -------
    float
        The normalised RMSE; ``nan`` when the true values are all 0.

    Raises
    ------
    ValueError
        On mismatched shapes, no draws or points, or values that are not finite.
    """
    d, t = _draws_and_truth(draws, truth)
    rmse = np.sqrt(np.mean((d - t) ** 2, axis=1))  # one per draw
    scale = float(np.max(t) - np.min(t))
    if scale == 0.0:
        scale = float(np.abs(np.mean(t)))
    if scale == 0.0:
        return float("nan")
    return float(np.median(rmse) / scale)


def contraction(posterior_var: npt.ArrayLike, prior_var: npt.ArrayLike) -> np.ndarray | float:
    r"""Posterior contraction: the share of prior variance removed by the data.

    .. math::
        \mathrm{contraction} = \operatorname{clip}\Bigl(
            1 - \frac{\sigma^2_{\text{post}}}{\sigma^2_{\text{prior}}},\; 0,\; 1\Bigr)

    elementwise (Schad et al. 2021; BayesFlow 2's ``posterior_contraction``). 0 means
    the posterior is as wide as the prior (or wider, clipped), 1 that it is a point.

    Parameters
    ----------
    posterior_var : array_like
        Posterior variances, non-negative.
    prior_var : array_like
        Prior variances, positive; broadcast against ``posterior_var``.

    Returns
    -------
    numpy.ndarray or float
        The contraction, in :math:`[0, 1]`; a float when both inputs are scalars.

    Raises
    ------
    ValueError
        On a prior variance that is not positive (or NaN), a negative or NaN posterior
        variance, or shapes that do not broadcast.
    """
    post = np.asarray(posterior_var, dtype=float)
    prior = np.asarray(prior_var, dtype=float)
    if not np.all(prior > 0):
        raise ValueError(f"prior variance must be positive, got {prior_var}")
    if not np.all(post >= 0):
        raise ValueError(f"posterior variance must be non-negative, got {posterior_var}")
    try:
        result = np.clip(1.0 - post / prior, 0.0, 1.0)
    except ValueError as err:
        raise ValueError(
            f"posterior_var {post.shape} and prior_var {prior.shape} do not broadcast"
        ) from err
    return float(result) if result.ndim == 0 else result


def relative_error(estimate: npt.ArrayLike, truth: npt.ArrayLike) -> np.ndarray | float:
    r"""Signed relative error of an estimate.

    .. math::
        \mathrm{RE} = \frac{\hat\theta - \theta^\ast}{|\theta^\ast|}

    elementwise; positive means over-estimated, whatever the sign of the truth. ``nan``
    where the truth is 0.

    Parameters
    ----------
    estimate : array_like
        Point estimates, e.g. posterior means.
    truth : array_like
        The true values; broadcast against ``estimate``.

    Returns
    -------
    numpy.ndarray or float
        The relative error; a float when both inputs are scalars.

    Raises
    ------
    ValueError
        On shapes that do not broadcast.
    """
    est = np.asarray(estimate, dtype=float)
    t = np.asarray(truth, dtype=float)
    try:
        est, t = np.broadcast_arrays(est, t)
    except ValueError as err:
        raise ValueError(f"estimate {est.shape} and truth {t.shape} do not broadcast") from err
    denom = np.abs(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(denom == 0, np.nan, (est - t) / np.where(denom == 0, 1.0, denom))
    return float(result) if result.ndim == 0 else result


def _normalised_kernel(weights: npt.ArrayLike, name: str) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D weight vector, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative, got {w}")
    total = w.sum()
    if total == 0:
        raise ValueError(f"{name} is all zero and cannot be normalised")
    return w / total


def kernel_l1(true_weights: npt.ArrayLike, fitted_weights: npt.ArrayLike) -> float:
    r"""L1 distance between the shapes of two adstock kernels.

    Both kernels are normalised to sum 1, the shorter is zero-padded to the longer's
    length, and

    .. math::
        d(a, b) = \sum_{l=0}^{L-1} |a_l - b_l|,
        \qquad L = \max(l^{(a)}_{\max}, l^{(b)}_{\max}),

    is returned: 0 for identical shapes, 2 for kernels with disjoint support. It is twice
    the total variation distance between the two lag distributions.

    The distance is identifiability-aware in two ways. Normalising drops the kernel's
    overall scale, which in a media mix model is confounded with the channel
    coefficient, so only the carry-over *shape*, which the data can identify, is
    scored. And the lag length :math:`l_{\max}` is only weakly identified past where
    the true weights vanish: extending a kernel there adds only near-zero weights
    (and renormalises by a factor near 1), so the distance barely changes. A geometric
    kernel :math:`w_l \propto \alpha^l` truncated at :math:`l_{\max} = L_1` or
    :math:`L_2 > L_1` is at distance
    :math:`2(\alpha^{L_1} - \alpha^{L_2}) / (1 - \alpha^{L_2})`, about
    :math:`1.3 \times 10^{-4}` for :math:`\alpha = 0.3` and lengths 8 and 12, whereas a
    different decay (:math:`\alpha = 0.7`) is far away. Comparing raw parameters (say
    :math:`l_{\max}` itself) would instead penalise a difference the data cannot see
    (Jin et al. 2017).

    Parameters
    ----------
    true_weights, fitted_weights : array_like, shape (l_max,)
        Non-negative kernel weights, lag 0 first; the lengths may differ.

    Returns
    -------
    float
        The L1 distance, in :math:`[0, 2]`; symmetric in its arguments.

    Raises
    ------
    ValueError
        On a kernel that is not a non-empty 1-D vector, has negative or non-finite
        weights, or is all zero.
    """
    a = _normalised_kernel(true_weights, "true_weights")
    b = _normalised_kernel(fitted_weights, "fitted_weights")
    length = max(a.size, b.size)
    a = np.pad(a, (0, length - a.size))
    b = np.pad(b, (0, length - b.size))
    return float(np.sum(np.abs(a - b)))


# ----------------------------------------------------------------------- from a fit
def _form_mismatch(kind: str, fitted: str, true: Any, known: Mapping[str, str]) -> str | None:
    """Why the ``kind`` parameters of the fit and the truth are not comparable, or None.

    ``known`` maps our form names to PyMC-Marketing's class names; ``fitted`` is the fit's
    class name.
    """
    if true not in known:
        return (f"the truth's {kind} form {true!r} is not one bayestune fits, so its {kind}_* "
                "parameters have no counterpart in the model")
    if known[true] != fitted:
        fitted_name = next((n for n, c in known.items() if c == fitted), fitted)
        return f"the truth's {kind} form is {true}, the fit's {fitted_name}: their {kind}_* parameters mean different things"
    return None


def _shared_parameters(
    post: FitPosterior, truth: Mapping[str, Any]
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """True values (PyMC-Marketing's scale) of the free parameters the fit shares with the truth,
    and why the others were left out (``{"saturation_*": reason}``).

    A parameter is shared when it has the same name and the same meaning: adstock and
    saturation parameters only when the fitted form is the true form (a form bayestune does
    not fit, say one another simulator wrote, is never shared); Fourier coefficients per mode
    present in both; the rest (intercept, controls, noise) always. Values on PyMC-Marketing's
    scale are only comparable when the fit used the truth's target scale (a fit on all weeks
    does), else nothing is shared.
    """
    from bayestune.simulator.transforms import ADSTOCK_FORMS, SATURATION_FORMS

    structure = truth["structure"]
    scaled = truth["parameters"]["scaled"]
    true_scale = truth["parameters"]["scales"]["target_scale"]
    if not np.isclose(post.target_scale, true_scale, rtol=1e-9):
        return {}, {"*": f"the fit's target scale {post.target_scale:.6g} is not the truth's {true_scale:.6g}, "
                         "so values on PyMC-Marketing's scale are not comparable"}
    fitted = {"adstock": ADSTOCK_FORMS[post.adstock[0]].pymc_class,
              "saturation": json.loads(post.tree.attrs["saturation"])["__type__"].rsplit(".", 1)[-1]}
    skipped = {}
    for kind, forms in (("adstock", ADSTOCK_FORMS), ("saturation", SATURATION_FORMS)):
        known = {name: form.pymc_class for name, form in forms.items()}
        reason = _form_mismatch(kind, fitted[kind], structure[kind], known)
        if reason is not None:
            skipped[f"{kind}_*"] = reason
    shared: dict[str, dict[str, float]] = {}
    for name in post.free_parameters():
        if name not in scaled or f"{name.split('_', 1)[0]}_*" in skipped:
            continue
        value = scaled[name]
        shared[name] = {"": float(value)} if not isinstance(value, Mapping) else {k: float(v) for k, v in value.items()}
    return shared, skipped


def parameter_recovery(post: FitPosterior, truth: Mapping[str, Any], level: float = 0.9) -> dict[str, Any]:
    """Per shared scalar parameter: posterior mean, interval, truth, covered, contraction.

    ``skipped`` says which parameters were left out and why (another form, another scale).
    """
    rows: dict[str, Any] = {}
    draws_all, truth_all = [], []
    shared, skipped = _shared_parameters(post, truth)
    for name, values in shared.items():
        post_var, prior_var = post.variances(name)
        draws = post.tree["posterior"][name]
        dims = [d for d in draws.dims if d not in ("chain", "draw")]
        for label, true in values.items():
            sel = {dims[0]: label} if dims and label else {}
            if dims and (not label or label not in draws[dims[0]].values):
                continue
            d = np.asarray(draws.sel(sel).stack(s=("chain", "draw")).values, dtype=float)
            lo, hi = central_interval(d, level)
            key = f"{name}[{label}]" if label else name
            rows[key] = {
                "truth": true,
                "mean": float(d.mean()),
                "lo": float(lo),
                "hi": float(hi),
                "covered": bool(lo <= true <= hi),
                "contraction": float(contraction(float(post_var.sel(sel)), float(prior_var.sel(sel)))),
            }
            draws_all.append(d)
            truth_all.append(true)
    if not rows:
        return {"parameters": {}, "median_contraction": None, "calibration_error": None, "skipped": skipped,
                "note": "the fit shares no parameter with the truth (other forms or another scale)"}
    n = min(len(d) for d in draws_all)
    stacked = np.stack([d[:n] for d in draws_all], axis=1)
    return {
        "scale": "PyMC-Marketing's scale (target / max target, spend / max spend per channel)",
        "level": level,
        "parameters": rows,
        "coverage_rate": float(np.mean([r["covered"] for r in rows.values()])),
        "median_contraction": float(np.median([r["contraction"] for r in rows.values()])),
        "calibration_error": calibration_error(stacked, np.asarray(truth_all)),
        "skipped": skipped,
    }


def channel_recovery(
    contributions: np.ndarray,
    channels: Sequence[str],
    spend: np.ndarray,
    truth: Mapping[str, Any],
    true_contributions: np.ndarray,
    level: float = 0.9,
) -> dict[str, Any]:
    """ROAS, contribution share and contribution over time against the truth.

    Parameters
    ----------
    contributions : array, shape (draws, weeks, channels)
        Posterior draws of each channel's contribution per week, target units.
    spend : array, shape (weeks, channels)
        Spend per week and channel.
    true_contributions : array, shape (weeks, channels)
        The true contributions, target units.
    """
    draws, weeks, n_ch = contributions.shape
    if spend.shape != (weeks, n_ch) or true_contributions.shape != (weeks, n_ch):
        raise ValueError(
            f"contributions {contributions.shape}, spend {spend.shape} and true contributions "
            f"{true_contributions.shape} disagree on weeks or channels"
        )
    total = contributions.sum(axis=1)                     # (draws, channels)
    roas = total / spend.sum(axis=0)
    share = total / total.sum(axis=1, keepdims=True)
    per_channel: dict[str, Any] = {}
    for j, c in enumerate(channels):
        lo, hi = central_interval(roas[:, j], level)
        t_roas, t_share = float(truth["roas"][c]), float(truth["contribution_share"][c])
        per_channel[c] = {
            "roas_true": t_roas,
            "roas_mean": float(roas[:, j].mean()),
            "roas_lo": float(lo),
            "roas_hi": float(hi),
            "roas_covered": bool(lo <= t_roas <= hi),
            "roas_relative_error": float(relative_error(roas[:, j].mean(), t_roas)),
            "share_true": t_share,
            "share_mean": float(share[:, j].mean()),
            "share_error": float(share[:, j].mean() - t_share),
            "contribution_nrmse": nrmse(contributions[:, :, j], true_contributions[:, j]),
        }
    flat = contributions.reshape(draws, weeks * n_ch)
    return {
        "level": level,
        "channels": per_channel,
        "roas_coverage_rate": float(np.mean([v["roas_covered"] for v in per_channel.values()])),
        "mean_abs_roas_relative_error": float(np.mean([abs(v["roas_relative_error"]) for v in per_channel.values()])),
        "mean_abs_share_error": float(np.mean([abs(v["share_error"]) for v in per_channel.values()])),
        "contribution_nrmse": float(np.mean([v["contribution_nrmse"] for v in per_channel.values()])),
        "contribution_calibration_error": calibration_error(flat, true_contributions.reshape(-1)),
    }
