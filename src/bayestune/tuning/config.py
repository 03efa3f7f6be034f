"""The tuning config: one TOML format, every CLI flag a key, validated once.

The resolved config (defaults filled in, flags applied) is written into every run dir as
``config.toml``, so a run can be repeated from its own directory.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bayestune.errors import BayestuneError, from_validation_error

SAMPLERS = ("numpyro", "pymc", "nutpie", "blackjax")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpaceConfig(_Config):
    """The search space. Structure only: priors are never tuned."""

    yearly_seasonality: tuple[int, int] = (1, 10)
    l_max: tuple[int, int] = (4, 12)
    adstock: tuple[Literal["geometric", "delayed", "weibull_pdf", "weibull_cdf"], ...] = ("geometric",)
    saturation: tuple[Literal["logistic", "hill", "michaelis_menten", "tanh"], ...] = ("logistic",)

    @model_validator(mode="after")
    def _ranges(self) -> SpaceConfig:
        lo, hi = self.yearly_seasonality
        if not 0 <= lo <= hi:
            raise ValueError(f"yearly_seasonality range [{lo}, {hi}] must have 0 <= low <= high")
        lo, hi = self.l_max
        if not 1 <= lo <= hi:
            raise ValueError(f"l_max range [{lo}, {hi}] must have 1 <= low <= high")
        if not self.adstock or not self.saturation:
            raise ValueError("adstock and saturation each need at least one form")
        return self


class GateConfig(_Config):
    """Convergence thresholds: a fit passes when all three hold."""

    max_divergence_rate: float = Field(0.10, ge=0, le=1)
    max_rhat: float = Field(1.10, ge=1)
    min_ess: float = Field(50.0, ge=0)
    retries: int = Field(0, ge=0)
    """Search fits only: a fold's fit that fails is made again from a fresh seed up to this
    many times before the trial is pruned (each attempt recorded in ``trials.csv``'s
    ``gate_retries`` and ``fold_seeds``)."""


class FinalConfig(_Config):
    """The final stage: production settings, strict gate, the never-searched test window."""

    test_weeks: int = Field(24, gt=0)
    draws: int = Field(2000, gt=0)
    tune: int = Field(2000, gt=0)
    chains: int = Field(4, gt=0)
    gate: GateConfig = GateConfig(max_divergence_rate=0.01, max_rhat=1.01, min_ess=400)
    """The strict gate: checked and reported, never retried (``retries`` must stay 0)."""
    oracle: bool = True
    """With a truth: refit the true structure on the same final training weeks and score it on
    the same test weeks (the honest regret; one more production fit unless the chosen
    structure is the true one). ``false`` skips it."""

    @field_validator("gate")
    @classmethod
    def _no_retries(cls, gate: GateConfig) -> GateConfig:
        if gate.retries:
            raise ValueError("retries apply to search fits only ([gate] retries); the final stage's strict gate "
                             "is reported, not retried")
        return gate


class LFOConfig(_Config):
    """PSIS-LFO (``validation = "lfo"``, :mod:`bayestune.tuning.lfo`)."""

    min_history: int | None = Field(None, gt=0)
    """Weeks before the first forecast origin; by default the first rolling fold's fitted weeks
    (``weeks - final.test_weeks - horizon - (folds - 1) * step``)."""
    ahead: int = Field(1, gt=0)
    """How many weeks ahead each week is scored (1: one step ahead)."""
    k_threshold: float = Field(0.7, gt=0)
    """Refit exactly when the Pareto k̂ of the importance weights passes this."""


class PrunerConfig(_Config):
    """The pruner (:mod:`bayestune.tuning.pruner`): a name or import path and its keyword arguments."""

    name: str = Field("median", validation_alias=AliasChoices("name", "kind"))
    """``median``, ``none``, an Optuna pruner class or a plug-in (``kind`` is the older key)."""
    kwargs: dict[str, Any] = Field(default_factory=dict)
    n_startup_trials: int = Field(5, ge=0)
    n_warmup_steps: int = Field(0, ge=0)


class OptunaSamplerConfig(_Config):
    """The Optuna sampler (:mod:`bayestune.tuning.optuna_sampler`) and its keyword arguments."""

    name: str = "TPESampler"
    kwargs: dict[str, Any] = Field(default_factory=dict)


class TuningConfig(_Config):
    """Everything a tuning run needs besides the data. See the README's "Tuning config"."""

    trials: int = Field(20, gt=0)
    sampler: Literal["numpyro", "pymc", "nutpie", "blackjax"] = "numpyro"
    draws: int = Field(500, gt=0)
    tune: int = Field(500, gt=0)
    chains: int = Field(2, gt=0)
    validation: str = "rolling"
    """Which weeks are fitted and which scored: ``rolling``, ``tail``, ``lfo`` (PSIS leave-future-out,
    :mod:`bayestune.tuning.lfo`) or a fold plan's import path (:mod:`bayestune.tuning.folds`)."""
    folds: int = Field(3, gt=0)
    horizon: int = Field(8, gt=0)
    step: int | None = Field(None, gt=0)
    """Weeks between rolling folds' origins (default: ``horizon``, folds side by side). A smaller
    step gives more folds over the same weeks (``folds = 16, horizon = 1, step = 1`` scores
    each of the last 16 search weeks one week ahead from an exact fit); where ``step <
    horizon`` folds overlap, and a week scored by two folds counts twice in the mean and in
    the paired standard errors."""
    seed: int = Field(0, ge=0)
    storage: str | None = None
    workers: int = Field(1, gt=0)
    quiet: bool = False
    oracle: bool = True
    selection: str = "lowest"
    """How the study chooses among completed trials: a rule's name or import path
    (:mod:`bayestune.tuning.selection`)."""
    score: str = "crps"
    """The per-week score that ranks the search's trials (:mod:`bayestune.scores`)."""
    fitter: str = "pymc-marketing"
    """What builds, fits, predicts and diagnoses a structure (:mod:`bayestune.tuning.fitters`)."""
    replicates: int = Field(0, ge=0)
    """Refit the top ``replicate_top`` structures this many more times each and choose on the
    averaged CRPS (:mod:`bayestune.tuning.replicates`); 0: no replicate refits."""
    replicate_top: int = Field(3, ge=1)
    sampler_kwargs: dict[str, Any] = Field(default_factory=dict)
    space: SpaceConfig = SpaceConfig()
    gate: GateConfig = GateConfig()
    final: FinalConfig = FinalConfig()
    lfo: LFOConfig = LFOConfig()
    pruner: PrunerConfig = PrunerConfig()
    optuna_sampler: OptunaSamplerConfig = OptunaSamplerConfig()

    @field_validator("optuna_sampler", mode="before")
    @classmethod
    def _sampler_by_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _plugins(self) -> TuningConfig:
        """Resolve and check every plug-in named, so a bad one fails before anything runs.

        Built-in names are only looked up (their modules load when first used).
        """
        from bayestune.scores import BUILTINS as SCORES
        from bayestune.scores import resolve_score
        from bayestune.tuning.fitters import BUILTINS as FITTERS
        from bayestune.tuning.fitters import resolve_fitter, sampler_name
        from bayestune.tuning.folds import BUILTINS as PLANS
        from bayestune.tuning.folds import resolve_plan
        from bayestune.tuning.optuna_sampler import DEFAULT as DEFAULT_SAMPLER
        from bayestune.tuning.optuna_sampler import make_sampler
        from bayestune.tuning.pruner import make_pruner
        from bayestune.tuning.selection import resolve_rule

        try:
            resolve_rule(self.selection, "selection")
            if self.score not in SCORES:
                resolve_score(self.score, "score")
            if self.fitter not in FITTERS:
                resolve_fitter(self.fitter, "fitter")
            if self.validation not in PLANS:
                resolve_plan(self.validation, "validation")
            if self.validation == "lfo":
                from bayestune.tuning.lfo import lfo_problem

                problem = lfo_problem(resolve_fitter(self.fitter, "fitter"), self.fitter)
                if problem:
                    raise BayestuneError(problem, "validation")
            if self.sampler != "numpyro":  # a backend that cannot run here fails now, not in every trial
                from bayestune.tuning.backends import sampler_problem

                problem = sampler_problem(sampler_name(resolve_fitter(self.fitter, "fitter"), self.sampler))
                if problem:
                    raise BayestuneError(problem, "sampler")
            s = self.optuna_sampler
            if s.name != DEFAULT_SAMPLER or s.kwargs:
                make_sampler(s.name, s.kwargs, self.space, self.seed, "optuna_sampler")
            p = self.pruner
            if p.name not in ("median", "none") or p.kwargs:
                make_pruner(p.name, p.kwargs, p.n_startup_trials, p.n_warmup_steps, "pruner")
        except BayestuneError as exc:
            raise ValueError(exc.what) from None
        return self

    @property
    def n_folds(self) -> int:
        return 1 if self.validation == "tail" else self.folds

    def to_toml(self) -> str:
        data = self.model_dump(mode="json", exclude_none=True)
        return tomli_w.dumps(data)


def config_from_dict(data: dict[str, Any], source: str) -> TuningConfig:
    """Validate plain data as a :class:`TuningConfig`, or raise a one-line error."""
    try:
        return TuningConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, "config", source) from None


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> TuningConfig:
    """Read a TOML config (or the defaults) and apply ``overrides`` (flags; ``None`` = not given)."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        path = Path(path)
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BayestuneError("config file not found", source) from None
        except tomllib.TOMLDecodeError as exc:
            raise BayestuneError(f"config is not valid TOML: {exc}", source) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BayestuneError(f"cannot read config: {exc.__class__.__name__}", source) from None
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
            source = f"{source} + flags" if "flags" not in source else source
    return config_from_dict(data, source)
