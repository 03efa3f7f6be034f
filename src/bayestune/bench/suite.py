"""A benchmark suite: scenarios × seeds × methodologies, and what the gate and compare demand.

A suite is one TOML file (``benchmarks/suites/NAME.toml``)::

    [suite]
    name = "quick"
    description = "..."
    scenarios = ["quickstart"]        # preset names, or scenario TOML paths (relative to the file)
    seeds = [0, 1, 2]                 # each seed simulates the dataset and seeds its study

    [tuning]                          # tuning config keys shared by every methodology
    final = { test_weeks = 16, draws = 1000, tune = 700, chains = 4 }

    [methodology.default]             # one table per methodology: a description and its
    description = "..."               # tuning config keys (merged over [tuning])
    tuning = { trials = 12, folds = 2, horizon = 8, draws = 300, tune = 300 }

    [gate]                            # thresholds for `bayestune gate`, see bench/gate.py
    methodologies = ["default"]
    max_kernel_l1 = 0.3

    [mutants]                         # planted broken methodologies (bench/mutants): optional
    names = ["random-choice", "highest-score"]    # default: all six
    reruns = 2                        # reruns of the default with other study seeds

    [compare]                         # tolerances for `bayestune bench compare`
    runtime_tolerance = 1.5
    noise_z = 2.0                     # unpaired comparisons only
    alpha = 0.05                      # paired: Holm-adjusted two-sided level
    power = 0.8                       # paired: power of the "detectable" difference

Every cell (scenario, seed, methodology) runs the whole pipeline: simulate, tune, final
refits, evaluate. The cell's tuning config is ``[tuning]``, then the methodology's keys, then
``seed`` and ``quiet``; it is validated like any tuning config before anything runs. A
methodology's ``study_seed`` is added to the study's seed (the dataset keeps the cell's
seed), and its ``exclude_truth`` cuts each cell's space around the simulated truth
(:mod:`bayestune.bench.mutants.space`): the planted mutants and reruns use both.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bayestune.errors import BayestuneError, from_validation_error

SUITES_DIR = Path("benchmarks") / "suites"
"""Where ``--suite NAME`` looks, relative to the working directory or any parent of it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SuiteInfo(_Strict):
    name: str
    description: str = ""
    scenarios: tuple[str, ...] = Field(min_length=1)
    seeds: tuple[int, ...] = Field(min_length=1)

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError("seeds must be distinct and non-negative")
        return seeds


class Methodology(_Strict):
    description: str = ""
    reference: bool = False
    """A reference methodology (the seed recipe): reported beside the others, never gated by default."""
    tuning: dict[str, Any] = Field(default_factory=dict)
    study_seed: int = Field(0, ge=0)
    """Added to each cell's seed to seed its study; the dataset keeps the cell's seed."""
    exclude_truth: tuple[Literal["yearly_seasonality", "l_max"], ...] = ()
    """Cut each cell's space so that the simulated truth's value of these lies outside it."""
    mutant: str | None = None
    """The planted mutant this methodology is (:mod:`bayestune.bench.mutants`), or ``"rerun"``."""


PRIMARY = ("final_regret_z", "kernel_l1_max", "abs_error_yearly_seasonality", "gap_ratio")
"""The catch judge's primary metrics: one for each thing a tuner must get right. Predict
never-searched weeks as well as the true structure (the honest regret in standard errors),
recover the carry-over (the worst channel's adstock-kernel L1) and the seasonality (the
Fourier order's error), and not overfit (honest test / train CRPS, judged on the log scale)."""


class MutantsTable(_Strict):
    """Planted mutants and reruns of the default, run beside it (:mod:`bayestune.bench.mutants`)."""

    names: tuple[str, ...] | None = None
    """Which mutants (default: all of them)."""
    reruns: int = Field(2, ge=0)
    """Reruns of the unchanged default with other study seeds on the same datasets."""
    draws: int = Field(1, ge=1)
    """Draws of each mutant (``<name>-draw<k>``, other study seeds on the same datasets). A
    random choice is one ticket of a lottery; ``bayestune gate`` judges a mutant's draws
    pooled, as one methodology."""
    primary: tuple[str, ...] = PRIMARY
    """The paired judge's metrics (:mod:`bayestune.bench.catch`): a planted methodology is
    *worse* when a one-sided paired t-test on one of them says so, Holm-adjusted over these
    alone. Declared before a run, and few: each metric added costs every other one power."""

    judges: tuple[Literal["paired", "calibrated", "gate"], ...] = ("paired", "calibrated", "gate")
    """Which judges' flags count in the catch and false-alarm rates (all are shown): the paired
    t-tests, the rerun-calibrated judge (:mod:`bayestune.bench.calibrated`), the gate."""

    @field_validator("judges")
    @classmethod
    def _some_judges(cls, judges: tuple[str, ...]) -> tuple[str, ...]:
        if not judges or len(set(judges)) != len(judges):
            raise ValueError("judges must name at least one judge, each once")
        return judges

    @field_validator("primary")
    @classmethod
    def _quality(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from bayestune.bench.cell import QUALITY

        unknown = [n for n in names if n not in QUALITY]
        if unknown:
            raise ValueError(f"primary names an unknown quality metric {unknown[0]!r} (known: {', '.join(QUALITY)})")
        if not names or len(set(names)) != len(names):
            raise ValueError("primary must name at least one metric, each once")
        return names


class GateRules(_Strict):
    """Thresholds for ``bayestune gate``; each applies to every gated methodology and scenario,
    on the mean over the suite's seeds (or over all its cells: ``over``). A threshold left out
    is not checked."""

    methodologies: tuple[str, ...] = ("default",)
    over: Literal["scenario", "suite"] = "scenario"
    """``"scenario"``: each scenario's figures (the mean over its seeds) checked apart;
    ``"suite"``: one check per methodology over all its cells, the regrets in standard errors
    pooled as Stouffer's sum / sqrt(n) (:mod:`bayestune.bench.gate`). Checking six one-seed
    worlds apart makes six chances to cross a threshold by noise; pooled, one."""
    max_kernel_l1: float | None = Field(None, gt=0)
    """Worst channel's adstock-kernel L1 (0 to 2)."""
    max_regret_z: float | None = None
    """Regret against the true structure on the search folds, in paired standard errors
    (positive: worse than truth). Biased toward the choice (the winner's curse): prefer
    ``max_final_regret_z``."""
    max_final_regret_z: float | None = None
    """Honest regret (never-searched final test window, both structures refitted on the same
    weeks) in paired standard errors; near 0 ± 1 for a choice equivalent to the truth."""
    max_final_regret: float | None = None
    """Honest regret in CRPS, target units."""
    min_roas_coverage: float | None = Field(None, ge=0, le=1)
    """Share of channels whose true ROAS lies in the 90% interval of the full-data refit."""
    max_roas_relative_error: float | None = Field(None, gt=0)
    """Mean absolute relative error of the channels' ROAS."""
    max_gap_ratio: float | None = Field(None, gt=0)
    """Honest test CRPS / train CRPS."""
    min_exact_rate: dict[str, float] = Field(default_factory=dict)
    """Per hyperparameter: share of seeds on which the chosen value equals the true one."""
    max_failed_cells: int = Field(0, ge=0)

    @field_validator("min_exact_rate")
    @classmethod
    def _known(cls, rates: dict[str, float]) -> dict[str, float]:
        names = ("yearly_seasonality", "l_max", "adstock", "saturation")
        for name, rate in rates.items():
            if name not in names:
                raise ValueError(f"min_exact_rate names an unknown hyperparameter {name!r} (known: {', '.join(names)})")
            if not 0 <= rate <= 1:
                raise ValueError(f"min_exact_rate.{name} must lie in [0, 1]")
        return rates


class CompareRules(_Strict):
    runtime_tolerance: float = Field(1.5, gt=1)
    """A runtime ratio NEW / BASE above this worsens the runtime (same machine only)."""
    noise_z: float = Field(2.0, gt=0)
    """A quality score worsens when its change exceeds ``noise_z`` standard errors of the
    difference of the two suite means, the standard errors coming from the replicate seeds."""
    alpha: float = Field(0.05, gt=0, lt=1)
    """Paired comparisons: the two-sided level of the Holm-adjusted paired t-tests."""
    power: float = Field(0.8, gt=0, lt=1)
    """Paired comparisons: the power at which the smallest detectable difference is reported."""


class SuiteFile(_Strict):
    suite: SuiteInfo
    tuning: dict[str, Any] = Field(default_factory=dict)
    methodology: dict[str, Methodology] = Field(min_length=1)
    gate: GateRules = GateRules()
    compare: CompareRules = CompareRules()
    mutants: MutantsTable | None = None


@dataclass(frozen=True)
class Cell:
    """One run of the pipeline: a scenario, a seed and a methodology."""

    scenario: str
    seed: int
    methodology: str
    tuning: dict[str, Any]
    """The cell's tuning config data (validated), ``seed`` included."""

    @property
    def key(self) -> str:
        from bayestune.bench.cell import cell_key

        return cell_key(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "seed": self.seed, "methodology": self.methodology,
                "tuning": self.tuning}


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    spec: SuiteFile

    @property
    def methodologies(self) -> dict[str, Methodology]:
        return self.spec.methodology

    def scenario_ref(self, scenario: str) -> str:
        """A preset name as is; a scenario file resolved against the suite file's folder."""
        if scenario.endswith(".toml"):
            p = Path(scenario)
            return str(p if p.is_absolute() else (self.path.parent / p).resolve())
        return scenario

    def cells(self, seeds: tuple[int, ...] | None = None, methodologies: tuple[str, ...] | None = None) -> list[Cell]:
        """Every scenario x seed x methodology (only the given seeds and methodologies, if any)."""
        from bayestune.simulator import load_spec
        from bayestune.tuning.config import config_from_dict
        from bayestune.tuning.folds import fold_plan

        seeds = seeds if seeds is not None else self.spec.suite.seeds
        if methodologies is not None:
            unknown = [m for m in methodologies if m not in self.methodologies]
            if unknown:
                raise BayestuneError(f"the suite has no methodology {unknown[0]!r} (it has: "
                                     f"{', '.join(self.methodologies)})", "--methodologies")
        wanted = {k: v for k, v in self.methodologies.items() if methodologies is None or k in methodologies}
        out = []
        for scenario in self.spec.suite.scenarios:
            ref = self.scenario_ref(scenario)
            spec = load_spec(ref)  # a scenario that draws its world may draw its weeks: each seed's are checked
            weeks = sorted({spec.resolve(seed).weeks: seed for seed in seeds}.items())
            for name, method in self.methodologies.items():
                where = f"{self.path}: methodology.{name}"
                config = config_from_dict(merge(self.spec.tuning, method.tuning), where)
                for n, seed in weeks:
                    try:
                        fold_plan(n, config)  # the folds fit the scenario's weeks
                    except BayestuneError as exc:
                        drawn = "" if spec.fixed else f", seed {seed}: {n} weeks"
                        raise BayestuneError(f"{exc.what} (scenario {Path(ref).stem!r}{drawn})", where) from None
            for seed in seeds:
                for name, method in wanted.items():
                    data = merge(self.spec.tuning, method.tuning) | {"seed": seed + method.study_seed, "quiet": True}
                    if method.exclude_truth:
                        data = self._without_truth(data, ref, seed, method.exclude_truth,
                                                   f"{self.path}: methodology.{name}")
                    out.append(Cell(ref, seed, name, data))
        return out

    @staticmethod
    def _without_truth(data: dict[str, Any], ref: str, seed: int, dims: tuple[str, ...], where: str) -> dict[str, Any]:
        """``data`` with its space's ``dims`` cut around the truth simulated for ``ref`` and ``seed``."""
        from bayestune.bench.mutants.space import true_structure, without_truth
        from bayestune.tuning.config import config_from_dict

        config = config_from_dict(data, where)
        space = config.space.model_dump(mode="json")
        data = data | {"space": without_truth(space, true_structure(ref, seed), dims, where)}
        config_from_dict(data, where)
        return data

    def fingerprint(self) -> str:
        """A hash of what the suite computes (not of its gate or compare rules)."""
        what = {"scenarios": list(self.spec.suite.scenarios),
                "tuning": self.spec.tuning,
                "methodology": {k: v.tuning for k, v in self.methodologies.items()}}
        planted = {k: [v.study_seed, list(v.exclude_truth)] for k, v in self.methodologies.items()
                   if v.study_seed or v.exclude_truth}
        if planted:
            what["planted"] = planted
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "file": _shown(self.path), "fingerprint": self.fingerprint()} | self.spec.model_dump(mode="json")


def _shown(path: Path) -> str:
    """A path as a user would write it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``, tables key by key."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def find_suite(name_or_path: str | Path, start: Path | None = None) -> Path:
    """A suite file: an existing path, or ``NAME`` in ``benchmarks/suites/`` of the working
    directory or one of its parents."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise BayestuneError("suite file not found", str(p))
        return p
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / SUITES_DIR / f"{name_or_path}.toml"
        if candidate.is_file():
            return candidate
    known = sorted(f.stem for folder in (here, *here.parents) for f in (folder / SUITES_DIR).glob("*.toml"))
    hint = f"known suites: {', '.join(known)}" if known else f"no {SUITES_DIR}/ here or above"
    raise BayestuneError(f"no suite named {str(name_or_path)!r}; {hint}", "--suite")


def load_suite(name_or_path: str | Path) -> Suite:
    """Read and validate a suite file (``NAME`` or a path)."""
    path = find_suite(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BayestuneError(f"suite is not valid TOML: {exc}", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BayestuneError(f"cannot read suite: {exc.__class__.__name__}", str(path)) from None
    try:
        spec = SuiteFile.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, "suite", str(path)) from None
    unknown = [m for m in spec.gate.methodologies if m not in spec.methodology]
    if unknown:
        raise BayestuneError(f"the gate names an unknown methodology {unknown[0]!r}", f"{path}: gate.methodologies")
    suite = Suite(spec.suite.name, path.resolve(), spec)
    for scenario in spec.suite.scenarios:
        _check_scenario(suite.scenario_ref(scenario), path)
    if spec.mutants is not None:
        suite = with_mutants(suite, spec.mutants)
    suite.cells()  # validates every methodology's tuning config
    return suite


def with_mutants(suite: Suite, table: MutantsTable | None = None, *, reruns: int | None = None) -> Suite:
    """``suite`` with the planted mutants and reruns of its default beside its methodologies
    (``table`` None: every mutant, two reruns). ``reruns`` given sets the number of reruns,
    also of a suite whose ``[mutants]`` table planted them already (its mutants kept); a suite
    that has them already is otherwise returned as is."""
    from bayestune.bench.mutants import MUTANTS, planted

    methods = dict(suite.methodologies)
    if any(m.mutant for m in methods.values()):
        if reruns is None:
            return suite
        table = suite.spec.mutants or MutantsTable()
        methods = {name: m for name, m in methods.items() if not m.mutant}
    table = table or MutantsTable()
    if reruns is not None:
        table = table.model_copy(update={"reruns": reruns})
    names = table.names if table.names is not None else tuple(MUTANTS)
    methods |= planted(Suite(suite.name, suite.path, suite.spec.model_copy(update={"methodology": methods})),
                       names, table.reruns, table.draws)
    return Suite(suite.name, suite.path, suite.spec.model_copy(update={"methodology": methods, "mutants": table}))


def _check_scenario(ref: str, path: Path) -> None:
    from bayestune.simulator import preset_names

    if ref.endswith(".toml"):
        if not Path(ref).is_file():
            raise BayestuneError(f"scenario file not found: {ref}", f"{path}: suite.scenarios")
    elif ref not in preset_names():
        raise BayestuneError(f"unknown preset {ref!r} (presets: {', '.join(preset_names())})",
                             f"{path}: suite.scenarios")
