"""The run dir, one typed contract: its file names and a model for every file that
tuning writes and evaluation reads.

A run dir holds ``config.toml`` (resolved), the storage (``study.db``, SQLite, which
optuna-dashboard opens; ``study.journal`` with several workers), ``trials.csv``,
``best.json``, ``final.json``, ``oracle.json``, ``replicates.json``, ``environment.json``,
``dataset.json``, ``priors.json``, ``predictions/`` and ``fits/``.

Tuning writes each file through one function here, and each file has one writer in tuning:
``trials.csv`` and ``best.json`` are derived from the storage by the process that runs the
search (never by its workers); ``final.json`` by the final stage; ``oracle.json`` by the
oracle trial; ``replicates.json`` by the replicate refits. Evaluation reads a run dir only
through :meth:`RunDir.read`. ``best.json``, ``final.json``, ``oracle.json`` and
``replicates.json`` carry ``"schema": "bayestune.<name>/<version>"`` (``environment.json``,
``dataset.json`` and ``priors.json`` carry none; ``trials.csv`` is checked for its columns);
a file of an older layout that can still be read is upgraded on reading (``best.json``
before it had a schema held the final stage under ``"final"``), and a file of another
version is refused with one line naming the schema.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bayestune.errors import BayestuneError, from_validation_error
from bayestune.fileio import write_atomic

CONFIG_FILE = "config.toml"
TRIALS_FILE = "trials.csv"
BEST_FILE = "best.json"
FINAL_FILE = "final.json"
ORACLE_FILE = "oracle.json"
REPLICATES_FILE = "replicates.json"
ENV_FILE = "environment.json"
DATASET_FILE = "dataset.json"
PRIORS_FILE = "priors.json"
PREDICTIONS_DIR = "predictions"
FITS_DIR = "fits"
SQLITE_FILE = "study.db"
JOURNAL_FILE = "study.journal"

CRPS_UNITS = "target units, mean per held-out week over folds (fair estimator)"

TRIAL_COLUMNS = (
    "number", "state", "value", "yearly_seasonality", "l_max", "adstock", "saturation",
    "fold_crps", "week_crps", "max_divergence_rate", "max_rhat", "min_ess_bulk",
    "seconds_build", "seconds_compile", "seconds_sample", "seconds_predict", "seconds_total",
    "fitter", "sampler", "seed", "fold_seeds", "pruned_reason", "error", "interrupted", "fits", "pareto_k",
    "gate_retries",
)
"""The columns of ``trials.csv``, in order (a header even before the first trial ends)."""
_ADDED_COLUMNS: dict[str, Any] = {"fitter": None, "interrupted": False, "fits": None, "pareto_k": "[]",
                                  "gate_retries": "[]"}
"""Columns added to ``trials.csv`` since its first layout, and what an older file reads as."""
TRIALS_SCHEMA = "bayestune.trials/1"
"""``trials.csv`` has no room for a schema field: its header is its schema."""


# --------------------------------------------------------------------------- models
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())


class _Versioned(_Model):
    """A JSON file of the run dir; ``SCHEMA`` is the version this code writes and reads."""

    SCHEMA: ClassVar[str]
    FILE: ClassVar[str]
    schema_: str = Field(alias="schema")

    def __init__(self, **data: Any) -> None:
        data.setdefault("schema", type(self).SCHEMA)
        super().__init__(**data)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2) + "\n"


class CandidateRecord(_Model):
    """A structure, as the files name it."""

    yearly_seasonality: int
    l_max: int
    adstock: str
    saturation: str


class TrialRow(_Model):
    """One row of ``trials.csv``: a trial of the study, whatever its ending.

    Lists (per-fold and per-week CRPS, seeds) are JSON text in their cell.
    """

    number: int
    state: str
    value: float | None
    yearly_seasonality: int | None
    l_max: int | None
    adstock: str | None
    saturation: str | None
    fold_crps: str
    week_crps: str
    max_divergence_rate: float | None
    max_rhat: float | None
    min_ess_bulk: float | None
    seconds_build: float | None
    seconds_compile: float | None
    seconds_sample: float | None
    seconds_predict: float | None
    seconds_total: float | None
    fitter: str | None = None
    """The fitter's name as the config gives it (``None`` in runs from before it was recorded)."""
    sampler: str | None
    """The sampler the fitter ran (before the fitter was recorded: the configured one)."""
    seed: int | None
    fold_seeds: str
    pruned_reason: str | None
    error: str | None
    interrupted: bool
    fits: int | None = None
    """Exact fits the trial made: one per fold, or PSIS-LFO's first fit and its refits (``None``
    in runs from before it was recorded)."""
    pareto_k: str = "[]"
    """PSIS-LFO: the k̂ of each scored week's importance weights, per block; a week whose k̂ passed
    ``lfo.k_threshold`` was predicted by a refit, as was one with ``null`` (weights too degenerate
    to smooth) after the trial's first week (the first fit's); ``[]`` for other validations."""
    gate_retries: str = "[]"
    """Fits that failed the search gate and were made again from a fresh seed (``[gate]
    retries``), ``"<fold|fit> <index>: <reasons>"`` each; their seeds are in ``fold_seeds``."""


class BestRecord(_Versioned):
    """``best.json``: the trial the selection rule chose, and how."""

    SCHEMA: ClassVar[str] = "bayestune.best/1"
    FILE: ClassVar[str] = BEST_FILE
    selection: str
    selection_rule: dict[str, Any]
    trial: int
    crps: float
    score: str = "crps"
    """The score that ranked the search (``score`` seam); ``crps`` and the per-fold and
    per-week lists hold its values whatever it is, in ``crps_units``."""
    crps_units: str = CRPS_UNITS
    candidate: CandidateRecord
    fold_crps: list[float] | None = None
    week_crps: list[list[float]] | None = None
    crps_replicate_mean: float | None = None
    """With replicate refits: the averaged CRPS the choice was made on (``crps`` is the
    chosen trial's own fit)."""


class FitRecord(_Model):
    """One saved fit of the final stage."""

    path: str
    seed: int
    diagnostics: dict[str, Any]
    strict_gate_passed: bool
    strict_gate_failures: list[str]
    timings: dict[str, float]


class TrainTest(_Model):
    """The final stage's honest train/test pair: the test weeks were seen by no fit and no search."""

    fit_weeks: int
    test_weeks: int
    fit_range: tuple[int, int]
    test_range: tuple[int, int]
    train_crps: float
    test_crps: float
    gap: float
    ratio: float
    test_weeks_seen_by_fit: bool
    test_weeks_seen_by_search: bool
    draws: str | None = None
    train_week_crps: list[float]
    test_week_crps: list[float]


FinalOracleState = Literal["COMPLETE", "SAME_AS_CHOSEN", "FAIL", "SKIPPED"]
"""How the final stage's refit of the true structure ended: fitted and scored; not fitted
because the chosen structure is the true one (its regret is exactly 0 on the same weeks); the
truth names no structure or the fit raised (``error`` says which); ``final.oracle = false``."""


class FinalOracle(_Model):
    """The true structure refitted like the chosen one on the final training weeks (same
    production settings, a seed of its own) and scored on the same never-searched test weeks:
    the other half of the honest regret, which the search's choice could not flatter."""

    state: FinalOracleState
    candidate: CandidateRecord | None = None
    error: str | None = None
    fit_range: tuple[int, int]
    test_range: tuple[int, int]
    seed: int | None = None
    test_crps: float | None = None
    test_week_crps: list[float] = []
    """Per test week, paired week by week with ``train_test.test_week_crps``."""
    draws: str | None = None
    diagnostics: dict[str, Any] = {}
    strict_gate_passed: bool | None = None
    strict_gate_failures: list[str] = []
    timings: dict[str, float] = {}


class FinalRecord(_Versioned):
    """``final.json``: the final stage of the chosen trial (train/test pair and full-data refit).

    ``oracle_test`` (the true structure on the same final window) is absent from runs made
    before it existed and from runs without a truth; such a file is read all the same.
    """

    SCHEMA: ClassVar[str] = "bayestune.final/1"
    FILE: ClassVar[str] = FINAL_FILE
    trial: int | None
    """The trial whose structure was refitted (``None``: read from an old run that did not say)."""
    candidate: CandidateRecord | None = None
    crps_units: str
    train_test: TrainTest
    train_fit: FitRecord
    full_fit: FitRecord
    oracle_test: FinalOracle | None = None


class OracleRecord(_Versioned):
    """``oracle.json``: the true structure scored like a trial, outside the study."""

    SCHEMA: ClassVar[str] = "bayestune.oracle/1"
    FILE: ClassVar[str] = ORACLE_FILE
    candidate: CandidateRecord | None
    """``None`` when the truth names no structure (another generator's truth): then ``FAIL``."""
    state: str
    value: float | None
    error: str | None = None
    seeds: list[int] = []
    fold_crps: list[float] = []
    week_crps: list[list[float]] = []
    diagnostics: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    gate_failures: list[str] = []
    crps_units: str = CRPS_UNITS
    fits: int | None = None
    """Exact fits made (as in ``trials.csv``)."""
    pareto_k: list[list[float | None]] = []
    """PSIS-LFO's k̂ per scored week (as in ``trials.csv``)."""
    gate_retries: list[str] = []
    """Always empty: the oracle's fits are not gated (its failures are ``gate_failures``)."""


class ReplicateFit(_Model):
    """One replicate refit of a top trial."""

    trial: int
    replicate: int
    seed: int
    value: float
    week_crps: list[list[float]]
    fold_seeds: list[int]
    gate_failures: list[str]
    timings: dict[str, float]
    seconds: float


class ReplicatesRecord(_Versioned):
    """``replicates.json``: the replicate refits of the top trials."""

    SCHEMA: ClassVar[str] = "bayestune.replicates/1"
    FILE: ClassVar[str] = REPLICATES_FILE
    top: list[int]
    replicates: int
    fits: list[ReplicateFit]


class DatasetRecord(_Model):
    """``dataset.json``: which dataset the run was made for, and its column roles."""

    path: str
    columns: dict[str, Any]
    weeks: int
    has_truth: bool


class ConfigView(BaseModel):
    """What evaluation reads of ``config.toml``. The whole file is tuning's resolved
    :class:`~bayestune.tuning.config.TuningConfig`; evaluation relies on these keys only."""

    model_config = ConfigDict(extra="allow")
    validation: str = "rolling"
    folds: int = 1
    horizon: int | None = None
    sampler: str | None = None
    seed: int | None = None

    @property
    def n_folds(self) -> int:
        return 1 if self.validation == "tail" else int(self.folds)


# --------------------------------------------------------------------------- writing
def write_record(run: str | Path, record: _Versioned) -> Path:
    """Write a versioned record to its file in ``run`` (atomically)."""
    path = Path(run) / record.FILE
    write_atomic(path, record.to_json())
    return path


def write_trials(run: str | Path, rows: list[TrialRow]) -> Path:
    """Write ``trials.csv`` (atomically), its columns in :data:`TRIAL_COLUMNS` order."""
    frame = pd.DataFrame([r.model_dump() for r in rows], columns=list(TRIAL_COLUMNS))
    path = Path(run) / TRIALS_FILE
    write_atomic(path, frame.to_csv(index=False, lineterminator="\n"))
    return path


def write_json(run: str | Path, name: str, payload: dict[str, Any]) -> Path:
    """Write one of the unversioned JSON records (environment, dataset, priors)."""
    path = Path(run) / name
    write_atomic(path, json.dumps(payload, indent=2) + "\n")
    return path


# --------------------------------------------------------------------------- reading
V = TypeVar("V", bound=_Versioned)


def _load_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BayestuneError(f"cannot read {path.name}: {exc}", str(path)) from None
    if not isinstance(data, dict):
        raise BayestuneError(f"cannot read {path.name}: not a JSON object", str(path))
    return data


def _validate(model: type[V], data: dict[str, Any], path: Path) -> V:
    schema = data.get("schema")
    if schema != model.SCHEMA:
        raise BayestuneError(
            f"{path.name} has schema {schema!r}; this bayestune reads {model.SCHEMA!r} "
            "(tune the run again with this version)", str(path))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, f"{path.name} ({model.SCHEMA})", str(path)) from None


def read_record(run: str | Path, model: type[V]) -> V | None:
    """A versioned record of ``run``, or ``None`` when its file is not there.

    Files written before records had a schema are read as version 1 where their fields
    are the same (``oracle.json``); ``best.json`` of that layout is read by :func:`read_best`.
    """
    path = Path(run) / model.FILE
    data = _load_json(path)
    if data is None:
        return None
    if "schema" not in data and model is OracleRecord:
        data = data | {"schema": model.SCHEMA}
    return _validate(model, data, path)


def read_best(run: str | Path) -> tuple[BestRecord | None, FinalRecord | None]:
    """``best.json`` and the chosen trial's final stage (``final.json``).

    A ``best.json`` without a schema (older runs) held the final stage under ``"final"``; it
    is read as both. A ``final.json`` of another trial than the chosen one (a resumed run
    that changed its choice and ran no final stage) is not the chosen trial's: ``None``.
    """
    run = Path(run)
    path = run / BEST_FILE
    data = _load_json(path)
    final = read_record(run, FinalRecord)
    if data is None:
        return None, final
    if "schema" not in data:
        data = dict(data)
        legacy = data.pop("final", None)
        data["schema"] = BestRecord.SCHEMA
        if legacy is not None and final is None:
            final = _validate(FinalRecord, {"schema": FinalRecord.SCHEMA, "trial": data.get("trial")} | legacy, path)
    best = _validate(BestRecord, data, path)
    if final is not None and final.trial is not None and final.trial != best.trial:
        final = None
    return best, final


def read_trials(run: str | Path) -> pd.DataFrame:
    """``trials.csv`` as a frame; refused in one line when a column of the schema is missing."""
    path = Path(run) / TRIALS_FILE
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(TRIAL_COLUMNS))  # a run killed before its first record
    except (OSError, pd.errors.ParserError) as exc:
        raise BayestuneError(f"cannot read {TRIALS_FILE}: {exc}", str(path)) from None
    missing = [c for c in TRIAL_COLUMNS if c not in frame.columns and c not in _ADDED_COLUMNS]
    if missing:
        raise BayestuneError(f"{TRIALS_FILE} lacks columns of {TRIALS_SCHEMA}: {', '.join(missing)}", str(path))
    for column, fill in _ADDED_COLUMNS.items():
        if column not in frame.columns:  # runs from before the column was written
            frame.insert(min(TRIAL_COLUMNS.index(column), frame.shape[1]), column, fill)
    return frame


def read_config(run: str | Path) -> ConfigView:
    path = Path(run) / CONFIG_FILE
    try:
        return ConfigView.model_validate(tomllib.loads(path.read_text()))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BayestuneError(f"cannot read {CONFIG_FILE}: {exc}", str(path)) from None
    except ValidationError as exc:
        raise from_validation_error(exc, CONFIG_FILE, str(path)) from None


def read_dataset_record(run: str | Path) -> DatasetRecord | None:
    path = Path(run) / DATASET_FILE
    data = _load_json(path)
    if data is None:
        return None
    try:
        return DatasetRecord.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, DATASET_FILE, str(path)) from None


@dataclass(frozen=True)
class RunDir:
    """Everything evaluation reads of a run dir, read and checked at once."""

    path: Path
    config: ConfigView
    trials: pd.DataFrame
    best: BestRecord | None
    final: FinalRecord | None
    oracle: OracleRecord | None
    replicates: ReplicatesRecord | None
    environment: dict[str, Any]
    dataset: DatasetRecord | None

    @classmethod
    def read(cls, run: str | Path) -> RunDir:
        run = Path(run)
        if not run.is_dir():
            raise BayestuneError("no such run dir", str(run))
        if not (run / TRIALS_FILE).exists():
            raise BayestuneError(f"not a run dir (no {TRIALS_FILE}): run `bayestune tune` first", str(run))
        best, final = read_best(run)
        return cls(
            run, read_config(run), read_trials(run), best, final, read_record(run, OracleRecord),
            read_record(run, ReplicatesRecord), _load_json(run / ENV_FILE) or {}, read_dataset_record(run),
        )

    def train_test_draws(self) -> dict[str, Any] | None:
        """The final stage's saved predictive draws and observations (``None`` if not saved)."""
        return load_train_test_draws(self.path, self.final)


def load_train_test_draws(run: str | Path, final: FinalRecord | dict[str, Any] | None) -> dict[str, Any] | None:
    """The arrays of the final stage's ``train_test.draws`` file: ``draws_fit``,
    ``observed_fit``, ``draws_test``, ``observed_test``; ``None`` when not saved."""
    import numpy as np

    if final is None:
        return None
    tt = final.train_test.model_dump() if isinstance(final, FinalRecord) else final.get("train_test", {})
    name = tt.get("draws")
    if not name or not (Path(run) / name).exists():
        return None
    with np.load(Path(run) / name) as saved:
        return {k: saved[k] for k in saved.files}
