"""Cells that share one search: methodologies that differ only in how a finished study is read.

Two methodologies whose tuning differs only in keys that do not change what a trial computes
(``selection``, the replicate refits, the oracle, the progress and worker counts: the keys a
resumed run may change, :data:`bayestune.tuning.prepare.RESUMABLE`, less the trial count)
run the same trials on the same dataset: the same study seed proposes the same structures,
and the same seeds fit them to the same draws. The planted selection mutants
(``highest-score``, ``most-complex``) are such methodologies beside the default.

So a suite runs such a search once: the first cell of a dataset with a given search (in suite
order) runs it; each later one waits for it, starts its run dir from a copy of that study
(the Optuna storage, ``trials.csv``, the oracle and the trials' predictive draws; never the
replicate refits, whose settings may differ, nor the final stage) and resumes it, which runs
no trial and applies its own selection, final stage and evaluation. Its figures are those it
would have computed alone (a test checks it); its ``seconds_search`` and ``seconds_per_trial``
are the shared trials', while ``seconds_cell`` is its own wall time. Its ``cell.json`` names
the cell whose search it used. A later cell starts as soon as the cell whose search it reuses
has finished, on the first free worker, while the others run on.

A copy is taken only from a cell that finished, on a byte-identical dataset; otherwise the
cell runs its own search, as it would without a sharing plan.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path
from typing import Any

SHARES = "shares_search_of"
"""Cell-dict key: the key of the cell whose search this one reuses (not part of its identity)."""
FINAL_PREFIX = "final_"
"""Predictive draws of the final stage (``predictions/final_*.npz``): never copied."""


def search_identity(cell: dict[str, Any]) -> str:
    """What a cell's search computes: its dataset and every tuning key that changes a trial."""
    from bayestune.tuning.config import config_from_dict
    from bayestune.tuning.prepare import RESUMABLE

    config = config_from_dict(cell["tuning"], cell["methodology"]).model_dump(mode="json")
    if config.get("storage"):  # an external storage is the study itself: nothing to copy it into
        return json.dumps([cell["methodology"], cell["scenario"], cell["seed"]])
    trials = {k: v for k, v in config.items() if k not in RESUMABLE - {"trials", "storage"}}
    return json.dumps([cell["scenario"], cell["seed"], trials], sort_keys=True)


def plan(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``cells`` with each later cell of a shared search marked with the key of the first."""
    from bayestune.bench.cell import cell_key

    first: dict[str, str] = {}
    out = []
    for cell in cells:
        ident = search_identity(cell)
        if ident in first:
            cell = cell | {SHARES: first[ident]}
        else:
            first[ident] = cell_key(cell)
        out.append(cell)
    return out


def split_waiting(cells: list[dict[str, Any]], done: set[str]) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The cells that can start now, and by source key those that wait for a search another
    cell of the run makes (each starts when that cell has finished, :func:`release`)."""
    from bayestune.bench.cell import cell_key

    running = {cell_key(c) for c in cells}  # a source outside these runs no search to wait for
    now: list[dict[str, Any]] = []
    waiting: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        source = c.get(SHARES)
        if source in running and source not in done:
            waiting.setdefault(source, []).append(c)
        else:
            now.append(c)
    return now, waiting


def release(waiting: dict[str, list[dict[str, Any]]], cell: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells that waited for ``cell``'s search, removed from ``waiting``: ready to start,
    whether it succeeded or not (a cell whose source failed runs a search of its own)."""
    from bayestune.bench.cell import cell_key

    return waiting.pop(cell_key(cell), [])


def _same_dataset(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    theirs = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return bool(files) and files == theirs and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)


def copy_search(base: Path, folder: Path) -> bool:
    """Start ``folder/run`` from the finished search of the cell folder ``base``; ``False`` if it cannot."""
    from bayestune.bench.cell import CELL_FILE
    from bayestune.rundir import (
        CONFIG_FILE,
        JOURNAL_FILE,
        ORACLE_FILE,
        PREDICTIONS_DIR,
        SQLITE_FILE,
        TRIALS_FILE,
    )

    try:
        finished = json.loads((base / CELL_FILE).read_text()).get("status") == "ok"
    except (OSError, ValueError):
        finished = False
    src, run = base / "run", folder / "run"
    if not finished or not (src / CONFIG_FILE).exists() or not _same_dataset(base / "dataset", folder / "dataset"):
        return False
    run.mkdir(parents=True)
    for name in (CONFIG_FILE, SQLITE_FILE, JOURNAL_FILE, TRIALS_FILE, ORACLE_FILE):
        if (src / name).exists():
            shutil.copy2(src / name, run / name)
    (run / PREDICTIONS_DIR).mkdir()
    for draws in (src / PREDICTIONS_DIR).glob("*"):
        if draws.is_file() and not draws.name.startswith(FINAL_PREFIX):
            shutil.copy2(draws, run / PREDICTIONS_DIR / draws.name)
    return True
