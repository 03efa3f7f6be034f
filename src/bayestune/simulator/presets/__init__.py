"""Named scenarios shipped with bayestune (``presets/*.toml``), each with why it exists."""

from __future__ import annotations

import tomllib
from importlib import resources

from bayestune.errors import BayestuneError
from bayestune.simulator.worlds import ScenarioSpec, parse_scenario

_PACKAGE = "bayestune.simulator.presets"


def preset_names() -> list[str]:
    """Every preset's name, sorted."""
    files = resources.files(_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def load_preset(name: str) -> ScenarioSpec:
    """The named preset (its values fixed or drawn per seed)."""
    names = preset_names()
    if name not in names:
        raise BayestuneError(f"unknown preset {name!r}; choose one of {', '.join(names)}", "--preset")
    text = resources.files(_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return parse_scenario(tomllib.loads(text), f"preset {name}")


def describe_presets() -> list[tuple[str, str]]:
    """``(name, one-line description)`` for every preset."""
    return [(name, load_preset(name).description) for name in preset_names()]
