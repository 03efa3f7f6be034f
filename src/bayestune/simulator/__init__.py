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
from bayestune.simulator.scenario import Scenario
from bayestune.simulator.worlds import ScenarioSpec, load_scenario

ScenarioLike = Scenario | ScenarioSpec | str | Path


def load_spec(scenario: ScenarioLike) -> ScenarioSpec:
    """A spec as is; a :class:`Scenario` as a spec that draws nothing; a TOML path (``.toml``); a preset's name."""
    if isinstance(scenario, ScenarioSpec):
        return scenario
    if isinstance(scenario, Scenario):
        return ScenarioSpec(scenario.to_dict(), {}, scenario.name, scenario)
    if isinstance(scenario, Path) or str(scenario).endswith(".toml"):
        return load_scenario(scenario)
    return load_preset(str(scenario))


def resolve_scenario(scenario: ScenarioLike, seed: int | None = None) -> Scenario:
    """The world of ``seed``; without a seed, the reference world (each distribution at its
    centre), which is the scenario itself when it draws nothing."""
    spec = load_spec(scenario)
    return spec.reference if seed is None else spec.resolve(seed)


def simulate(scenario: ScenarioLike, seed: int) -> SimulatedDataset:
    """Simulate a scenario (a :class:`Scenario` or spec, a TOML path or a preset name) with ``seed``.

    The seed draws the world (where the scenario gives distributions) and the data. Returns the
    data, each channel's true contribution, the baseline components and the truth (the content
    of ``truth.json``, which records the world and what was drawn). The same scenario and seed
    give the same numbers.
    """
    world, drawn = load_spec(scenario).world(seed)
    return _simulate(world, seed, drawn=drawn)


__all__ = [
    "ColumnRoles",
    "Dataset",
    "Scenario",
    "ScenarioSpec",
    "SimulatedDataset",
    "describe_presets",
    "load_preset",
    "load_scenario",
    "load_spec",
    "parse_columns",
    "preset_names",
    "read_dataset",
    "required_weeks",
    "resolve_scenario",
    "simulate",
    "write_dataset",
]
