"""Creating or checking a run dir before a search: resolved config, environment, dataset, priors."""

from __future__ import annotations

from pathlib import Path

from bayestune.errors import BayestuneError
from bayestune.fileio import write_atomic
from bayestune.rundir import (
    CONFIG_FILE,
    DATASET_FILE,
    ENV_FILE,
    FINAL_FILE,
    FITS_DIR,
    PREDICTIONS_DIR,
    PRIORS_FILE,
    DatasetRecord,
    read_best,
    read_dataset_record,
    write_json,
    write_record,
)
from bayestune.simulator.dataset import Dataset
from bayestune.tuning.config import TuningConfig, config_from_dict
from bayestune.tuning.environment import environment
from bayestune.tuning.fitters import resolve_fitter, sampler_name
from bayestune.tuning.model import Candidate, default_priors

RESUMABLE = {"trials", "workers", "quiet", "storage", "oracle", "selection", "replicates", "replicate_top"}
"""Keys a resumed run may change: none of them changes what a trial computes."""


def prepare_run_dir(run: Path, config: TuningConfig, dataset: Dataset) -> None:
    """Create or check the run dir; a resumed run must keep the same settings."""
    path = run / CONFIG_FILE
    if path.exists():
        import tomllib

        old = config_from_dict(tomllib.loads(path.read_text()), str(path)).model_dump(mode="json")
        new = config.model_dump(mode="json")
        changed = sorted(k for k in new if k not in RESUMABLE and old.get(k) != new.get(k))
        if changed:
            raise BayestuneError(
                f"the run dir holds a study with other settings ({', '.join(changed)}); "
                "use a new --out or the same settings to resume",
                str(run),
            )
        record = read_dataset_record(run)
        if record is not None and Path(record.path).resolve() != dataset.path.resolve():
            raise BayestuneError(f"the run dir was made for dataset {record.path}", str(run))
        _keep_legacy_final(run)
    elif run.exists() and any(run.iterdir()):
        raise BayestuneError("output directory is not empty and holds no study", str(run))
    try:
        (run / FITS_DIR).mkdir(parents=True, exist_ok=True)
        (run / PREDICTIONS_DIR).mkdir(exist_ok=True)
    except OSError as exc:
        raise BayestuneError(f"cannot create the run dir: {exc.strerror or exc}", str(run)) from None
    write_atomic(path, config.to_toml())
    fitter = resolve_fitter(config.fitter)
    write_json(run, ENV_FILE, environment(sampler_name(fitter, config.sampler), config.fitter))
    write_json(run, DATASET_FILE, DatasetRecord(
        path=str(dataset.path.resolve()),
        columns=dataset.columns.to_dict(),
        weeks=dataset.weeks,
        has_truth=dataset.has_truth,
    ).model_dump())
    mid = Candidate(config.space.yearly_seasonality[0] or 1, config.space.l_max[0],
                    config.space.adstock[0], config.space.saturation[0])
    write_json(run, PRIORS_FILE, default_priors(mid, dataset.columns))


def _keep_legacy_final(run: Path) -> None:
    """Move an older run's final stage out of ``best.json`` into ``final.json``.

    Before ``final.json`` existed, ``best.json`` held the final stage under ``"final"``. The
    resumed search rewrites ``best.json`` in the current layout, which has no room for it: the
    final stage would be lost unless it is written to its own file first.
    """
    if (run / FINAL_FILE).exists():
        return
    _, final = read_best(run)
    if final is not None:
        write_record(run, final)
