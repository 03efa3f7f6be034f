"""Scenario specs whose values may be distributions: each seed draws a new world.

A numeric value of a scenario may be given as a one-key table instead of a number::

    adstock = { alpha = { uniform = [0.3, 0.7] } }
    noise = { scale = { loguniform = [400.0, 900.0] } }
    intercept = { normal = [20000.0, 2000.0] }        # truncated to mu ± 3 sd
    weeks = { choice = [65, 78, 91] }                 # any listed value: integers, forms, lists

:func:`parse_scenario` reads such data into a :class:`ScenarioSpec`. Every distribution has a
bounded support (a normal is truncated at ``mu ± 3 sd``), and the spec is checked when it is
read: the reference world (each distribution at its centre) and, one key at a time, the ends of
each support, a value inside it and every choice must make a valid :class:`Scenario` by the
rules of a written one. So a spec whose distribution reaches outside a key's valid range is
refused before any seed, with the key's location. :meth:`ScenarioSpec.world` draws the world of
a seed from random streams of its own (one per drawn key, derived from the seed and the key's
location), so the data's noise streams, and the data of a scenario that draws nothing, are
exactly those of a written scenario. When ``seasonality.order`` is drawn, ``coefficients``
lists the pairs of the largest order and a world keeps its first ``order`` pairs.
"""

from __future__ import annotations

import copy
import math
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from bayestune.errors import BayestuneError, from_validation_error
from bayestune.simulator.scenario import Scenario

KINDS = ("uniform", "loguniform", "normal", "choice")
"""The distributions a scenario value may name."""

NORMAL_SDS = 3.0
"""A normal is truncated to ``mu ± NORMAL_SDS * sd``."""

INSIDE = (math.sqrt(5) - 1) / 2
"""Where inside a support the load-time check probes (irrational: never an integer of an
integer range, so a continuous distribution on an integer key is caught)."""

FIXED_KEYS = frozenset({"name", "description", "regime", "start_date", "pattern", "kind", "with"})
"""Keys whose value names or labels the world: never drawn."""

Loc = tuple[str | int, ...]


def key_name(loc: Loc) -> str:
    """``channels.0.adstock.alpha``: a location as error messages and ``truth.json`` write it."""
    return ".".join(str(p) for p in loc)


@dataclass(frozen=True)
class Distribution:
    """One drawn value: its kind (:data:`KINDS`) and arguments, as the scenario wrote them."""

    kind: str
    args: tuple[Any, ...]

    @classmethod
    def parse(cls, table: dict[str, Any], where: str) -> Distribution:
        """Check a one-key table such as ``{uniform = [0.3, 0.7]}``; raise one line naming ``where``."""
        kinds = [k for k in table if k in KINDS]
        if len(table) != 1:
            raise BayestuneError(f"invalid scenario: a distribution is a table of one key ({', '.join(KINDS)}), "
                                 f"got keys {', '.join(map(str, table))}", where)
        kind, args = kinds[0], table[kinds[0]]
        if not isinstance(args, list) or not args:
            raise BayestuneError(f"invalid scenario: {kind} takes a non-empty list, got {args!r}", where)
        if kind == "choice":
            return cls(kind, tuple(args))
        numbers = len(args) == 2 and all(isinstance(a, int | float) and not isinstance(a, bool)
                                         and math.isfinite(a) for a in args)
        a, b = (float(x) for x in args) if numbers else (math.nan, math.nan)
        problem = {
            "uniform": (not numbers or not a < b, "[low, high] with low < high"),
            "loguniform": (not numbers or not 0 < a < b, "[low, high] with 0 < low < high"),
            "normal": (not numbers or not b > 0, "[mu, sd] with sd > 0"),
        }[kind]
        if problem[0]:
            raise BayestuneError(f"invalid scenario: {kind} takes {problem[1]}, got {args!r}", where)
        return cls(kind, (a, b))

    @property
    def support(self) -> tuple[float, float]:
        """The lowest and highest value a continuous distribution draws."""
        a, b = self.args
        return (a - NORMAL_SDS * b, a + NORMAL_SDS * b) if self.kind == "normal" else (a, b)

    @property
    def centre(self) -> Any:
        """The reference world's value: the middle of the support (geometric for loguniform), the first choice."""
        if self.kind == "choice":
            return self.args[0]
        if self.kind == "loguniform":
            return math.sqrt(self.args[0] * self.args[1])
        lo, hi = self.support
        return (lo + hi) / 2

    def probes(self) -> list[Any]:
        """The values checked when the spec is read: every choice; the ends and a point inside."""
        if self.kind == "choice":
            return list(self.args)
        lo, hi = self.support
        return [lo, lo + INSIDE * (hi - lo), hi]

    def draw(self, rng: np.random.Generator) -> Any:
        if self.kind == "choice":
            return copy.deepcopy(self.args[int(rng.integers(len(self.args)))])
        a, b = self.args
        if self.kind == "uniform":
            return float(rng.uniform(a, b))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(a), math.log(b))))
        while True:  # truncated normal by rejection: accepts 99.7 % of draws
            x = float(rng.normal(a, b))
            if abs(x - a) <= NORMAL_SDS * b:
                return x

    def to_dict(self) -> dict[str, list[Any]]:
        return {self.kind: list(self.args)}

    def __str__(self) -> str:
        return f"{self.kind} {list(self.args)}"


def _stream(seed: int, key: str) -> np.random.Generator:
    """The random stream of one drawn key: apart from the data's streams and from every other key's."""
    return np.random.default_rng([seed, zlib.crc32(f"world:{key}".encode())])


def _find(data: Any, loc: Loc, source: str, out: dict[Loc, Distribution]) -> None:
    """Collect every distribution table under ``data`` by location."""
    if isinstance(data, dict):
        if loc and any(k in KINDS for k in data):
            where = f"{source}: {key_name(loc)}"
            if loc and loc[-1] in FIXED_KEYS:
                raise BayestuneError(f"invalid scenario: {loc[-1]!r} cannot be drawn", where)
            out[loc] = Distribution.parse(data, where)
            return
        for k, v in data.items():
            _find(v, (*loc, k), source, out)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _find(v, (*loc, i), source, out)


def _put(data: Any, loc: Loc, value: Any) -> None:
    for p in loc[:-1]:
        data = data[p]
    data[loc[-1]] = value


def _has(data: Any, loc: Loc) -> bool:
    for p in loc:
        if isinstance(data, dict) and p in data or isinstance(data, list) and isinstance(p, int) and p < len(data):
            data = data[p]
        else:
            return False
    return True


ORDER: Loc = ("seasonality", "order")


def _fill(spec: dict[str, Any], values: dict[Loc, Any]) -> dict[str, Any]:
    """The scenario data with each located value put in (a drawn order keeps that many coefficient pairs)."""
    data = copy.deepcopy(spec)
    for loc, value in values.items():
        _put(data, loc, value)
    season = data.get("seasonality")
    order = values.get(ORDER)
    if isinstance(season, dict) and isinstance(season.get("coefficients"), list) \
            and isinstance(order, int) and not isinstance(order, bool):
        season["coefficients"] = season["coefficients"][: max(order, 0)]
    return data


@dataclass(frozen=True)
class ScenarioSpec:
    """A scenario as written: fixed values and distributions. A seed makes it a :class:`Scenario`."""

    data: dict[str, Any] = field(repr=False)
    draws: dict[Loc, Distribution]
    source: str
    reference: Scenario
    """The world with each distribution at its centre (the scenario itself when nothing is drawn)."""

    @property
    def name(self) -> str:
        return self.reference.name

    @property
    def description(self) -> str:
        return self.reference.description

    @property
    def regime(self) -> str:
        return self.reference.regime

    @property
    def fixed(self) -> bool:
        """Nothing is drawn: every seed has the same world."""
        return not self.draws

    def world(self, seed: int) -> tuple[Scenario, dict[str, dict[str, Any]]]:
        """The world of ``seed`` and what was drawn: ``{key: {"distribution": ..., "value": ...}}``."""
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if self.fixed:
            return self.reference, {}
        values = {loc: d.draw(_stream(seed, key_name(loc))) for loc, d in self.draws.items()}
        data = _fill(self.data, values)
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            err = from_validation_error(exc, "scenario", self.source)
            raise BayestuneError(f"invalid scenario: seed {seed} draws a world that is not valid: "
                                 f"{err.what.removeprefix('invalid scenario: ')}", err.where) from None
        drawn = {key_name(loc): {"distribution": d.to_dict(), "value": values[loc]}
                 for loc, d in self.draws.items() if _has(data, loc)}
        return scenario, drawn

    def resolve(self, seed: int) -> Scenario:
        """The concrete world of ``seed``."""
        return self.world(seed)[0]


def parse_scenario(data: dict[str, Any], source: str) -> ScenarioSpec:
    """Read scenario data (fixed values or distributions) into a checked :class:`ScenarioSpec`.

    Raises a one-line :class:`BayestuneError` naming the key: a malformed distribution, a key
    that cannot be drawn, or a distribution that can draw a value that makes the world invalid.
    """
    draws: dict[Loc, Distribution] = {}
    _find(data, (), source, draws)
    centre = {loc: d.centre for loc, d in draws.items()}
    reference = _validate(_fill(data, centre), source)
    for loc, d in draws.items():
        for value in d.probes():
            try:
                Scenario.model_validate(_fill(data, centre | {loc: value}))
            except ValidationError as exc:
                err = from_validation_error(exc, "scenario", source)
                if d.kind != "choice" and exc.errors()[0]["type"].startswith("int_"):
                    err.what += "; an integer key draws from a choice"
                raise BayestuneError(f"invalid scenario: {key_name(loc)} = {{{d.kind} = {list(d.args)}}} can draw "
                                     f"{_show(value)}, which is not valid: {err.what.removeprefix('invalid scenario: ')}",
                                     f"{source}: {key_name(loc)}") from None
    return ScenarioSpec(data, draws, source, reference)


def _show(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def _validate(data: dict[str, Any], source: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, "scenario", source) from None


def load_scenario(path: str | Path) -> ScenarioSpec:
    """Read a scenario from a TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BayestuneError("scenario file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BayestuneError(f"cannot read scenario file: {exc.__class__.__name__}", str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BayestuneError(f"scenario is not valid TOML: {exc}", str(path)) from None
    return parse_scenario(data, str(path))
