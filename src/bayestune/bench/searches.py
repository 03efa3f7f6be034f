"""Each finished cell's search, kept beside a suite's results so that a stored run can be replayed.

A cell's own folder (``cells/<key>/``) holds its dataset, its whole run dir and its report:
far too much to store with the results (``predictions/`` and ``fits/`` are megabytes). What
``bench replay`` needs is small: the completed trials with their per-week CRPS, the true
structure scored on the same folds, the replicate refits, the best trial and the truth. After
every finished cell, :func:`keep_search` copies those files into ``searches/<key>/`` in the
cell's own layout (``run/trials.csv``, ``run/oracle.json``, ``run/replicates.json``,
``run/best.json``, ``dataset/truth.json``), so the results folder of a suite (``results.json``,
``summary.md``, ``figures/``, ``searches/``) can be replayed as it is, with no fit.

Plain files rather than one compressed archive: a cell's files are a few kB, each cell's
copy is written whole as soon as it finishes (an archive would be rewritten after every cell,
and a stopped suite could leave a broken one), git stores them compressed anyway, and a
reader, or ``bench replay``, opens them as they are, with the same code that reads a cell's
own folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from bayestune.bench.cell import cell_dir
from bayestune.fileio import UMASK
from bayestune.rundir import BEST_FILE, ORACLE_FILE, REPLICATES_FILE, TRIALS_FILE

SEARCHES_DIR = "searches"
KEPT = (f"run/{TRIALS_FILE}", f"run/{ORACLE_FILE}", f"run/{REPLICATES_FILE}", f"run/{BEST_FILE}",
        "dataset/truth.json")
"""The files of a cell that are kept, relative to its folder (those it has: a run without
replicate refits has no ``replicates.json``)."""


def search_dir(root: str | Path, key: str) -> Path:
    return Path(root) / SEARCHES_DIR / key


def has_search(folder: Path) -> bool:
    """Whether ``folder`` (a cell's or its kept copy) holds a search: its ``run/trials.csv``."""
    return (folder / "run" / TRIALS_FILE).is_file()


def keep_search(root: str | Path, key: str) -> Path | None:
    """Copy the search of the cell ``key`` of the suite run in ``root`` into ``searches/<key>/``.

    The copy is made in a hidden sibling folder and renamed into place, so a reader sees a
    whole copy or none; a copy already there is replaced. Returns the copy, or ``None`` when
    the cell has no search to keep.
    """
    source, target = cell_dir(root, key), search_dir(root, key)
    if not has_search(source):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for name in KEPT:
            if (source / name).is_file():
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / name, tmp / name)
        os.chmod(tmp, 0o777 & ~UMASK)  # mkdtemp's folder is private; the copy gets a plain folder's mode
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return target


def stored_searches(root: str | Path, methodology: str | None = None) -> dict[str, Path]:
    """Cell key -> the folder holding that cell's search, for every cell of the run in ``root``.

    The kept copy under ``searches/`` where there is one, else the cell's own folder under
    ``cells/`` (a suite ``--out`` dir from before searches were kept). ``methodology`` keeps
    only that methodology's cells.
    """
    root = Path(root)
    pattern = f"*/*/{methodology or '*'}"
    found = {c.parent.relative_to(root / "cells").as_posix(): c.parent for c in root.glob(f"cells/{pattern}/cell.json")}
    for trials in root.glob(f"{SEARCHES_DIR}/{pattern}/run/{TRIALS_FILE}"):
        folder = trials.parent.parent
        found[folder.relative_to(root / SEARCHES_DIR).as_posix()] = folder
    return dict(sorted(found.items()))
