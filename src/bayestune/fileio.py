"""Writing files so that a failure never leaves a half-written one behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

UMASK = os.umask(0)
os.umask(UMASK)
"""The process's umask (read once, at import): temporary files and folders are made private,
so what is renamed into place gets the mode a plain ``open`` or ``mkdir`` would have given it."""


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a hidden sibling, flush it to disk, then rename it over ``path``.

    The rename is atomic on POSIX, so a reader sees the old file or the new one, never a part.
    Each call has a temporary file of its own (a unique name), so writers that race on one
    path never write into each other's file: the last rename wins, whole.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~UMASK)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
