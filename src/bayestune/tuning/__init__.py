"""The tuning loop: Optuna picks MMM structure by held-out CRPS of PyMC-Marketing fits.

>>> from bayestune.tuning import tune, load_config     # doctest: +SKIP
>>> result = tune("data/quickstart", load_config(None, {"trials": 10}), "runs/q1")

Importing this package is cheap: PyMC, PyMC-Marketing, JAX and Optuna are imported only when
a search or a fit starts, so bad input is reported at once. It does set JAX's CPU device
count (:func:`bayestune.tuning.devices.set_host_devices`), which must happen before JAX starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bayestune.errors import BayestuneError
from bayestune.progress import reporter
from bayestune.simulator.dataset import ColumnRoles, Dataset, read_dataset
from bayestune.tuning.config import TuningConfig, load_config
from bayestune.tuning.devices import set_host_devices

set_host_devices()

if TYPE_CHECKING:
    import pandas as pd

    from bayestune.tuning.model import Candidate


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` returns; everything in it is also in the run dir."""

    run: Path
    best: Candidate | None
    best_crps: float | None
    trials: pd.DataFrame
    final: dict[str, Any] | None


def tune(
    dataset: Dataset | str | Path,
    config: TuningConfig | None = None,
    out: str | Path = "run",
    *,
    columns: ColumnRoles | None = None,
    final: bool = True,
) -> TuneResult:
    """Search MMM structures on ``dataset``, then run the final stage for the best one.

    Running it again on the same ``out`` resumes the study up to ``config.trials``.
    """
    from bayestune.rundir import TRIALS_FILE, FinalRecord, read_trials, write_record
    from bayestune.tuning.failures import why_none_completed
    from bayestune.tuning.final import run_final
    from bayestune.tuning.model import Candidate
    from bayestune.tuning.records import choose
    from bayestune.tuning.replicates import load_replicates
    from bayestune.tuning.search import search

    config = config or TuningConfig()
    if not isinstance(dataset, Dataset):
        dataset = read_dataset(dataset, columns)
    run = Path(out)
    study = search(dataset, config, run)
    chosen = choose(study, config.selection, load_replicates(run) if config.replicates else None)
    trials = read_trials(run)
    if chosen is None:
        raise BayestuneError(f"no trial completed: {why_none_completed(trials, config)}", str(run / TRIALS_FILE))
    best, _ = chosen
    candidate = Candidate.from_params(best.params)
    final_result = None
    if final:
        final_result = run_final(candidate, dataset, config, run, reporter(config.quiet)).to_dict()
        write_record(run, FinalRecord(trial=best.number, candidate=candidate.to_dict(), **final_result))
    return TuneResult(run, candidate, best.value, trials, final_result)


def __getattr__(name: str) -> Any:
    if name == "Candidate":  # lazily: it lives beside the MMM builder, which imports PyMC
        from bayestune.tuning.model import Candidate

        return Candidate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Candidate", "TuneResult", "TuningConfig", "load_config", "tune"]
