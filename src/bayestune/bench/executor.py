"""Where a suite's cells run: one interface, three ways.

* :class:`InProcess` (the default): one cell after another in this process.
* :class:`ProcessPool` (``--workers N``): N spawned processes on this machine.
* :class:`DaskCluster` (``--scheduler ADDRESS``): the workers of a ``dask.distributed``
  cluster, on this machine or many.

Each executor takes a picklable function of one plain-data item and yields ``(item, result)``
as results arrive, in any order. The function must not raise (a cell records its own error);
an executor error (a worker lost) is reported for that item as a failed result. ``then``, when
given, is called in this process with each ``(item, result)`` as it arrives, before it is
yielded, and returns the items that can start now (a cell waiting for the search of the one
just done): they are submitted at once, so a free worker takes them while others still run.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from bayestune.errors import BayestuneError

Task = Callable[[dict[str, Any]], dict[str, Any]]
Then = Callable[[dict[str, Any], dict[str, Any]], Iterable[dict[str, Any]]]
"""``then(item, result)``: the items that ``item``'s result lets start."""


class Executor(Protocol):
    name: str

    def map_unordered(self, fn: Task, items: Iterable[dict[str, Any]],
                      then: Then | None = None) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        ...


def _next(then: Then | None, item: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    return list(then(item, result)) if then is not None else []


def _lost(exc: BaseException) -> dict[str, Any]:
    return {"status": "failed", "error": f"the executor lost the cell: {exc.__class__.__name__}: {exc}"}


class InProcess:
    name = "in-process"

    def map_unordered(self, fn: Task, items: Iterable[dict[str, Any]], then: Then | None = None):
        queue = collections.deque(items)
        while queue:
            item = queue.popleft()
            result = fn(item)
            queue.extend(_next(then, item, result))
            yield item, result


class ProcessPool:
    """Spawned processes (not forked: JAX and forking do not mix)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise BayestuneError("must be at least 1", "--workers")
        self.workers = workers
        self.name = f"process pool ({workers} workers)"

    def map_unordered(self, fn: Task, items: Iterable[dict[str, Any]], then: Then | None = None):
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:
            futures = {pool.submit(fn, item): item for item in items}
            while futures:
                finished, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    item = futures.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - a broken worker fails its cell only
                        result = _lost(exc)
                    for later in _next(then, item, result):
                        futures[pool.submit(fn, later)] = later
                    yield item, result


class DaskCluster:
    """The workers of a running ``dask.distributed`` scheduler at ``address``."""

    def __init__(self, address: str, timeout: float = 30.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise BayestuneError("--scheduler needs dask.distributed: pip install 'bayestune[dask]'",
                                 "--scheduler") from None
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise BayestuneError(f"cannot connect to the Dask scheduler: {exc}", address) from None
        self.name = f"dask ({address})"

    def map_unordered(self, fn: Task, items: Iterable[dict[str, Any]], then: Then | None = None):
        from distributed import as_completed

        def submit(item: dict[str, Any]):
            # pure=False: the same cell submitted twice is run twice, never served from a cache
            future = self.client.submit(fn, item, pure=False)
            futures[future] = item
            return future

        futures: dict[Any, dict[str, Any]] = {}
        arriving = as_completed([submit(item) for item in items], loop=self.client.loop)
        for future in arriving:
            item = futures.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001
                result = _lost(exc)
            for later in _next(then, item, result):
                arriving.add(submit(later))
            yield item, result

    def close(self) -> None:
        self.client.close()


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    if workers is not None and scheduler is not None:
        raise BayestuneError("give --workers or --scheduler, not both", "bayestune bench")
    if scheduler is not None:
        return DaskCluster(scheduler)
    if workers is not None and workers != 1:
        return ProcessPool(workers)
    return InProcess()


@contextlib.contextmanager
def opened(workers: int | None = None, scheduler: str | None = None) -> Iterator[Executor]:
    """:func:`make_executor`, closed (a Dask client disconnected) when the block ends."""
    executor = make_executor(workers, scheduler)
    try:
        yield executor
    finally:
        close = getattr(executor, "close", None)
        if close:
            close()


def split_done(
    items: Iterable[dict[str, Any]], done_of: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[dict[str, Any]]]:
    """Resume: ``(item, stored result)`` for the items ``done_of`` finds finished, and the items to run."""
    done, todo = [], []
    for item in items:
        found = done_of(item)
        if found is None:
            todo.append(item)
        else:
            done.append((item, found))
    return done, todo
