"""``bayestune bench compare BASE NEW``: what changed between two suite results, and whether
it got worse beyond noise.

**Quality** (exact-match rates, kernel L1, regret, gap, recovery), per methodology in both files:

* *Paired* (:func:`compare_files`, what the command does) when the two files hold at least
  two finished cells of the methodology with the same scenario and seed: the per-cell
  differences NEW - BASE, their mean, a t interval and a paired t-test, Holm-adjusted over
  every metric and methodology judged (:mod:`bayestune.bench.paired`). A cell on one side
  only, or failed on a side, is named and left out of the differences.
* *Unpaired* otherwise (:func:`compare`, per group, scenario × methodology): the change of the
  mean over seeds is *worse* when it exceeds ``noise_z`` standard errors of the difference,
  ``sqrt(se_base² + se_new²)``, the standard errors coming from each file's replicate seeds.
  A group with fewer than two seeds has no noise estimate: its quality is *not judged*.

Per group, as in both modes:
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
from bayestune.bench.paired import PairedTest, chance_line, judge, pair_cells, paired_tests, quality_metrics
from bayestune.bench.power import cells_needed

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


def quality_change(group: str, metric: str, b: dict[str, Any], n: dict[str, Any], z: float,
                   better: str | None = None) -> Change:
    bm, nm = b.get("mean"), n.get("mean")
    if bm is None or nm is None:
        return Change(group, metric, bm, nm, "not judged", "not available in both")
    if b.get("se") is None or n.get("se") is None:
        return Change(group, metric, bm, nm, "not judged", "needs at least 2 seeds on each side for a noise band")
    band = z * math.sqrt(b["se"] ** 2 + n["se"] ** 2)
    sign = 1.0 if (better or QUALITY[metric][0]) == "lower" else -1.0
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


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare_files` found: every judged figure, the notes, and how quality was compared."""

    changes: list[Change]
    notes: list[str]
    paired_cells: dict[str, int | None]
    """Per methodology in both files: the cells paired, or ``None`` where it was compared unpaired."""
    tests: dict[str, list[PairedTest]]
    """Per paired methodology: its Holm-adjusted paired tests, one per quality metric."""
    alpha: float

    @property
    def worse(self) -> bool:
        return any(c.verdict == "worse" for c in self.changes)

    def mode_line(self) -> str:
        paired = [f"{m} ({n} cells)" for m, n in self.paired_cells.items() if n is not None]
        unpaired = [m for m, n in self.paired_cells.items() if n is None]
        parts = []
        if paired:
            parts.append(f"PAIRED by cell key (same scenario and seed) for {', '.join(paired)}")
        if unpaired:
            parts.append(f"UNPAIRED for {', '.join(unpaired)}: the files share fewer than 2 finished cells of it, "
                         "so its groups are compared as two independent means (noise bands from each file's seeds)")
        return "quality " + "; ".join(parts) if parts else "quality: no methodology is in both files"


def compare_files(base: dict[str, Any], new: dict[str, Any], *, alpha: float, power: float, noise_z: float,
                  runtime_tolerance: float) -> Comparison:
    """Compare two results payloads: quality paired by cell where both files hold the same
    cells (unpaired otherwise, per methodology), runtimes and failed cells per group as in
    :func:`compare`."""
    changes, notes = compare(base, new, noise_z=noise_z, runtime_tolerance=runtime_tolerance)
    metrics = quality_metrics(base, new)
    methods = [m for m in dict.fromkeys(c["cell"]["methodology"] for c in base["cells"])
               if any(c["cell"]["methodology"] == m for c in new["cells"])]
    paired_cells: dict[str, int | None] = {}
    raw: dict[str, list[PairedTest]] = {}
    for m in methods:
        pairing = pair_cells([c for c in base["cells"] if c["cell"]["methodology"] == m],
                             [c for c in new["cells"] if c["cell"]["methodology"] == m])
        if len(pairing.pairs) < 2:
            paired_cells[m] = None
            continue
        paired_cells[m] = len(pairing.pairs)
        notes.extend(pairing.notes(m))
        raw[m] = paired_tests(pairing, metrics, alpha=alpha, power=power)
    family = judge([t for m in raw for t in raw[m]], alpha)  # one family: every test that sets the exit status
    tests: dict[str, list[PairedTest]] = {}
    for m in raw:
        tests[m], family = family[:len(raw[m])], family[len(raw[m]):]
    # a paired methodology's per-group unpaired quality lines give way to its paired ones
    replaced = {_group_key(g) for g in base["groups"] if g["methodology"] in tests}
    kept = [c for c in changes if not (c.metric in metrics and c.group in replaced)]
    paired = [Change(f"{m} (paired)", t.metric, t.base_mean, t.new_mean, t.verdict, t.detail(1 - alpha))
              for m in tests for t in tests[m] if t.n > 0]  # a figure neither file has is no change
    if tests:
        notes.append(chance_line([t for m in tests for t in tests[m]], alpha))
        notes.append(f"paired: 'detectable' is the smallest difference the t-test finds with power {power:.0%} "
                     f"at alpha {alpha:g} over that many cells (per test, before Holm)")
    return Comparison(paired + kept, notes, paired_cells, tests, alpha)


def detect_lines(comparison: Comparison, wanted: dict[str, float], *, power: float) -> list[str]:
    """For each ``METRIC=DELTA``: the cells a paired suite needs to detect DELTA, per methodology,
    from the standard deviation of the paired differences this comparison measured."""
    alpha = comparison.alpha
    lines = []
    for metric, delta in wanted.items():
        for m, n in comparison.paired_cells.items():
            head = f"detect {metric} {delta:+g} for {m} (alpha {alpha:g} two-sided, power {power:.0%}, per test):"
            test = next((t for t in comparison.tests.get(m, []) if t.metric == metric), None)
            if n is None or test is None or not test.sd:
                why = ("unpaired, no paired differences" if n is None else
                       "fewer than 2 paired cells with the figure" if test is None or test.sd is None else
                       "every paired difference is the same, no spread to plan with")
                lines.append(f"{head} not available ({why})")
                continue
            need = cells_needed(test.sd, delta, alpha=alpha, power=power)
            lines.append(f"{head} {'more than 100000' if need is None else need} cells "
                         f"(SD of the paired differences {test.sd:.3g} over {test.n} cells; "
                         f"the {test.n} paired now detect ±{test.detectable:.3g})")
    return lines


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
