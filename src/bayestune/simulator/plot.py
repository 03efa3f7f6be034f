"""The overview figure of a simulated dataset: target and its parts, spend, true transforms."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bayestune.simulator.generate import SimulatedDataset  # noqa: E402
from bayestune.simulator.transforms import SATURATION_FORMS  # noqa: E402


def plot_overview(sim: SimulatedDataset, path: str | Path) -> Path:
    """Draw the overview of ``sim`` to a PNG at ``path``."""
    truth = sim.truth
    cols = truth["columns"]
    channels = cols["channels"]
    dates = sim.data[cols["date"]]
    colours = plt.get_cmap("tab10").colors
    fig = plt.figure(figsize=(12, 10), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[1.4, 1.0, 1.0])

    ax = fig.add_subplot(grid[0, :])
    baseline = sim.components.drop(columns=[cols["date"], "noise"]).sum(axis=1)
    layers = [baseline] + [sim.contributions[c] for c in channels]
    labels = ["baseline (intercept, trend, seasonality, controls)"] + [
        f"{c} (ROAS {truth['roas'][c]:.2f})" for c in channels
    ]
    ax.stackplot(dates, *layers, labels=labels, colors=["0.82", *colours[: len(channels)]], alpha=0.85)
    ax.plot(dates, sim.data[cols["target"]], color="black", lw=1.2, label="target y (with noise)")
    ax.set_ylabel("target (target units)")
    spec = truth["scenario"]
    s = truth["structure"]
    world = "well-specified" if s["well_specified"] else "misspecified: " + "; ".join(s["misspecifications"])
    ax.set_title(
        f"Scenario {spec['name']!r}, seed {spec['seed']}: {s['adstock']} adstock (l_max {s['l_max']}), "
        f"{s['saturation']} saturation, Fourier order {s['yearly_seasonality']}\n{world}",
        fontsize=10,
    )
    ax.set_ylim(0, 1.3 * float(sim.data[cols["target"]].max()))
    ax.legend(loc="upper left", fontsize=8, ncol=3)
    ax.margins(x=0)

    ax = fig.add_subplot(grid[1, :], sharex=fig.axes[0])
    for i, c in enumerate(channels):
        ax.plot(dates, sim.data[c], color=colours[i], lw=1.2, label=c)
    ax.set_ylabel("weekly spend (currency)")
    ax.set_xlabel("week")
    ax.set_title("Spend per channel", fontsize=10)
    ax.legend(loc="upper left", fontsize=8, ncol=len(channels))

    ax = fig.add_subplot(grid[2, 0])
    width = 0.8 / len(channels)
    for i, c in enumerate(channels):
        kernel = np.asarray(truth["adstock_kernel"][c])
        lags = np.arange(len(kernel)) + (i - (len(channels) - 1) / 2) * width
        ax.bar(lags, kernel, width=width, color=colours[i],
               label=f"{c} (99% of mass within {truth['effective_l_max'][c]} weeks)")
    ax.set_xlabel("lag (weeks since spend)")
    ax.set_ylabel("normalised adstock weight")
    ax.set_title("True adstock kernels", fontsize=10)
    ax.legend(fontsize=8)

    ax = fig.add_subplot(grid[2, 1])
    form = SATURATION_FORMS[s["saturation"]]
    x = np.linspace(0, 1.5, 200)
    for i, c in enumerate(channels):
        params = {p: truth["parameters"]["original"][f"saturation_{p}"][c] for p in form.params}
        ax.plot(x, form.curve(x, **params), color=colours[i], label=c)
    ax.axvline(1.0, color="0.5", ls=":", lw=1)
    ax.set_xlabel("adstocked spend / channel's largest weekly spend")
    ax.set_ylabel("weekly contribution (target units)")
    ax.set_title(f"True {s['saturation']} saturation curves", fontsize=10)
    ax.legend(fontsize=8)

    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
