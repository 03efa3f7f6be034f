"""Dataset directories: write them atomically, read and validate them (simulated or a user's own).

A dataset dir holds ``data.csv`` and, when simulated, ``truth.json``, ``contributions.csv``
and ``components.csv``. A user's own data brings only ``data.csv``; its column roles are
then given by the caller, and everything that needs the truth says it is not available.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayestune.errors import BayestuneError
from bayestune.simulator.generate import TRUTH_SCHEMA, SimulatedDataset
from bayestune.simulator.truth import TruthCheck, check_truth

DATA_FILE = "data.csv"
TRUTH_FILE = "truth.json"
CONTRIBUTIONS_FILE = "contributions.csv"
COMPONENTS_FILE = "components.csv"
OVERVIEW_FILE = "overview.png"


@dataclass(frozen=True)
class ColumnRoles:
    """Which column of ``data.csv`` plays which part."""

    date: str
    target: str
    channels: tuple[str, ...]
    controls: tuple[str, ...] = ()

    @classmethod
    def from_truth(cls, truth: dict[str, Any]) -> ColumnRoles:
        return cls.from_dict(truth["columns"])

    @classmethod
    def from_dict(cls, roles: dict[str, Any]) -> ColumnRoles:
        """The roles from :meth:`to_dict`'s form (``controls`` may be left out)."""
        return cls(roles["date"], roles["target"], tuple(roles["channels"]), tuple(roles.get("controls", ())))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (lists, not tuples): for ``dataset.json`` and a worker process's spec."""
        return {"date": self.date, "target": self.target, "channels": list(self.channels),
                "controls": list(self.controls)}

    @property
    def numeric(self) -> tuple[str, ...]:
        return (*self.channels, *self.controls, self.target)


@dataclass(frozen=True)
class Dataset:
    """A validated dataset dir: the data (dates parsed), its column roles, the truth if any."""

    path: Path
    data: pd.DataFrame
    columns: ColumnRoles
    truth: dict[str, Any] | None = None
    contributions: pd.DataFrame | None = field(default=None, repr=False)
    components: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def has_truth(self) -> bool:
        return self.truth is not None

    @property
    def weeks(self) -> int:
        return len(self.data)

    def truth_check(self) -> TruthCheck:
        """What the truth lacks, part by part (:mod:`bayestune.simulator.truth`); nothing without one."""
        if self.truth is None:
            return TruthCheck()
        return check_truth(self.truth, self.columns.channels, date=self.columns.date,
                           contributions=self.contributions, weeks=self.weeks)


def required_weeks(max_l_max: int, holdout_weeks: int) -> int:
    """Fewest weeks a dataset may have: the held-out window plus more than ``max_l_max`` to fit."""
    return max_l_max + holdout_weeks + 1


# ----------------------------------------------------------------------------- write
def write_dataset(
    sim: SimulatedDataset,
    out: str | Path,
    *,
    force: bool = False,
    extra: Callable[[Path], None] | None = None,
) -> Path:
    """Write a simulated dataset dir, all or nothing.

    Files are written into a temporary sibling directory that is renamed into place at
    the end; with ``force`` an existing ``out`` is replaced only once the new one is
    complete, so a failure never leaves a half-written or lost dataset.

    Parameters
    ----------
    sim
        What :func:`bayestune.simulator.simulate` returned.
    out
        The dataset dir. It must not exist or be empty, unless ``force``.
    extra
        Called with the temporary dir to add more files (the overview figure).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BayestuneError("output path exists and is not a directory", str(out))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BayestuneError("output directory is not empty; pass --force to replace it", str(out))
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise BayestuneError(f"cannot write the dataset: {exc.strerror or exc}", str(out)) from None
    try:
        _write_csv(sim.data, tmp / DATA_FILE)
        _write_csv(sim.contributions, tmp / CONTRIBUTIONS_FILE)
        _write_csv(sim.components, tmp / COMPONENTS_FILE)
        (tmp / TRUTH_FILE).write_text(json.dumps(sim.truth, indent=2) + "\n", encoding="utf-8")
        if extra is not None:
            extra(tmp)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
            old.rmdir()
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except OSError as exc:
        raise BayestuneError(f"cannot write the dataset: {exc.strerror or exc}", str(out)) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\n")


# ------------------------------------------------------------------------------ read
def _lines(mask: np.ndarray | pd.Series) -> str:
    """CSV line numbers (header = line 1) of the rows where ``mask`` holds, shortened."""
    rows = np.flatnonzero(np.asarray(mask)) + 2
    shown = ", ".join(str(r) for r in rows[:5])
    return shown + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def read_dataset(
    path: str | Path,
    columns: ColumnRoles | None = None,
    *,
    min_weeks: int | None = None,
) -> Dataset:
    """Read and validate a dataset dir.

    Parameters
    ----------
    path
        The dataset dir (``data.csv``, and ``truth.json`` when simulated).
    columns
        Column roles. Taken from ``truth.json`` when not given; a dataset without
        ``truth.json`` needs them.
    min_weeks
        Fewest weeks the caller needs (see :func:`required_weeks`).

    Raises
    ------
    BayestuneError
        Naming the file and the offending column or CSV lines.
    """
    path = Path(path)
    if not path.is_dir():
        raise BayestuneError("dataset directory not found", str(path))
    csv = path / DATA_FILE
    if not csv.is_file():
        raise BayestuneError(f"no {DATA_FILE} in the dataset directory", str(path))

    truth = _read_truth(path / TRUTH_FILE)
    if columns is None:
        if truth is None:
            raise BayestuneError(
                f"no {TRUTH_FILE} names the column roles; give the date, target and channel columns",
                str(path),
            )
        columns = ColumnRoles.from_truth(truth)
    where = str(csv)
    data = _read_csv(csv)
    _validate(data, columns, where)
    if min_weeks is not None and len(data) < min_weeks:
        raise BayestuneError(
            f"too few weeks: {len(data)}, need at least {min_weeks} "
            "(the largest l_max plus the held-out window)",
            where,
        )
    data[columns.date] = pd.to_datetime(data[columns.date])
    data[list(columns.numeric)] = data[list(columns.numeric)].astype(float)

    contributions = components = None
    if truth is not None:
        contributions = _read_optional(path / CONTRIBUTIONS_FILE, columns.date)
        components = _read_optional(path / COMPONENTS_FILE, columns.date)
    return Dataset(path, data, columns, truth, contributions, components)


def _read_truth(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BayestuneError(f"{TRUTH_FILE} is not readable JSON: {exc}", str(path)) from None
    if not isinstance(truth, dict):
        raise BayestuneError(f"{TRUTH_FILE} is not a JSON object", str(path))
    problems = []
    if truth.get("schema") != TRUTH_SCHEMA:
        problems.append(f"{TRUTH_FILE} schema is {truth.get('schema')!r}, expected {TRUTH_SCHEMA!r}")
    c = truth.get("columns")
    if not isinstance(c, dict):
        problems.append(f"{TRUTH_FILE} has no 'columns' section")
    else:
        problems += [f"{TRUTH_FILE} columns.{k} is not a column name" for k in ("date", "target")
                     if not isinstance(c.get(k), str)]
        if not (isinstance(c.get("channels"), list) and c["channels"] and all(isinstance(x, str) for x in c["channels"])):
            problems.append(f"{TRUTH_FILE} columns.channels is not a non-empty list of column names")
        if not (isinstance(c.get("controls", []), list) and all(isinstance(x, str) for x in c.get("controls", []))):
            problems.append(f"{TRUTH_FILE} columns.controls is not a list of column names")
    if len(problems) == 1:
        raise BayestuneError(problems[0], str(path))
    if problems:
        raise BayestuneError(f"{len(problems)} problems: " + "; ".join(problems), str(path))
    return truth


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        data = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise BayestuneError("the CSV file is empty", str(path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise BayestuneError(f"the CSV file cannot be parsed: {detail}", str(path)) from None
    if data.empty:
        raise BayestuneError("the CSV file has a header but no rows", str(path))
    return data


def _validate(data: pd.DataFrame, roles: ColumnRoles, where: str) -> None:
    """Check every column; raise one error that lists every problem found, each by its lines.

    One problem reads ``<what> (<file> line(s) <n>)``; several read ``<k> problems: <what>
    (line(s) <n>); <what> (line(s) <m>) (<file>)``, in the order of the checks.
    """
    problems = _problems(data, roles)
    if not problems:
        return
    if len(problems) == 1:
        what, lines = problems[0]
        raise BayestuneError(what, f"{where} line(s) {lines}" if lines else where)
    listed = "; ".join(f"{what} (line(s) {lines})" if lines else what for what, lines in problems)
    raise BayestuneError(f"{len(problems)} problems: {listed}", where)


def _problems(data: pd.DataFrame, roles: ColumnRoles) -> list[tuple[str, str | None]]:
    """Every problem of ``data``: what is wrong, and the CSV lines (None for the whole file).

    A check that would only repeat another's finding is skipped: the order of the dates is
    checked only when they are all valid and distinct, their steps only when sorted.
    """
    problems: list[tuple[str, str | None]] = []
    missing = [c for c in (roles.date, *roles.numeric) if c not in data.columns]
    if missing:
        problems.append((f"missing column(s): {', '.join(missing)}", None))

    if roles.date in data.columns:
        dates = pd.to_datetime(data[roles.date], errors="coerce", format="ISO8601")
        bad = dates.isna()
        if bad.any():
            problems.append((f"column {roles.date!r} has values that are not ISO dates (YYYY-MM-DD)", _lines(bad)))
        dup = dates.notna() & dates.duplicated(keep=False)
        if dup.any():
            problems.append((f"column {roles.date!r} has duplicate dates", _lines(dup)))
        step = dates.diff().dt.days
        unsorted = step < 0
        if unsorted.any() and not dup.any():
            problems.append((f"column {roles.date!r} is not sorted in time", _lines(unsorted)))
        gap = step.notna() & (step != 7)
        if gap.any() and not (bad.any() or dup.any() or unsorted.any()):
            problems.append((f"column {roles.date!r} is not weekly without gaps "
                             f"(steps of {sorted(set(step[gap].astype(int)))} days)", _lines(gap)))

    for col in (c for c in roles.numeric if c in data.columns):
        values = pd.to_numeric(data[col], errors="coerce")
        text = data[col].notna() & values.isna()
        if text.any():
            problems.append((f"column {col!r} has non-numeric values", _lines(text)))
        absent = data[col].isna()
        if absent.any():
            role = "target" if col == roles.target else "column"
            problems.append((f"{role} {col!r} has missing values", _lines(absent)))
        infinite = values.notna() & ~np.isfinite(values)
        if infinite.any():
            problems.append((f"column {col!r} has infinite values", _lines(infinite)))
        if col in roles.channels and (values < 0).any():
            problems.append((f"channel {col!r} has negative spend", _lines(values < 0)))
    return problems


def _read_optional(path: Path, date: str) -> pd.DataFrame | None:
    """A file of the truth as read; what it lacks is :func:`check_truth`'s to say."""
    if not path.exists():
        return None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise BayestuneError(f"the CSV file cannot be parsed: {detail}", str(path)) from None
    if date in frame:
        frame[date] = pd.to_datetime(frame[date], errors="coerce")
    return frame


def parse_columns(
    date: str, target: str, channels: Sequence[str] | str, controls: Sequence[str] | str = ()
) -> ColumnRoles:
    """Column roles from CLI-style values (comma-separated strings or lists)."""

    def split(v: Sequence[str] | str) -> tuple[str, ...]:
        items = v.split(",") if isinstance(v, str) else list(v)
        return tuple(s.strip() for s in items if s.strip())

    chans = split(channels)
    if not chans:
        raise BayestuneError("at least one channel column is needed", "--channels")
    return ColumnRoles(date, target, chans, split(controls))
