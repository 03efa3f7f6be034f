"""The catch matrix as a picture: planted methodologies x judges, each cell flagged or not.

Rows are the mutants, then the reruns of the default; columns are the paired judge's primary
metrics (the paired judge), the rerun-calibrated judge, then the gate. Drawn with :class:`matplotlib.figure.Figure`
directly, like :mod:`bayestune.bench.forest`, and written atomically as a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bayestune.bench.catch import CALIBRATED, GATE, PAIRED, Caught
from bayestune.bench.forest import COLOURS, DPI

NOT, FLAGGED, NOT_COUNTED = 0, 1, 2
"""Not flagged; flagged by a judge that counts; flagged by one the suite shows but does not count."""
COLOURMAP = ListedColormap(["0.92", COLOURS["worse"], "#e9a3a3"])


def judges(caught: Sequence[Caught]) -> list[str]:
    """The matrix's columns: the primary metrics, in the suite's order, the calibrated judge, the gate."""
    return [*dict.fromkeys(t.metric for c in caught for t in c.tests), CALIBRATED, GATE]


def _judge_of(column: str) -> str:
    """The judge a column belongs to: a primary metric's column is the paired judge's."""
    return column if column in (CALIBRATED, GATE) else PAIRED


def matrix(caught: Sequence[Caught]) -> np.ndarray:
    """``FLAGGED`` where the column's judge flagged the row (``NOT_COUNTED`` where that judge's
    flags do not count in the suite), else ``NOT``."""
    cols = judges(caught)
    out = np.full((len(caught), len(cols)), NOT)
    for i, c in enumerate(caught):
        for j, judge in enumerate(cols):
            if (judge == GATE and c.gate_failed) or (judge == CALIBRATED and c.calibrated_worse) or judge in c.worse:
                out[i, j] = FLAGGED if _judge_of(judge) in c.counted else NOT_COUNTED
    return out


def plot_catch_matrix(caught: Sequence[Caught], path: str | Path) -> Path:
    """Write the catch matrix to ``path`` and return it."""
    cols, grid = judges(caught), matrix(caught)
    rows = [f"{c.methodology} ({'rerun' if c.rerun else 'mutant'})" if c.methodology != c.mutant else c.methodology
            for c in caught]
    label_w = 0.075 * max(len(r) for r in rows) + 0.4
    # wide enough for the two-line title and the legend, however few judge columns there are
    fig = Figure(figsize=(max(label_w + 0.9 * len(cols) + 0.6, 5.6), 1.9 + 0.38 * len(rows)), layout="constrained")
    ax = fig.subplots()
    ax.imshow(grid, cmap=COLOURMAP, vmin=NOT, vmax=NOT_COUNTED, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(j, i, "·" if grid[i, j] == NOT else "flagged", ha="center", va="center", fontsize=8,
                    color="white" if grid[i, j] == FLAGGED else "0.3" if grid[i, j] == NOT_COUNTED else "0.45")
    counted = caught[0].counted if caught else ()
    shown = [c if _judge_of(c) in counted else f"{c} (not counted)" for c in cols]
    ax.set_xticks(range(len(cols)), shown, rotation=35, ha="right", fontsize=9)
    ax.set_yticks(range(len(rows)), rows, fontsize=9)
    ax.set_xticks(np.arange(-0.5, len(cols)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(rows)), minor=True)
    ax.grid(which="minor", color="white", lw=2)
    ax.tick_params(which="minor", length=0)
    reruns = [i for i, c in enumerate(caught) if c.rerun]
    if reruns and len(reruns) < len(caught):
        ax.axhline(min(reruns) - 0.5, color="black", lw=1.2)
    caught_n = sum(c.flagged for c in caught if not c.rerun)
    alarms = sum(c.flagged for c in caught if c.rerun)
    fig.suptitle(f"Catch matrix: {caught_n}/{len(caught) - len(reruns)} mutants caught,\n"
                 f"{alarms}/{len(reruns)} reruns flagged (false alarms)", fontsize=11)
    handles = [Patch(color=COLOURS["worse"], label="flagged by the column's judge")]
    if (grid == NOT_COUNTED).any():
        handles.append(Patch(color=COLOURMAP.colors[NOT_COUNTED], label="flagged, not counted"))
    fig.legend(handles=[*handles, Patch(color="0.92", label="not flagged")],
               loc="outside lower center", ncols=len(handles) + 1, fontsize=9, frameon=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=DPI)
    tmp.replace(path)
    return path
