"""The forest plot of a suite's paired differences: one panel per quality metric, one row per
contrast (a methodology minus the reference or the default), the mean paired difference and
its t interval, coloured by the Holm-adjusted verdict.

Drawn with :class:`matplotlib.figure.Figure` directly, like :mod:`bayestune.evaluation.figures`
(no pyplot state, no backend switch), and written as a PNG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from bayestune.bench.paired import Contrast

DPI = 120
MAX_COLS = 4
_TAB = matplotlib.colormaps["tab10"].colors
COLOURS = {"worse": _TAB[3], "better": _TAB[2], "same": "0.35"}


def contrast_label(c: Contrast) -> str:
    return f"{c.new} − {c.base}"


def plot_forest(contrasts: Sequence[Contrast], path: str | Path, *, alpha: float) -> Path | None:
    """Write the forest plot to ``path``; ``None`` (nothing written) when no metric was judged.

    A metric whose every cell is the same on both sides in every contrast (no difference at
    all, such as a form every methodology always gets right) gets no panel."""
    metrics = [name for name in dict.fromkeys(t.metric for c in contrasts for t in c.tests)
               if any(t.metric == name and t.judged and (t.sd or t.mean) for c in contrasts for t in c.tests)]
    if not metrics:
        return None
    rows = [contrast_label(c) for c in contrasts]
    cols = min(MAX_COLS, len(metrics))
    nrows = math.ceil(len(metrics) / cols)
    label_w = 0.075 * max(len(r) for r in rows) + 0.3
    panel_h = 0.45 + 0.32 * len(rows)
    fig = Figure(figsize=(label_w + 3.0 * cols, 1.0 + (panel_h + 0.55) * nrows), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False, sharey=True)
    for k, ax in enumerate(axes.flat):
        if k >= len(metrics):
            ax.set_visible(False)
            continue
        metric = metrics[k]
        better = "lower"
        for y, c in enumerate(contrasts):
            t = next((t for t in c.tests if t.metric == metric), None)
            if t is None or not t.judged:
                ax.text(0, y, "n/a", ha="center", va="center", fontsize=9, color="0.5")
                continue
            better = t.better
            colour = COLOURS.get(t.verdict, "0.35")
            ax.plot([t.low, t.high], [y, y], color=colour, lw=2, solid_capstyle="butt")
            ax.plot([t.mean], [y], "o", color=colour, ms=6)
        ax.axvline(0, color="black", lw=0.8, ls=":")
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel("← better" if better == "lower" else "better →", fontsize=9,
                      loc="left" if better == "lower" else "right")
        ax.tick_params(labelsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_yticks(range(len(rows)), rows)
        ax.grid(axis="x", color="0.9")
    handles = [Line2D([], [], color=COLOURS[v], marker="o", lw=2, label=v) for v in ("worse", "better", "same")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    cells = sorted({c.cells for c in contrasts})
    fig.suptitle(f"Paired differences (NEW − BASE) over {'/'.join(map(str, cells))} cells: mean and "
                 f"{1 - alpha:.0%} t interval; colour: Holm-adjusted verdict at {alpha:g}", fontsize=11)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=DPI)
    tmp.replace(path)  # atomic: a reader never sees half a PNG
    return path
