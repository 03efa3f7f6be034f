"""The minimal ``truth.json``: which fields each part of the report needs, and checking a truth.

bayestune's simulator writes every field (see the README), but a truth written by another
generator may hold only some. Reading a dataset needs only ``schema`` and ``columns``
(:func:`bayestune.simulator.dataset.read_dataset` refuses a truth without them); every other
field serves one part of the evaluation, and a part whose fields are missing or malformed is
reported as not available, with the reason, while the rest is still scored.

=====================  ==========================================================================
part                   fields it needs
=====================  ==========================================================================
``hyperparameters``    ``structure``: ``yearly_seasonality``, ``l_max``, ``adstock``, ``saturation``
                       (the oracle trial of ``bayestune tune`` needs them too)
``adstock_kernels``    ``adstock_kernel``: per channel the lag weights, lag 0 first
                       (``effective_l_max`` per channel is shown beside them when present)
``channel_recovery``   ``roas`` and ``contribution_share`` per channel, and ``contributions.csv``
                       (the date column and one column per channel, one row per week of data)
``parameter_recovery`` ``parameters.scaled`` (PyMC-Marketing's names and scale),
                       ``parameters.scales.target_scale``, ``structure.adstock`` and
                       ``structure.saturation`` (which parameters mean what)
=====================  ==========================================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

PARTS: dict[str, str] = {
    "hyperparameters": "the chosen structure against the true one",
    "adstock_kernels": "the adstock kernel comparison",
    "channel_recovery": "the recovery of ROAS, contribution shares and contributions",
    "parameter_recovery": "parameter recovery",
}
"""Each part of the evaluation that needs the truth, as its reasons name it."""

STRUCTURE_FIELDS = ("yearly_seasonality", "l_max", "adstock", "saturation")


@dataclass(frozen=True)
class TruthCheck:
    """What a truth lacks: one line per problem, and the parts it leaves not available."""

    problems: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    """Part name -> why it is not available (its first problem)."""

    def available(self, part: str) -> bool:
        return part not in self.unavailable


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _per_channel(truth: Mapping[str, Any], name: str, channels: Sequence[str]) -> str | None:
    """The problem of a ``{channel: number}`` field, or None."""
    value = truth.get(name)
    if value is None:
        return f"{name} is missing"
    if not isinstance(value, Mapping):
        return f"{name} is not a table of one number per channel"
    absent = [c for c in channels if c not in value]
    if absent:
        return f"{name} has no value for channel(s) {', '.join(absent)}"
    bad = [c for c in channels if not _number(value[c])]
    if bad:
        return f"{name} is not a finite number for channel(s) {', '.join(bad)}"
    return None


def _structure(truth: Mapping[str, Any], fields: Sequence[str] = STRUCTURE_FIELDS) -> str | None:
    s = truth.get("structure")
    if not isinstance(s, Mapping):
        return "structure is missing" if s is None else "structure is not a table"
    absent = [f"structure.{k}" for k in fields if k not in s]
    if absent:
        return f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} missing"
    for k, minimum in (("yearly_seasonality", 0), ("l_max", 1)):
        if k not in fields:
            continue
        v = s[k]
        if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
            return f"structure.{k} is {v!r}, not an integer of at least {minimum}"
    for k in ("adstock", "saturation"):
        if k in fields and not isinstance(s[k], str) or not s[k]:
            return f"structure.{k} is {s[k]!r}, not the name of a form"
    return None


def _kernels(truth: Mapping[str, Any], channels: Sequence[str]) -> str | None:
    kernels = truth.get("adstock_kernel")
    if kernels is None:
        return "adstock_kernel is missing"
    if not isinstance(kernels, Mapping):
        return "adstock_kernel is not a table of weights per channel"
    absent = [c for c in channels if c not in kernels]
    if absent:
        return f"adstock_kernel has no weights for channel(s) {', '.join(absent)}"
    for c in channels:
        w = kernels[c]
        if (not isinstance(w, list) or not w or not all(_number(x) and x >= 0 for x in w)
                or not any(x > 0 for x in w)):
            return f"adstock_kernel.{c} is not a list of non-negative weights, not all zero"
    return None


def _contributions(contributions: pd.DataFrame | None, date: str, channels: Sequence[str],
                   weeks: int | None) -> str | None:
    if contributions is None:
        return "contributions.csv is missing"
    absent = [c for c in (date, *channels) if c not in contributions.columns]
    if absent:
        return f"contributions.csv has no column(s) {', '.join(absent)}"
    if weeks is not None and len(contributions) != weeks:
        return f"contributions.csv has {len(contributions)} rows, data.csv {weeks} weeks"
    values = contributions[list(channels)].apply(pd.to_numeric, errors="coerce")
    if values.isna().any().any():
        return "contributions.csv has missing or non-numeric values"
    return None


def _parameters(truth: Mapping[str, Any]) -> str | None:
    p = truth.get("parameters")
    if not isinstance(p, Mapping) or "scaled" not in p:
        return "parameters.scaled is missing"
    if not isinstance(p["scaled"], Mapping):
        return "parameters.scaled is not a table of parameters"
    scales = p.get("scales")
    scale = scales.get("target_scale") if isinstance(scales, Mapping) else None
    if scale is None:
        return "parameters.scales.target_scale is missing"
    if not _number(scale) or scale <= 0:
        return f"parameters.scales.target_scale is {scale!r}, not a positive number"
    return None


def check_truth(
    truth: Mapping[str, Any],
    channels: Sequence[str],
    *,
    date: str = "date",
    contributions: pd.DataFrame | None = None,
    weeks: int | None = None,
) -> TruthCheck:
    """Check ``truth`` against the minimal schema (module docstring), part by part.

    Parameters
    ----------
    truth
        ``truth.json`` as read (its ``schema`` and ``columns`` already checked).
    channels
        The dataset's channels: every per-channel field must hold each of them.
    contributions, weeks, date
        ``contributions.csv`` as read (None when absent), the number of weeks of
        ``data.csv`` and the date column.

    Returns
    -------
    TruthCheck
        One line per problem (``"<field> is missing: parameter recovery is not
        available"``), and the parts not available with the reason.
    """
    structure = _structure(truth)
    needs: dict[str, list[str | None]] = {
        "hyperparameters": [structure],
        "adstock_kernels": [_kernels(truth, channels)],
        "channel_recovery": [_per_channel(truth, "roas", channels),
                             _per_channel(truth, "contribution_share", channels),
                             _contributions(contributions, date, channels, weeks)],
        "parameter_recovery": [_parameters(truth), _structure(truth, ("adstock", "saturation"))],
    }
    found: dict[str, list[str]] = {}  # problem -> parts it leaves out, in order
    unavailable: dict[str, str] = {}
    for part, problems in needs.items():
        for problem in filter(None, problems):
            found.setdefault(problem, []).append(PARTS[part])
            unavailable.setdefault(part, problem)
    lines = [f"{problem}: {' and '.join(parts)} {'is' if len(parts) == 1 else 'are'} not available"
             for problem, parts in found.items()]
    eff = truth.get("effective_l_max")
    if eff is not None and not (isinstance(eff, Mapping) and all(isinstance(v, int) for v in eff.values())):
        lines.append("effective_l_max is not one integer per channel: it is left out")
    return TruthCheck(lines, unavailable)
