"""How long work reports itself: a bar on a terminal, a line per finished step in a log.

On a terminal a bar redraws in place. In a log file or a CI job a redrawn bar is noise, and
silence is worse (minutes with no sign of life), so there each finished trial or stage
prints one line instead. ``quiet`` prints nothing. Progress goes to stderr; stdout carries
the results.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Literal

Mode = Literal["bar", "lines", "off"]
Say = Callable[[str], None]


def progress_mode(quiet: bool) -> Mode:
    """``"off"`` when quiet; a ``"bar"`` on a terminal outside CI; ``"lines"`` otherwise."""
    if quiet:
        return "off"
    if sys.stderr.isatty() and not os.environ.get("CI"):
        return "bar"
    return "lines"


def say(line: str) -> None:
    """Print one progress line to stderr now (the stream looked up at each call)."""
    print(line, file=sys.stderr, flush=True)


def reporter(quiet: bool) -> Say | None:
    """:func:`say`, or ``None`` when quiet: what a stage calls when it finishes."""
    return None if quiet else say
