"""Generate a dataset from a scenario: the data, every component of the target, the truth.

The target is built from parts that are all saved, in this order::

    y = intercept + trend + seasonality + Σ controls + Σ channel contributions + noise

Additive seasonality is ``Σ_k (a_k sin_k + b_k cos_k)`` in target units. Multiplicative
seasonality ``s_t`` (relative) scales everything else: each channel's contribution is its
counterfactual effect ``media_c,t · (1 + s_t)``, and the seasonality part is
``(intercept + trend + controls) · s_t``, so the parts still add up to the target.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayestune import __version__
from bayestune.simulator.scenario import EventControl, Scenario
from bayestune.simulator.spend import spend_series
from bayestune.simulator.transforms import (
    ADSTOCK_FORMS,
    SATURATION_FORMS,
    apply_adstock,
    effective_l_max,
    fourier_features,
)

TRUTH_SCHEMA = "bayestune.truth/1"
DATE, TARGET = "date", "y"
BASELINE_PARTS = ("intercept", "trend", "seasonality")


@dataclass(frozen=True)
class SimulatedDataset:
    """What :func:`simulate` returns.

    Attributes
    ----------
    data
        ``date``, one spend column per channel, the controls, the target ``y``.
    contributions
        ``date`` and each channel's true contribution in target units.
    components
        ``date``, ``intercept``, ``trend``, ``seasonality``, each control's contribution
        and ``noise``, in target units. With ``contributions`` they add up to ``y``.
    truth
        The content of ``truth.json`` (see the README for every field).
    """

    data: pd.DataFrame
    contributions: pd.DataFrame
    components: pd.DataFrame
    truth: dict[str, Any]


def _stream(seed: int, part: str) -> np.random.Generator:
    """An independent random stream per named part, so adding a channel leaves the others be."""
    return np.random.default_rng([seed, zlib.crc32(part.encode())])


def simulate(scenario: Scenario, seed: int, drawn: dict[str, Any] | None = None) -> SimulatedDataset:
    """Simulate ``scenario`` with ``seed``: same inputs, same numbers, on any machine.

    ``drawn`` (what the seed drew to make this world, :meth:`ScenarioSpec.world`) goes into the truth.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    n = scenario.weeks
    dates = pd.date_range(pd.Timestamp(scenario.start_date), periods=n, freq="7D")
    channels = scenario.channel_names

    # spend
    spend = pd.DataFrame(index=range(n))
    drivers: dict[str, np.ndarray] = {}
    for ch in scenario.channels:
        spend[ch.name], drivers[ch.name] = spend_series(
            ch.spend, n, _stream(seed, f"spend:{ch.name}"), drivers
        )
    channel_scale = {c: float(spend[c].max()) for c in channels}

    # media
    adstock = ADSTOCK_FORMS[scenario.adstock.form]
    saturation = SATURATION_FORMS[scenario.saturation.form]
    l_max = scenario.adstock.l_max
    kernels = {ch.name: adstock.kernel(ch.adstock, l_max) for ch in scenario.channels}
    media = pd.DataFrame(index=range(n))
    for ch in scenario.channels:
        carried = apply_adstock(spend[ch.name].to_numpy() / channel_scale[ch.name], kernels[ch.name])
        media[ch.name] = saturation.curve(carried, **ch.saturation)

    # controls
    controls = pd.DataFrame(index=range(n))
    for ctl in scenario.controls:
        rng = _stream(seed, f"control:{ctl.name}")
        if isinstance(ctl, EventControl):
            weeks = ctl.weeks if ctl.weeks is not None else rng.choice(n, ctl.count, replace=False)
            values = np.zeros(n)
            values[np.asarray(weeks, dtype=int)] = 1.0
        else:
            eps = rng.standard_normal(n)
            ar = np.empty(n)
            ar[0] = eps[0]
            for t in range(1, n):
                ar[t] = ctl.ar * ar[t - 1] + np.sqrt(1 - ctl.ar**2) * eps[t]
            values = ctl.mean + ctl.scale * ar
        controls[ctl.name] = values
    control_effect = pd.DataFrame(
        {ctl.name: ctl.coefficient * controls[ctl.name] for ctl in scenario.controls},
        index=range(n),
    )

    # baseline
    intercept = np.full(n, scenario.intercept)
    trend = scenario.trend.slope * np.arange(n, dtype=float)
    season = scenario.seasonality
    fourier = fourier_features(dates, season.order)
    gamma_fourier = {f"sin_{k + 1}": a for k, (a, _) in enumerate(season.coefficients)}
    gamma_fourier |= {f"cos_{k + 1}": b for k, (_, b) in enumerate(season.coefficients)}
    wave = fourier.to_numpy() @ np.array([gamma_fourier[c] for c in fourier.columns]) if season.order else np.zeros(n)
    base = intercept + trend + control_effect.sum(axis=1).to_numpy()
    if season.mode == "multiplicative":
        seasonality = base * wave
        contributions = media.mul(1.0 + wave, axis=0)
    else:
        seasonality = wave
        contributions = media

    # noise
    rng = _stream(seed, "noise")
    if scenario.noise.dist == "normal":
        noise = scenario.noise.scale * rng.standard_normal(n)
    else:
        noise = scenario.noise.scale * rng.standard_t(scenario.noise.nu, n)

    components = pd.DataFrame({"intercept": intercept, "trend": trend, "seasonality": seasonality})
    components = pd.concat([components, control_effect], axis=1)
    components["noise"] = noise
    target = components.drop(columns="noise").sum(axis=1).to_numpy()
    target = target + contributions.sum(axis=1).to_numpy() + noise

    data = pd.concat([spend, controls], axis=1)
    data.insert(0, DATE, dates)
    data[TARGET] = target
    contributions = contributions.copy()
    contributions.insert(0, DATE, dates)
    components.insert(0, DATE, dates)

    truth = _truth(
        scenario, seed, spend, contributions, kernels, gamma_fourier, channel_scale,
        target_scale=float(target.max()), drawn=drawn or {},
    )
    return SimulatedDataset(data, contributions, components, truth)


def _truth(
    scenario: Scenario,
    seed: int,
    spend: pd.DataFrame,
    contributions: pd.DataFrame,
    kernels: dict[str, np.ndarray],
    gamma_fourier: dict[str, float],
    channel_scale: dict[str, float],
    target_scale: float,
    drawn: dict[str, Any],
) -> dict[str, Any]:
    channels = scenario.channel_names
    adstock = ADSTOCK_FORMS[scenario.adstock.form]
    saturation = SATURATION_FORMS[scenario.saturation.form]

    original: dict[str, Any] = {}
    for p in adstock.params:
        original[f"adstock_{p}"] = {c.name: c.adstock[p] for c in scenario.channels}
    for p in saturation.params:
        original[f"saturation_{p}"] = {c.name: c.saturation[p] for c in scenario.channels}
    original["intercept_contribution"] = scenario.intercept
    original["gamma_control"] = {c.name: c.coefficient for c in scenario.controls}
    original["gamma_fourier"] = gamma_fourier
    original["y_sigma"] = scenario.noise.scale
    if scenario.noise.dist == "student_t":
        original["y_nu"] = scenario.noise.nu
    original["trend_slope"] = scenario.trend.slope

    # On PyMC-Marketing's default scale (target / max target; spend / max spend, which the
    # saturation parameters are already defined on). Multiplicative seasonality is relative.
    additive = {"intercept_contribution", "gamma_control", "y_sigma", "trend_slope"}
    additive |= {f"saturation_{p}" for p in saturation.amplitude}
    if scenario.seasonality.mode == "additive":
        additive.add("gamma_fourier")
    inverse = {f"saturation_{p}" for p in saturation.inverse_amplitude}

    def rescale(name: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rescale(name, v) for k, v in value.items()}
        if name in additive:
            return value / target_scale
        if name in inverse:
            return value * target_scale
        return value

    scaled = {name: rescale(name, value) for name, value in original.items()}

    total = {c: float(contributions[c].sum()) for c in channels}
    media_total = sum(total.values())
    return {
        "schema": TRUTH_SCHEMA,
        "generator": {"package": "bayestune", "version": __version__},
        "scenario": {"name": scenario.name, "seed": seed, "regime": scenario.regime,
                     "spec": scenario.to_dict(), "drawn": drawn},
        "columns": {
            "date": DATE,
            "target": TARGET,
            "channels": channels,
            "controls": scenario.control_names,
        },
        "structure": {
            "adstock": scenario.adstock.form,
            "l_max": scenario.adstock.l_max,
            "saturation": scenario.saturation.form,
            "yearly_seasonality": scenario.seasonality.order,
            "seasonality_mode": scenario.seasonality.mode,
            "trend": scenario.trend.slope != 0,
            "noise": scenario.noise.dist,
            "well_specified": not scenario.misspecifications,
            "misspecifications": scenario.misspecifications,
            "adstock_normalized": True,
            "adstock_first": True,
        },
        "parameters": {
            "original": original,
            "scaled": scaled,
            "scales": {"target_scale": target_scale, "channel_scale": channel_scale},
        },
        "roas": {c: total[c] / float(spend[c].sum()) for c in channels},
        "contribution_share": {c: total[c] / media_total for c in channels},
        "total_contribution": total,
        "adstock_kernel": {c: kernels[c].tolist() for c in channels},
        "effective_l_max": {c: effective_l_max(kernels[c]) for c in channels},
    }
