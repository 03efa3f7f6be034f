"""The rerun-calibrated judge: is a methodology worse, on these datasets, than the default's
own study-seed noise explains?

The paired t-test (:mod:`bayestune.bench.paired`) asks whether a methodology is worse on
worlds in general, so its unit is the world and six worlds give it little power. A
regression benchmark can also ask a narrower question with the same cells: on *these*
datasets, does the methodology land further from the default than reruns of the default
itself do? The default and its reruns (other study seeds, same datasets) are exchangeable,
so their differences are draws from the null, dataset by dataset.

For each primary metric :math:`m` (those in :data:`~bayestune.bench.paired.LOG_SCALE` on
the log scale, each signed so that a positive difference is worse), the statistic is the
mean over datasets of NEW minus the default, divided by its null standard deviation (from
every ordered pair of different runs of the default on each dataset). The largest over the
metrics is compared with the :math:`1-\\alpha` quantile of the same maximum under a
resampled leave-one-out null (each draw takes, on every dataset, one run as NEW and another
as BASE, NEW standardised by the other runs' spread; see :func:`calibrate`): a max-T
procedure (Westfall & Young 1993), so the chance that any metric flags an exchangeable
methodology is about :math:`\\alpha`, whatever the dependence between the metrics. A
metric whose runs never differ (no null spread) cannot be calibrated and is left to the
paired judge.

It is calibrated on few runs, so it is only as good as the reruns are many; a rerun judged by
it is judged against a null built without it (leave one out), which is how its false-alarm
rate is checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayestune.bench.paired import LOG_SCALE, unit

DRAWS = 4000
"""Resampled null comparisons per calibration."""


def signed(cell: dict[str, Any], name: str, better: str) -> float:
    """The cell's figure on the judged scale, signed so that larger is worse (nan if missing)."""
    v = (cell.get("metrics") or {}).get(name)
    if cell.get("status") != "ok" or v is None or not math.isfinite(float(v)):
        return math.nan
    x = float(v)
    if name in LOG_SCALE:
        x = math.log(x) if x > 0 else math.nan
    return x if better == "lower" else -x


def label(name: str) -> str:
    return f"log {name}" if name in LOG_SCALE else name


@dataclass(frozen=True)
class Calibration:
    """The null of the default's runs on the suite's datasets."""

    names: tuple[str, ...]
    better: tuple[str, ...]
    scale: tuple[float, ...]
    """Each metric's null standard deviation of the mean difference (0: not calibrated)."""
    critical: float
    """The ``1 - alpha`` quantile of the largest standardised null statistic."""
    runs: int
    """The fewest runs of the default on any dataset."""
    draws: int
    datasets: int
    """The datasets the null averages over; a comparison over fewer (a failed cell) has a
    wider null, its spread scaled by sqrt(datasets / compared)."""
    leave_one_out: bool = True
    """Whether the critical value comes from leave-one-out draws (three runs or more)."""

    def statistics(self, base: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> dict[str, float]:
        """Each calibrated metric's standardised mean difference NEW - BASE (positive: worse),
        over the datasets both sides have the figure on."""
        b = {unit(c): c for c in base}
        n = {unit(c): c for c in new}
        units = sorted(set(b) & set(n))
        out = {}
        for name, better, s in zip(self.names, self.better, self.scale, strict=True):
            d = [signed(n[u], name, better) - signed(b[u], name, better) for u in units]
            d = [x for x in d if math.isfinite(x)]
            if s > 0 and d:
                out[label(name)] = float(np.mean(d)) / (s * math.sqrt(self.datasets / len(d)))
        return out

    def worse(self, base: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> list[str]:
        """The metrics on which NEW is beyond the null's critical value."""
        return [m for m, t in self.statistics(base, new).items() if t > self.critical]


def _pair_variance(v: np.ndarray) -> np.ndarray:
    """Per metric, the mean squared difference over ordered pairs of different runs (rows of
    ``v``) that both have the figure: the variance of one null difference (nan: no pair)."""
    d = v[:, None, :] - v[None, :, :]
    ok = np.isfinite(d) & ~np.eye(len(v), dtype=bool)[:, :, None]  # a run paired with itself is no pair
    n = ok.sum(axis=(0, 1))
    total = np.where(ok, d * d, 0.0).sum(axis=(0, 1))
    return np.divide(total, n, out=np.full(v.shape[1], np.nan), where=n > 0)


def _scale(variances: np.ndarray) -> np.ndarray:
    """The null standard deviation of the mean over datasets of one difference each, from each
    dataset's pair variance (datasets x metrics; a dataset without one is left out)."""
    ok = np.isfinite(variances)
    k = ok.sum(axis=0)
    total = np.where(ok, variances, 0.0).sum(axis=0)
    return np.divide(np.sqrt(total), k, out=np.zeros(variances.shape[1]), where=k > 0)


def calibrate(runs: dict[Any, list[dict[str, Any]]], metrics: dict[str, str], names: Sequence[str], *,
              alpha: float, draws: int = DRAWS, seed: int = 0) -> Calibration | None:
    """The null of ``runs`` (per dataset, the cells of the default's exchangeable runs); None
    unless every dataset has two runs or more and some metric has null spread.

    The spread of each metric's null mean difference comes from every ordered pair of runs
    on each dataset. The critical value comes from leave-one-out draws: on every dataset one
    run plays NEW and another BASE, and NEW's statistic is standardised by the spread of the
    *other* runs, as a methodology outside the calibration is. Standardising by a spread that
    includes NEW itself makes the null too narrow when the runs are few and heavy-tailed (one
    study seed far off on one world): with five runs of the quick suite's default, 15% of such
    null comparisons crossed that critical value instead of 5%. Leave-one-out needs three runs
    per dataset; with two, the spread includes NEW (the null is then too narrow: say so).
    """
    if not runs or min(len(v) for v in runs.values()) < 2:
        return None
    better = tuple(metrics.get(n, "lower") for n in names)
    rng = np.random.default_rng(seed)
    # per dataset: runs x metrics, signed so that larger is worse
    values = [np.array([[signed(c, n, b) for n, b in zip(names, better, strict=True)] for c in members])
              for members in runs.values()]
    scale = _scale(np.array([_pair_variance(v) for v in values]))
    usable = scale > 1e-12
    if not usable.any():
        return None
    loo = min(len(v) for v in values) >= 3
    # without run j, per dataset: runs x metrics
    without = [np.array([_pair_variance(np.delete(v, j, axis=0)) for j in range(len(v))]) if loo else None
               for v in values]
    sums = np.zeros((draws, len(names)))
    counts = np.zeros((draws, len(names)))
    variances = np.zeros((draws, len(values), len(names)))
    for k, v in enumerate(values):  # NEW = run b, BASE = run a (a != b)
        b = rng.integers(0, len(v), draws)
        a = (b + rng.integers(1, len(v), draws)) % len(v)
        d = v[b] - v[a]
        ok = np.isfinite(d)
        sums += np.where(ok, d, 0.0)
        counts += ok
        variances[:, k, :] = without[k][b] if loo else _pair_variance(v)
    mean = np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
    spread = np.array([_scale(variances[i]) for i in range(draws)])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(spread[:, usable] > 1e-12, mean[:, usable] / spread[:, usable], np.nan)
    largest = np.fmax.reduce(t, axis=1)
    critical = float(np.quantile(largest[np.isfinite(largest)], 1 - alpha))
    return Calibration(tuple(names), better, tuple(float(s) if u else 0.0 for s, u in zip(scale, usable, strict=True)),
                       critical, min(len(v) for v in runs.values()), draws, len(runs), loo)
