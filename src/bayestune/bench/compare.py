"""``bayestune bench compare BASE NEW``: what changed between two suite results, and whether
it got worse beyond noise.

For each group (scenario × methodology) in both files:

* **Quality** (exact-match rates, kernel L1, regret, gap, recovery): the change of the mean
  over seeds is *worse* when it exceeds ``noise_z`` standard errors of the difference,
  ``sqrt(se_base² + se_new²)``, the standard errors coming from each file's replicate seeds.
  A group with fewer than two seeds has no noise estimate: its quality is *not judged*.
* **Runtime** (seconds per trial, per cell): the ratio NEW / BASE is *worse* above the
  tolerance; judged only when both files were measured on the same kind of machine with the same
  executor.
* **Failed cells**: more failures than the baseline is worse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bayestune.bench.cell import QUALITY

RUNTIME_JUDGED = ("seconds_per_trial", "seconds_cell")


@dataclass(frozen=True)
class Change:
    group: str
    metric: str
    base: float | None
    new: float | None
    verdict: str  # "worse", "better", "same", "not judged"
    detail: str


def _group_key(g: dict[str, Any]) -> str:
    return f"{g['scenario']} · {g['methodology']}"


def quality_change(group: str, metric: str, b: dict[str, Any], n: dict[str, Any], z: float) -> Change:
    bm, nm = b.get("mean"), n.get("mean")
    if bm is None or nm is None:
        return Change(group, metric, bm, nm, "not judged", "not available in both")
    if b.get("se") is None or n.get("se") is None:
        return Change(group, metric, bm, nm, "not judged", "needs at least 2 seeds on each side for a noise band")
    band = z * math.sqrt(b["se"] ** 2 + n["se"] ** 2)
    sign = 1.0 if QUALITY[metric][0] == "lower" else -1.0
    worse_by = sign * (nm - bm)
    detail = f"{nm - bm:+.3g} (noise band ±{band:.3g})"
    if worse_by > band and worse_by > 1e-12:
        return Change(group, metric, bm, nm, "worse", detail)
    if -worse_by > band and -worse_by > 1e-12:
        return Change(group, metric, bm, nm, "better", detail)
    return Change(group, metric, bm, nm, "same", detail)


def runtime_change(group: str, metric: str, b: dict[str, Any], n: dict[str, Any], tolerance: float,
                   same_machine: bool) -> Change:
    bm, nm = b.get("mean"), n.get("mean")
    if not bm or nm is None:
        return Change(group, metric, bm, nm, "not judged", "not available in both")
    ratio = nm / bm
    detail = f"ratio {ratio:.2f} (tolerance {tolerance:g})"
    if not same_machine:
        return Change(group, metric, bm, nm, "not judged", detail + "; measured on different machines or executors")
    if ratio > tolerance:
        return Change(group, metric, bm, nm, "worse", detail)
    if ratio < 1 / tolerance:
        return Change(group, metric, bm, nm, "better", detail)
    return Change(group, metric, bm, nm, "same", detail)


def same_machine(base: dict[str, Any], new: dict[str, Any]) -> bool:
    """Same kind of machine and the same executor (cells in parallel compete for the cores)."""
    keys = ("processor", "cores", "platform")
    return (all(base.get("machine", {}).get(k) == new.get("machine", {}).get(k) for k in keys)
            and base.get("executor") == new.get("executor"))


def compare(base: dict[str, Any], new: dict[str, Any], *, noise_z: float, runtime_tolerance: float) -> tuple[list[Change], list[str]]:
    """Every judged change between two results payloads, and notes (groups missing, suites differing)."""
    notes: list[str] = []
    if base["suite"].get("fingerprint") != new["suite"].get("fingerprint"):
        notes.append("the two suites differ in scenarios or settings (fingerprints "
                     f"{base['suite'].get('fingerprint')} and {new['suite'].get('fingerprint')}); groups are matched by name")
    machine_ok = same_machine(base, new)
    if not machine_ok:
        notes.append("measured on different machines or executors: runtimes are shown but not judged")
    bg = {_group_key(g): g for g in base["groups"]}
    ng = {_group_key(g): g for g in new["groups"]}
    for key in sorted(set(bg) ^ set(ng)):
        notes.append(f"group {key!r} is only in {'BASE' if key in bg else 'NEW'}")
    changes: list[Change] = []
    for key in [k for k in bg if k in ng]:
        b, n = bg[key], ng[key]
        for metric in QUALITY:
            changes.append(quality_change(key, metric, b["metrics"].get(metric, {}), n["metrics"].get(metric, {}), noise_z))
        for metric in RUNTIME_JUDGED:
            changes.append(runtime_change(key, metric, b["metrics"].get(metric, {}), n["metrics"].get(metric, {}),
                                          runtime_tolerance, machine_ok))
        fb, fn = b.get("failed", 0), n.get("failed", 0)
        changes.append(Change(key, "failed_cells", fb, fn, "worse" if fn > fb else ("better" if fn < fb else "same"),
                              f"{fb} -> {fn}"))
    return changes, notes


def render(changes: list[Change], notes: list[str], *, show_all: bool = False) -> list[str]:
    lines = [f"note: {n}" for n in notes]
    shown = [c for c in changes if show_all or c.verdict != "same"]
    width = max((len(c.group) for c in shown), default=0)
    for c in shown:
        b = "n/a" if c.base is None else f"{c.base:.4g}"
        n = "n/a" if c.new is None else f"{c.new:.4g}"
        lines.append(f"{c.verdict.upper():<10} {c.group:<{width}}  {c.metric}: {b} -> {n}  {c.detail}")
    worse = sum(c.verdict == "worse" for c in changes)
    judged = sum(c.verdict != "not judged" for c in changes)
    lines.append(f"{worse} worse, {sum(c.verdict == 'better' for c in changes)} better, "
                 f"{sum(c.verdict == 'same' for c in changes)} within noise, of {judged} judged figures")
    return lines
