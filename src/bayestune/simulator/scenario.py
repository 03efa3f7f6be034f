"""Scenario specs: what a simulated world is made of, validated once at the boundary.

A scenario is read from TOML (a file or a named preset, see
:mod:`bayestune.simulator.worlds`, where values may be distributions drawn per seed) and each
world is validated as :class:`Scenario`, a frozen pydantic model. Unknown keys, wrong types and out-of-range values are rejected with the
key's location, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bayestune.errors import from_validation_error
from bayestune.simulator.transforms import ADSTOCK_FORMS, SATURATION_FORMS

MIN_WEEKS = 26
"""A scenario needs at least this many weeks, and at least ``2 * l_max``."""

RESERVED_COLUMNS = ("date", "y")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------ spend
class AlwaysOn(_Spec):
    """Spend every week around ``scale`` with log-normal noise (coefficient ``noise``)."""

    pattern: Literal["always_on"]
    scale: float = Field(gt=0)
    noise: float = Field(0.2, ge=0)


class Flighting(_Spec):
    """Bursts: ``on_weeks`` of spend around ``scale``, then ``off_weeks`` of none."""

    pattern: Literal["flighting"]
    scale: float = Field(gt=0)
    noise: float = Field(0.2, ge=0)
    on_weeks: int = Field(gt=0)
    off_weeks: int = Field(gt=0)


class Seasonal(_Spec):
    """Spend following a yearly wave: ``scale * (1 + amplitude * sin(...))``."""

    pattern: Literal["seasonal"]
    scale: float = Field(gt=0)
    noise: float = Field(0.2, ge=0)
    amplitude: float = Field(0.5, ge=0, lt=1)
    peak_week: int = Field(47, ge=1, le=52)


class Trending(_Spec):
    """Spend growing (or shrinking) linearly by ``growth`` over the whole period."""

    pattern: Literal["trending"]
    scale: float = Field(gt=0)
    noise: float = Field(0.2, ge=0)
    growth: float = Field(gt=-1)


class Correlated(_Spec):
    """Spend whose log follows another (earlier) channel's with correlation ``correlation``."""

    pattern: Literal["correlated"]
    scale: float = Field(gt=0)
    noise: float = Field(0.3, gt=0)
    with_: str = Field(alias="with")
    correlation: float = Field(ge=-1, le=1)


Spend = Annotated[
    AlwaysOn | Flighting | Seasonal | Trending | Correlated, Field(discriminator="pattern")
]


class Channel(_Spec):
    """One media channel: its spend pattern and its true media parameters."""

    name: str = Field(min_length=1)
    spend: Spend
    adstock: dict[str, float]
    saturation: dict[str, float]


# ---------------------------------------------------------------------- controls
class EventControl(_Spec):
    """A 0/1 dummy: 1 in the listed weeks (0-based), or in ``count`` weeks drawn at random."""

    kind: Literal["event"]
    name: str = Field(min_length=1)
    coefficient: float
    weeks: list[Annotated[int, Field(ge=0)]] | None = None
    count: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> EventControl:
        if (self.weeks is None) == (self.count is None):
            raise ValueError("give exactly one of 'weeks' or 'count'")
        return self


class ContinuousControl(_Spec):
    """A continuous control: an AR(1) series with the given mean, scale and persistence."""

    kind: Literal["continuous"]
    name: str = Field(min_length=1)
    coefficient: float
    mean: float = 0.0
    scale: float = Field(1.0, gt=0)
    ar: float = Field(0.8, ge=0, lt=1)


Control = Annotated[EventControl | ContinuousControl, Field(discriminator="kind")]


# -------------------------------------------------------------------- structure
class AdstockSpec(_Spec):
    form: Literal["geometric", "delayed", "weibull_pdf", "weibull_cdf"] = "geometric"
    l_max: int = Field(gt=0)


class SaturationSpec(_Spec):
    form: Literal["logistic", "hill", "michaelis_menten", "tanh"] = "logistic"


class SeasonalitySpec(_Spec):
    """Yearly Fourier seasonality; ``coefficients[k-1] = [sin_k, cos_k]``.

    Additive: in target units. Multiplicative: relative to the rest of the baseline
    and media (0.1 = ±10 %), which no PyMC-Marketing MMM structure expresses.
    """

    order: int = Field(0, ge=0)
    mode: Literal["additive", "multiplicative"] = "additive"
    coefficients: list[tuple[float, float]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_pair_per_order(self) -> SeasonalitySpec:
        if len(self.coefficients) != self.order:
            raise ValueError(
                f"order is {self.order} but {len(self.coefficients)} [sin, cos] "
                "coefficient pairs are given"
            )
        return self


class TrendSpec(_Spec):
    """A linear trend, ``slope`` target units per week (0: none)."""

    slope: float = 0.0


class NoiseSpec(_Spec):
    dist: Literal["normal", "student_t"] = "normal"
    scale: float = Field(gt=0)
    nu: float = Field(5.0, gt=2)


class Scenario(_Spec):
    """A whole simulated world. See the README's "Scenario files" for every key."""

    name: str = Field(min_length=1)
    description: str = ""
    regime: str = Field("", max_length=40)
    """A short label of what the world tests ("long memory", "collinear spend"); suites report by it."""
    weeks: int = Field(gt=0)
    start_date: dt.date = dt.date(2022, 1, 3)
    intercept: float
    adstock: AdstockSpec
    saturation: SaturationSpec = SaturationSpec()
    seasonality: SeasonalitySpec = SeasonalitySpec()
    trend: TrendSpec = TrendSpec()
    noise: NoiseSpec
    channels: list[Channel] = Field(min_length=1)
    controls: list[Control] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        need = max(MIN_WEEKS, 2 * self.adstock.l_max)
        if self.weeks < need:
            raise ValueError(
                f"too few weeks: {self.weeks}; a scenario needs at least {need} "
                f"(at least {MIN_WEEKS}, and twice l_max = {self.adstock.l_max})"
            )
        names = [c.name for c in self.channels] + [c.name for c in self.controls]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"column name {name!r} is used twice")
            if name in RESERVED_COLUMNS:
                raise ValueError(f"column name {name!r} is reserved for the date or target")
        adstock = ADSTOCK_FORMS[self.adstock.form]
        saturation = SATURATION_FORMS[self.saturation.form]
        seen: list[str] = []
        for i, ch in enumerate(self.channels):
            where = f"channels[{i}] {ch.name!r}"
            _check_params(ch.adstock, adstock.params, f"{where} adstock ({adstock.name})")
            for key, value in ch.adstock.items():
                low, high, inclusive = adstock.bounds[key]
                if key == "theta":
                    high, inclusive = self.adstock.l_max - 1, True
                ok = low <= value and (value <= high if inclusive else value < high)
                if not ok:
                    bracket = "]" if inclusive else ")"
                    raise ValueError(
                        f"{where} adstock {key} = {value} is outside [{low}, {high}{bracket}"
                    )
            _check_params(
                ch.saturation, saturation.params, f"{where} saturation ({saturation.name})"
            )
            for key, value in ch.saturation.items():
                if not value > 0:
                    raise ValueError(f"{where} saturation {key} = {value} must be > 0")
            if isinstance(ch.spend, Correlated) and ch.spend.with_ not in seen:
                raise ValueError(
                    f"{where} spend is correlated with {ch.spend.with_!r}, which is not "
                    "a channel listed before it"
                )
            seen.append(ch.name)
        for i, ctl in enumerate(self.controls):
            if isinstance(ctl, EventControl) and ctl.weeks is not None:
                late = [w for w in ctl.weeks if w >= self.weeks]
                if late:
                    raise ValueError(
                        f"controls[{i}] {ctl.name!r} has event weeks {late} beyond the "
                        f"{self.weeks} weeks"
                    )
        return self

    # ------------------------------------------------------------------ derived
    @property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def control_names(self) -> list[str]:
        return [c.name for c in self.controls]

    @property
    def misspecifications(self) -> list[str]:
        """What in this world no PyMC-Marketing MMM structure can express (empty: well-specified)."""
        out = []
        if self.trend.slope != 0:
            out.append("linear trend (the MMM has no trend term)")
        if self.seasonality.order > 0 and self.seasonality.mode == "multiplicative":
            out.append("multiplicative seasonality (the MMM's seasonality is additive)")
        if self.noise.dist == "student_t":
            out.append("Student-t noise (the MMM's likelihood is normal)")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The full spec, defaults filled in, as plain JSON-ready data."""
        return self.model_dump(mode="json", by_alias=True)


def _check_params(given: dict[str, float], expected: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(given) - set(expected))
    missing = [p for p in expected if p not in given]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown {', '.join(unknown)}")
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        raise ValueError(f"{where} parameters: {'; '.join(parts)} (expects {', '.join(expected)})")


def scenario_from_dict(data: dict[str, Any], source: str) -> Scenario:
    """Validate plain data as a :class:`Scenario`, or raise a one-line :class:`BayestuneError`."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, "scenario", source) from None

