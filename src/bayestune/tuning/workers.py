"""Parallel workers: spawned processes that share the study's storage.

Workers write only to the storage. The parent derives ``trials.csv`` and ``best.json`` from
it (every ``refresh`` seconds while they run, and once at the end), so each file has one
writer. The parent checks how every worker ended: one that raised or was killed makes the
run fail with its reason, after the others have finished and the records are written.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from bayestune.errors import RunFailed
from bayestune.progress import Mode
from bayestune.simulator.dataset import ColumnRoles, read_dataset
from bayestune.tuning.config import config_from_dict
from bayestune.tuning.context import SearchContext, make_folds
from bayestune.tuning.optimize import optimize

REFRESH_SECONDS = 5.0
"""How often the parent rewrites ``trials.csv`` and ``best.json`` while workers run."""


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process receives: plain data (the config as JSON), never live objects."""

    run: str
    url: str
    data_path: str
    roles: dict[str, Any]
    config: dict[str, Any]
    total: int
    rank: int
    progress: Mode = "off"
    """``"lines"``: the worker prints a line per trial it finishes (a bar per process would garble)."""


def work(spec: WorkerSpec) -> None:
    """One worker's life: read the dataset, run trials into the storage until the total counts."""
    config = config_from_dict(spec.config, "worker")
    dataset = read_dataset(spec.data_path, ColumnRoles.from_dict(spec.roles))
    ctx = SearchContext(dataset, config, make_folds(dataset, config), Path(spec.run))
    optimize(Path(spec.run), ctx, spec.url, spec.total, progress=spec.progress, rank=spec.rank, records=False)


def _process(target: Callable[[WorkerSpec], None], spec: WorkerSpec, conn: Connection) -> None:
    """A worker process's entry: run ``target`` and send the parent why it failed, if it did."""
    try:
        target(spec)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        conn.send(f"{exc.__class__.__name__}: {exc}"[:2000])
        raise SystemExit(1) from None
    conn.send(None)


def _ending(exitcode: int | None, reason: str | None) -> str | None:
    if exitcode == 0 and reason is None:
        return None
    if reason:
        return reason
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exited with status {exitcode}"


def _stop(procs: list[multiprocessing.process.BaseProcess]) -> None:
    """Terminate the workers still running and wait for each to end (a trial in flight is then
    ended as interrupted by the next resume)."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join()


def run_workers(
    ctx: SearchContext,
    url: str,
    progress: Mode = "off",
    *,
    refresh: Callable[[], None] | None = None,
    every: float | None = None,
    target: Callable[[WorkerSpec], None] | None = None,
) -> None:
    """Run ``config.workers`` spawned processes on the study until ``config.trials`` count.

    ``progress``: ``"lines"`` has each worker print a line per trial it finishes.

    ``refresh`` is called every ``every`` seconds (default :data:`REFRESH_SECONDS`) while they run. ``target`` is what each
    process runs (default :func:`work`; a module-level function, as spawn imports it by
    name). Raises :class:`~bayestune.errors.RunFailed` naming each worker that failed. If
    ``refresh`` raises, the workers are terminated and joined before the error goes on.
    """
    dataset, config, run = ctx.dataset, ctx.config, ctx.run
    roles = dataset.columns.to_dict()
    mp = multiprocessing.get_context("spawn")
    procs, pipes = [], []
    for rank in range(config.workers):
        spec = WorkerSpec(str(run), url, str(dataset.path), roles, config.model_dump(mode="json"), config.trials, rank,
                          progress)
        receive, send = mp.Pipe(duplex=False)
        procs.append(mp.Process(target=_process, args=(target or work, spec, send)))
        pipes.append((receive, send))
    for p in procs:
        p.start()
    for _, send in pipes:
        send.close()  # the child holds its end; a dead child then reads as end of file
    try:
        while any(p.is_alive() for p in procs):
            wait([p.sentinel for p in procs if p.is_alive()], timeout=REFRESH_SECONDS if every is None else every)
            if refresh is not None:
                refresh()
    except BaseException:  # the parent cannot go on (its refresh failed, or Ctrl-C): no orphaned workers
        _stop(procs)
        raise
    failures = []
    for rank, (p, (receive, _)) in enumerate(zip(procs, pipes, strict=True)):
        p.join()
        reason = None
        try:
            if receive.poll():
                reason = receive.recv()
        except (EOFError, OSError):
            pass
        receive.close()
        ending = _ending(p.exitcode, reason)
        if ending is not None:
            failures.append(f"worker {rank} failed: {ending}")
    if failures:
        raise RunFailed("; ".join(failures) + f" ({run})")
