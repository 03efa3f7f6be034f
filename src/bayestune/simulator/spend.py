"""Weekly spend series for each spend pattern of a scenario."""

from __future__ import annotations

import numpy as np

from bayestune.simulator.scenario import (
    AlwaysOn,
    Correlated,
    Flighting,
    Seasonal,
    Spend,
    Trending,
)

WEEKS_PER_YEAR = 365.25 / 7


def _lognormal_factor(z: np.ndarray, noise: float) -> np.ndarray:
    """Mean-one multiplicative noise, ``exp(noise * z - noise**2 / 2)`` for standard normal ``z``."""
    return np.exp(noise * z - 0.5 * noise**2)


def spend_series(
    spec: Spend,
    weeks: int,
    rng: np.random.Generator,
    log_z: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one channel's weekly spend.

    Parameters
    ----------
    spec
        The channel's spend pattern.
    weeks
        Number of weeks.
    rng
        The channel's own random stream.
    log_z
        The standard-normal driver of each channel drawn so far (for ``correlated``).

    Returns
    -------
    spend, z
        Spend (non-negative) and this channel's standard-normal driver.
    """
    z = rng.standard_normal(weeks)
    t = np.arange(weeks, dtype=float)
    match spec:
        case AlwaysOn():
            level = np.full(weeks, spec.scale)
        case Flighting():
            cycle = spec.on_weeks + spec.off_weeks
            phase = int(rng.integers(cycle))
            level = np.where((t + phase) % cycle < spec.on_weeks, spec.scale, 0.0)
        case Seasonal():
            peak = (spec.peak_week - 1) / WEEKS_PER_YEAR
            wave = np.cos(2 * np.pi * (t / WEEKS_PER_YEAR - peak))
            level = spec.scale * (1 + spec.amplitude * wave)
        case Trending():
            level = spec.scale * (1 + spec.growth * t / max(weeks - 1, 1))
        case Correlated():
            rho = spec.correlation
            z = rho * log_z[spec.with_] + np.sqrt(1 - rho**2) * z
            level = np.full(weeks, spec.scale)
    return level * _lognormal_factor(z, spec.noise), z
