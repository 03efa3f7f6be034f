"""Convergence gate: decide whether an MCMC fit is trustworthy enough to score.

:func:`diagnose` condenses a fit into a :class:`Diagnostics` record (divergence rate,
worst rank-normalised split R-hat, smallest bulk and tail ESS) computed over the *free*
parameters only, named by the caller; large deterministics such as
``channel_contribution`` or ``mu`` are never looked at. :func:`check` compares such a
record with :class:`GateThresholds` and explains every failure in words.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

try:  # arviz >= 1.0 splits its statistics into arviz-stats
    from arviz_stats import ess as _ess
    from arviz_stats import rhat as _rhat
except ImportError:  # pragma: no cover - arviz 0.x
    from arviz import ess as _ess
    from arviz import rhat as _rhat

__all__ = ["Diagnostics", "GateThresholds", "check", "diagnose"]


@dataclass(frozen=True)
class Diagnostics:
    """Sampling diagnostics of one fit, reduced to the worst element.

    Attributes
    ----------
    divergence_rate
        Fraction of post-warm-up draws that diverged (0 when not recorded).
    max_rhat
        Largest rank-normalised split R-hat over every element of the named variables;
        NaN when it is undefined (a single chain, or a constant element).
    min_ess_bulk, min_ess_tail
        Smallest bulk and tail effective sample size over the same elements.
    n_draws
        Total number of draws, summed over chains.
    n_chains
        Number of chains.
    worst_rhat_var, worst_ess_var
        Element behind ``max_rhat`` / ``min_ess_bulk``, e.g. ``"saturation_beta[tv]"``;
        empty when there is none (R-hat with one chain).
    """

    divergence_rate: float
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_draws: int
    n_chains: int
    worst_rhat_var: str = ""
    worst_ess_var: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain ``dict`` (for logging or JSON)."""
        return asdict(self)


@dataclass(frozen=True)
class GateThresholds:
    """Limits a fit must respect to pass :func:`check`.

    Parameters
    ----------
    max_divergence_rate
        Largest acceptable fraction of divergent draws, in [0, 1].
    max_rhat
        Largest acceptable R-hat, at least 1.
    min_ess
        Smallest acceptable *bulk* ESS, at least 0.
    retries
        How many times a search fit that fails is made again from a fresh seed before its
        trial is pruned (:func:`bayestune.tuning.trial.fit_gated`); 0: pruned at once.

    Raises
    ------
    ValueError
        If a limit is out of range (or NaN).
    """

    max_divergence_rate: float
    max_rhat: float
    min_ess: float
    retries: int = 0

    SEARCH: ClassVar[GateThresholds]
    """Lenient limits for the cheap fits of a hyperparameter search."""
    FINAL: ClassVar[GateThresholds]
    """Strict limits for the production fit."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_divergence_rate <= 1.0:
            raise ValueError(f"max_divergence_rate must be in [0, 1], got {self.max_divergence_rate}")
        if not self.max_rhat >= 1.0:
            raise ValueError(f"max_rhat must be >= 1, got {self.max_rhat}")
        if not self.min_ess >= 0.0:
            raise ValueError(f"min_ess must be >= 0, got {self.min_ess}")
        if not (isinstance(self.retries, int) and self.retries >= 0):
            raise ValueError(f"retries must be an integer >= 0, got {self.retries}")


GateThresholds.SEARCH = GateThresholds(max_divergence_rate=0.10, max_rhat=1.10, min_ess=50)
GateThresholds.FINAL = GateThresholds(max_divergence_rate=0.01, max_rhat=1.01, min_ess=400)


def _group(idata: Any, name: str) -> xr.Dataset | None:
    """Return group ``name`` of a DataTree or an InferenceData-like object, or None."""
    if isinstance(idata, xr.DataTree):
        node = idata.children.get(name)
    else:
        node = getattr(idata, name, None)
    if isinstance(node, xr.DataTree):
        return node.to_dataset()
    return node if isinstance(node, xr.Dataset) else None


def _label(da: xr.DataArray, flat_index: int) -> str:
    """Name one element of ``da``: ``"var"`` or ``"var[coord, ...]"``."""
    name = str(da.name)
    if da.ndim == 0:
        return name
    idx = np.unravel_index(flat_index, da.shape)
    parts = []
    for dim, i in zip(da.dims, idx, strict=True):
        parts.append(str(da[dim].values[i]) if dim in da.coords else str(int(i)))
    return f"{name}[{', '.join(parts)}]"


def _extreme(ds: xr.Dataset, var_names: Sequence[str], largest: bool) -> tuple[float, str]:
    """Worst value over every element of ``var_names``; NaN is worst of all."""
    worst, where = (-math.inf if largest else math.inf), ""
    for var in var_names:
        da = ds[var]
        values = np.asarray(da.values, dtype=float).ravel()
        if values.size == 0:
            continue
        nan = np.flatnonzero(np.isnan(values))
        if nan.size:
            return math.nan, _label(da, int(nan[0]))
        i = int(np.argmax(values) if largest else np.argmin(values))
        if (values[i] > worst) if largest else (values[i] < worst):
            worst, where = float(values[i]), _label(da, i)
    return worst, where


def diagnose(idata: Any, var_names: Sequence[str]) -> Diagnostics:
    """Compute the convergence diagnostics of a fit over its free parameters.

    Parameters
    ----------
    idata
        An ``xarray.DataTree`` (as left by ``MMM.fit``) or any object with ``posterior``
        and optional ``sample_stats`` attributes holding datasets (e.g. ``InferenceData``).
        The posterior must have ``chain`` and ``draw`` dimensions.
    var_names
        Posterior variables to check, by name; every element of a vector variable counts.
        Pass the free parameters only: deterministics are expensive and irrelevant.

    Returns
    -------
    Diagnostics
        Worst rank-normalised split R-hat, smallest bulk/tail ESS and the divergence rate
        (taken from ``sample_stats.diverging``; 0 when that is missing). With a single
        chain R-hat is undefined and reported as NaN; :func:`check` then skips it.

    Raises
    ------
    ValueError
        If ``var_names`` is empty, or the posterior is missing or lacks chain/draw dims.
    KeyError
        If a name in ``var_names`` is not a posterior variable.
    """
    names = list(var_names)
    if not names:
        raise ValueError("var_names must name at least one posterior variable")
    posterior = _group(idata, "posterior")
    if posterior is None:
        raise ValueError("idata has no posterior group")
    if "chain" not in posterior.dims or "draw" not in posterior.dims:
        raise ValueError(f"posterior needs 'chain' and 'draw' dims, has {tuple(posterior.dims)}")
    missing = [n for n in names if n not in posterior.data_vars]
    if missing:
        raise KeyError(f"not in the posterior: {', '.join(missing)}")
    free = posterior[names]
    n_chains, n_per_chain = int(free.sizes["chain"]), int(free.sizes["draw"])

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        ess_bulk = _ess(free, method="bulk")
        ess_tail = _ess(free, method="tail")
        rhat = _rhat(free, method="rank") if n_chains > 1 else None

    max_rhat, worst_rhat = _extreme(rhat, names, largest=True) if rhat is not None else (math.nan, "")
    min_bulk, worst_ess = _extreme(ess_bulk, names, largest=False)
    min_tail, _ = _extreme(ess_tail, names, largest=False)

    stats = _group(idata, "sample_stats")
    rate = 0.0
    if stats is not None and "diverging" in stats.data_vars and stats["diverging"].size:
        rate = float(np.asarray(stats["diverging"].values, dtype=bool).mean())

    return Diagnostics(
        divergence_rate=rate,
        max_rhat=max_rhat,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        n_draws=n_chains * n_per_chain,
        n_chains=n_chains,
        worst_rhat_var=worst_rhat,
        worst_ess_var=worst_ess,
    )


def _pair(value: float, limit: float, decimals: int, scale: float = 1.0, unit: str = "") -> tuple[str, str]:
    """Format ``value`` and ``limit`` with the fewest decimals (>= ``decimals``) that tell them apart."""
    for d in range(decimals, decimals + 4):
        a, b = f"{value * scale:.{d}f}{unit}", f"{limit * scale:.{d}f}{unit}"
        if a != b:
            break
    return a, b


def check(diag: Diagnostics, thresholds: GateThresholds) -> tuple[bool, list[str]]:
    """Compare diagnostics with thresholds.

    Parameters
    ----------
    diag
        Output of :func:`diagnose`.
    thresholds
        Limits to apply, e.g. :attr:`GateThresholds.SEARCH` or :attr:`GateThresholds.FINAL`.

    Returns
    -------
    passed : bool
        True when every applicable criterion holds.
    reasons : list of str
        One line per failed criterion, e.g. ``"R-hat 1.23 > 1.10 (adstock_alpha[tv])"``.
        The ESS criterion uses *bulk* ESS only (tail ESS is reported, not gated). With a
        single chain the R-hat criterion is skipped and an informational line saying so
        is added without failing the gate, so read ``passed``, not ``bool(reasons)``.
        A NaN R-hat (several chains) or NaN ESS fails, as it signals a degenerate chain.
    """
    passed, reasons = True, []
    if diag.divergence_rate > thresholds.max_divergence_rate:
        got, lim = _pair(diag.divergence_rate, thresholds.max_divergence_rate, 1, 100.0, "%")
        passed = False
        reasons.append(f"divergences {got} > {lim}")
    if diag.n_chains < 2:
        reasons.append(f"R-hat skipped: needs at least 2 chains, got {diag.n_chains}")
    elif math.isnan(diag.max_rhat):
        passed = False
        reasons.append(f"R-hat undefined (NaN) ({diag.worst_rhat_var})")
    elif diag.max_rhat > thresholds.max_rhat:
        got, lim = _pair(diag.max_rhat, thresholds.max_rhat, 2)
        passed = False
        reasons.append(f"R-hat {got} > {lim} ({diag.worst_rhat_var})")
    if math.isnan(diag.min_ess_bulk):
        passed = False
        reasons.append(f"bulk ESS undefined (NaN) ({diag.worst_ess_var})")
    elif diag.min_ess_bulk < thresholds.min_ess:
        got, lim = _pair(diag.min_ess_bulk, thresholds.min_ess, 0)
        passed = False
        reasons.append(f"bulk ESS {got} < {lim} ({diag.worst_ess_var})")
    return passed, reasons


def strict_gate_words(record: dict[str, Any]) -> str:
    """How a production fit's record (``strict_gate_passed``, ``strict_gate_failures``) met the strict gate."""
    if record["strict_gate_passed"]:
        return "strict gate passed"
    return "strict gate FAILED: " + "; ".join(record["strict_gate_failures"])
