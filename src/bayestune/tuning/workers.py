"""Parallel workers: spawned processes that share the study's storage."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from bayestune.progress import Mode
from bayestune.simulator.dataset import ColumnRoles, read_dataset
from bayestune.tuning.config import config_from_dict
from bayestune.tuning.context import SearchContext, make_folds
from bayestune.tuning.optimize import optimize


def _worker(run: str, url: str, data_path: str, roles: dict[str, Any], config_data: dict, total: int, rank: int,
            progress: Mode) -> None:
    config = config_from_dict(config_data, "worker")
    columns = ColumnRoles(roles["date"], roles["target"], tuple(roles["channels"]), tuple(roles["controls"]))
    dataset = read_dataset(data_path, columns)
    ctx = SearchContext(dataset, config, make_folds(dataset, config), Path(run))
    optimize(Path(run), ctx, url, total, progress=progress, rank=rank)


def run_workers(ctx: SearchContext, url: str, progress: Mode = "off") -> None:
    """Run ``config.workers`` spawned processes on the study until ``config.trials`` count.

    ``progress``: ``"lines"`` has each worker print a line per trial it finishes.
    """
    dataset, config, run = ctx.dataset, ctx.config, ctx.run
    roles = {"date": dataset.columns.date, "target": dataset.columns.target,
             "channels": list(dataset.columns.channels), "controls": list(dataset.columns.controls)}
    mp = multiprocessing.get_context("spawn")
    procs = [
        mp.Process(target=_worker, args=(str(run), url, str(dataset.path), roles,
                                          config.model_dump(mode="json"), config.trials, rank, progress))
        for rank in range(config.workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
