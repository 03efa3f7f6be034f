"""The simulator: weekly marketing data whose every true parameter and contribution is known.

>>> from bayestune.simulator import simulate
>>> sim = simulate("quickstart", seed=1)
>>> sorted(sim.truth["columns"])
['channels', 'controls', 'date', 'target']
"""

from __future__ import annotations

from pathlib import Path

from bayestune.simulator.dataset import (
    ColumnRoles,
    Dataset,
    parse_columns,
    read_dataset,
    required_weeks,
    write_dataset,
)
from bayestune.simulator.generate import SimulatedDataset
from bayestune.simulator.generate import simulate as _simulate
from bayestune.simulator.presets import describe_presets, load_preset, preset_names
from bayestune.simulator.scenario import Scenario, load_scenario


def resolve_scenario(scenario: Scenario | str | Path) -> Scenario:
    """A :class:`Scenario` as is, a path to a TOML file (``.toml``), or a preset's name."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Path) or str(scenario).endswith(".toml"):
        return load_scenario(scenario)
    return load_preset(str(scenario))


def simulate(scenario: Scenario | str | Path, seed: int) -> SimulatedDataset:
    """Simulate a scenario (a :class:`Scenario`, a TOML path or a preset name) with ``seed``.

    Returns the data, each channel's true contribution, the baseline components and the
    truth (the content of ``truth.json``). The same scenario and seed give the same numbers.
    """
    return _simulate(resolve_scenario(scenario), seed)


__all__ = [
    "ColumnRoles",
    "Dataset",
    "Scenario",
    "SimulatedDataset",
    "describe_presets",
    "load_preset",
    "load_scenario",
    "parse_columns",
    "preset_names",
    "read_dataset",
    "required_weeks",
    "resolve_scenario",
    "simulate",
    "write_dataset",
]
