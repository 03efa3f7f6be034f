"""Does the benchmark catch what it should? The planted mutants' catch matrix.

Each planted methodology (:mod:`bayestune.bench.mutants`: a mutant, or a rerun of the
default with other study seeds) is judged against the default by three judges; the suite's
``[mutants] judges`` says whose flags count (all are shown):

- **the paired judge**: its cells against the default's on the same datasets, on the suite's
  few *primary* metrics declared before the run (``[mutants] primary``; by default the
  honest regret in standard errors, the worst kernel L1, the Fourier order's error and the
  log test/train CRPS ratio). Each is a one-sided paired t-test of "worse", Holm-adjusted
  over the primary metrics alone (:func:`~bayestune.bench.paired.judge_worse`): for a rerun,
  exchangeable with the default, a false *worse* has probability at most alpha. The t-test
  over heavy-tailed differences (one world far off, the rest near 0) errs toward not
  flagging, so alpha is a bound, not a guess. The other quality metrics are the summary's
  business, not a verdict's: judging 21 metrics under Holm would cost each of them most of
  its power.
- **the rerun-calibrated judge** (:mod:`bayestune.bench.calibrated`): on these datasets,
  does it land further from the default than the default's own reruns do? A max-T statistic
  over the primary metrics against the resampled null of the default's runs; a rerun is
  judged against a null built without it.
- **the gate**: the suite's ``[gate]`` thresholds (:mod:`bayestune.bench.gate`) applied to
  it; a failing check flags it, unless the default fails the same check (a check that fails
  both cannot tell them apart: it is listed, not counted). An absolute threshold has no
  nominal false-alarm rate against the default: a default near a threshold sees its reruns
  cross it by chance. Pooled over the suite's worlds (``[gate] over = "suite"``) it has one
  chance to do so, not one per world.

The catch rate is the share of mutants flagged; the false-alarm rate is the share of reruns
flagged. With two or more runs of the default on each dataset (the default and its reruns,
exchangeable under no difference), :func:`resampled_false_alarms` estimates the false-alarm
rates of the paired judge and the gate on these datasets from many resampled null comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayestune.bench.calibrated import calibrate
from bayestune.bench.gate import Check, gate_checks
from bayestune.bench.mutants import MUTANTS, RERUN
from bayestune.bench.paired import (
    PairedTest,
    default_and_reference,
    judge_worse,
    pair_cells,
    primary_tests,
    quality_metrics,
    unit,
)
from bayestune.bench.results import group_results
from bayestune.bench.suite import GateRules, MutantsTable

PAIRED, CALIBRATED, GATE = "paired", "calibrated", "gate"
"""The judges (and their columns in the catch matrix)."""
CALIBRATION_DRAWS = 500
"""Draws of each calibration inside :func:`resampled_false_alarms` (one per null comparison)."""


@dataclass(frozen=True)
class Caught:
    """How the judges saw one planted methodology."""

    methodology: str
    mutant: str
    """The mutant's name, or ``"rerun"``."""
    cells: int
    """Cells paired with the default's."""
    judged: int
    """Paired tests judged (primary metrics with at least 2 paired cells)."""
    worse: list[str] = field(default_factory=list)
    """Primary metrics the paired judge found worse (one-sided, Holm-adjusted over the primary)."""
    tests: list[PairedTest] = field(default_factory=list)
    """The primary metrics' paired tests, judged."""
    gate_failed: list[str] = field(default_factory=list)
    """The gate checks it failed and the default passed, as lines."""
    gate_shared: list[str] = field(default_factory=list)
    """The gate checks it failed as the default failed them too (not a flag)."""
    calibrated: dict[str, float] | None = None
    """The rerun-calibrated judge's standardised statistics (None: not calibrated)."""
    calibrated_worse: list[str] = field(default_factory=list)
    """The metrics beyond its critical value."""
    critical: float | None = None
    counted: tuple[str, ...] = (PAIRED, CALIBRATED, GATE)
    """The judges whose flags count (``[mutants] judges``)."""

    @property
    def flagged_by(self) -> list[str]:
        """Every judge that flags it, counted or not."""
        return [j for j, hit in ((PAIRED, self.worse), (CALIBRATED, self.calibrated_worse), (GATE, self.gate_failed))
                if hit]

    @property
    def flagged(self) -> bool:
        return any(j in self.counted for j in self.flagged_by)

    @property
    def rerun(self) -> bool:
        return self.mutant == RERUN


def failing_checks(payload: dict[str, Any], rules: GateRules, methodology: str) -> list[Check]:
    """The suite's gate checks that ``methodology`` fails."""
    return [c for c in gate_checks(payload, rules.model_copy(update={"methodologies": (methodology,)}))
            if not c.passed]


def planted_methodologies(payload: dict[str, Any]) -> dict[str, str]:
    """Methodology -> its mutant name (or ``"rerun"``), for every planted methodology that ran."""
    declared = payload.get("suite", {}).get("methodology") or {}
    ran = dict.fromkeys(c["cell"]["methodology"] for c in payload["cells"])
    return {m: declared[m]["mutant"] for m in ran if (declared.get(m) or {}).get("mutant")}


def level(counted: tuple[str, ...], alpha: float) -> float:
    """Each counted judge's level: ``alpha`` split evenly between the judges that have one (the
    paired and the calibrated judge), so that together they flag a rerun at most ``alpha`` of
    the time (Bonferroni). A judge that is only shown runs at the same level."""
    return alpha / max(1, sum(j in counted for j in (PAIRED, CALIBRATED)))


def mutants_table(payload: dict[str, Any]) -> MutantsTable:
    """The results' ``[mutants]`` table (its primary metrics and counted judges; defaults if none)."""
    return MutantsTable.model_validate(payload.get("suite", {}).get("mutants") or {})


def gate_rules(payload: dict[str, Any]) -> GateRules:
    """The results' ``[gate]`` table."""
    return GateRules.model_validate(payload.get("suite", {}).get("gate") or {})


def judged_against(base_cells: list[dict[str, Any]], new_cells: list[dict[str, Any]], names: tuple[str, ...],
                   metrics: dict[str, str], *, alpha: float, power: float,
                   detail: bool = True) -> tuple[int, list[PairedTest]]:
    """The paired judge: ``(paired cells, judged primary tests)`` of NEW against BASE."""
    pairing = pair_cells(base_cells, new_cells)
    tests = primary_tests(pairing, names, metrics, alpha=alpha, power=power, detail=detail)
    return len(pairing.pairs), judge_worse(tests, alpha)


def catch_matrix(payload: dict[str, Any], *, alpha: float, power: float) -> list[Caught]:
    """Every planted methodology, judged against the default by the paired judge, the
    rerun-calibrated judge (a rerun against a null built without it) and the gate."""
    planted = planted_methodologies(payload)
    default, _ = default_and_reference(payload)
    if not planted or default is None:
        return []
    table, rules, metrics = mutants_table(payload), gate_rules(payload), quality_metrics(payload)
    names = table.primary
    base_cells = [c for c in payload["cells"] if c["cell"]["methodology"] == default]
    default_fails = {_check_id(c) for c in failing_checks(payload, rules, default)}
    runs = default_runs(payload)
    each = level(table.judges, alpha)
    everyone = calibrate(runs, metrics, names, alpha=each)
    order = list(MUTANTS)
    out = []
    for name, mutant in sorted(planted.items(), key=lambda nm: (nm[1] == RERUN, order.index(nm[1])
                                                                 if nm[1] in order else len(order), nm[0])):
        mine = [c for c in payload["cells"] if c["cell"]["methodology"] == name]
        cells, tests = judged_against(base_cells, mine, names, metrics, alpha=each, power=power)
        failing = failing_checks(payload, rules, name)
        shared = [c for c in failing if _check_id(c) in default_fails]
        null = everyone
        if mutant == RERUN:  # leave it out of its own null
            null = calibrate({u: [c for c in members if c["cell"]["methodology"] != name] for u, members in runs.items()},
                             metrics, names, alpha=each)
        stats = null.statistics(base_cells, mine) if null else None
        out.append(Caught(name, mutant, cells, sum(t.judged for t in tests),
                          [t.metric for t in tests if t.verdict == "worse"], tests,
                          [c.line() for c in failing if c not in shared], [c.line() for c in shared],
                          stats, [m for m, t in (stats or {}).items() if null and t > null.critical],
                          null.critical if null else None, table.judges))
    return out


def _check_id(check: Check) -> tuple[str, str]:
    """A check without its methodology: the scenario (or the pooled cells) and the rule."""
    return check.group.rsplit(" · ", 1)[0], check.rule


def default_runs(payload: dict[str, Any]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Per dataset, the finished cells of the default and of each of its reruns (exchangeable
    when nothing differs but the study seed)."""
    default, _ = default_and_reference(payload)
    reruns = {m for m, mutant in planted_methodologies(payload).items() if mutant == RERUN}
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for c in payload["cells"]:
        if c["cell"]["methodology"] == default or c["cell"]["methodology"] in reruns:
            out.setdefault(unit(c), []).append(c)
    return out


def resampled_false_alarms(payload: dict[str, Any], *, alpha: float, power: float, draws: int = 500,
                           seed: int = 0, each: float | None = None) -> dict[str, Any] | None:
    """The false-alarm rate of every judge, estimated on this run's datasets.

    Each draw builds a null comparison: on every dataset, two different runs of the default
    (the default and its reruns, in random order) play BASE and NEW, and the judges judge NEW
    exactly as a planted methodology is judged, the calibrated judge against a null of the
    runs without NEW's (as a rerun is). The share of draws flagged estimates the rate at which
    an unchanged default is flagged, conditional on these datasets (``flagged``: by the judges
    that count). ``each``: the paired and calibrated judges' level (default: :func:`level`).
    ``None`` unless every dataset has at least two runs.
    """
    runs = default_runs(payload)
    if not runs or min(len(v) for v in runs.values()) < 2:
        return None
    table, rules, metrics = mutants_table(payload), gate_rules(payload), quality_metrics(payload)
    names, counted = table.primary, table.judges
    each = level(counted, alpha) if each is None else each
    rng = np.random.default_rng(seed)
    flags = {PAIRED: 0, CALIBRATED: 0, GATE: 0}
    either = calibrated_draws = 0
    by_check: dict[str, int] = {}
    for k in range(draws):
        base, new, rest = [], [], {}
        for u, members in runs.items():
            i, j = rng.choice(len(members), size=2, replace=False)
            base.append(as_methodology(members[i], "base"))
            new.append(as_methodology(members[j], "new"))
            rest[u] = [m for r, m in enumerate(members) if r != j]
        _, tests = judged_against(base, new, names, metrics, alpha=each, power=power, detail=False)
        null = {"cells": base + new, "groups": group_results(base + new)}
        fails = {_check_id(c) for c in failing_checks(null, rules, "base")}
        alarms = {c.rule for c in failing_checks(null, rules, "new") if _check_id(c) not in fails}
        for rule in alarms:
            by_check[rule] = by_check.get(rule, 0) + 1
        cal = calibrate(rest, metrics, names, alpha=each, draws=CALIBRATION_DRAWS, seed=k)
        calibrated_draws += cal is not None
        hit = {PAIRED: any(t.verdict == "worse" for t in tests), GATE: bool(alarms),
               CALIBRATED: bool(cal and cal.worse(base, new))}
        for j in flags:
            flags[j] += hit[j]
        either += any(hit[j] for j in counted)
    return {"draws": draws, "runs": min(len(v) for v in runs.values()), "datasets": len(runs), "level": each,
            "paired": flags[PAIRED] / draws, "gate": flags[GATE] / draws,
            "calibrated": flags[CALIBRATED] / draws if calibrated_draws else None, "flagged": either / draws,
            "gate_checks": {rule: k / draws for rule, k in sorted(by_check.items(), key=lambda rk: -rk[1])}}


def as_methodology(cell: dict[str, Any], methodology: str) -> dict[str, Any]:
    """``cell`` relabelled as a cell of ``methodology`` (to judge runs or draws as one)."""
    return cell | {"cell": cell["cell"] | {"methodology": methodology}}


def rates(caught: list[Caught]) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((flagged mutants, mutants), (flagged reruns, reruns))``."""
    mutants = [c for c in caught if not c.rerun]
    reruns = [c for c in caught if c.rerun]
    return (sum(c.flagged for c in mutants), len(mutants)), (sum(c.flagged for c in reruns), len(reruns))


def default_gate(payload: dict[str, Any]) -> list[str]:
    """The gate checks the default itself fails (its own flags make a planted one's mean less)."""
    default, _ = default_and_reference(payload)
    if default is None:
        return []
    return [c.line() for c in failing_checks(payload, gate_rules(payload), default)]


def _rate(k: int, n: int) -> str:
    return f"{k}/{n} ({k / n:.0%})" if n else "n/a (none ran)"


JUDGE_TEXT = {
    PAIRED: "the paired judge says *worse* on a primary metric ({names}; one-sided paired t-tests over the cells, "
            "Holm-adjusted at level {each:g} over these {n} alone: at most {each:g} per rerun)",
    CALIBRATED: "the rerun-calibrated judge finds it further from {default} than {default}'s own reruns land on these "
                "datasets (max-T over the primary metrics against the leave-one-out null of {default}'s runs, at "
                "level {each:g}; a rerun is judged against a null without it)",
    GATE: "the suite's gate ({pooled}) fails it where it passes {default} (no false-alarm rate of its own)",
}


def to_markdown(caught: list[Caught], payload: dict[str, Any], *, alpha: float, figure: str | None,
                null: dict[str, Any] | None = None) -> list[str]:
    """The summary's section on the planted mutants (no lines when none ran); ``null``: the
    :func:`resampled_false_alarms` estimate, when there is one."""
    if not caught:
        return []
    default, _ = default_and_reference(payload)
    names, rules = mutants_table(payload).primary, gate_rules(payload)
    counted = caught[0].counted
    (k, n), (fk, fn) = rates(caught)
    fill = {"names": ", ".join(names), "each": level(counted, alpha), "n": len(names), "default": default,
            "pooled": "pooled over the suite's worlds" if rules.over == "suite" else "each scenario apart"}
    shown = [j for j in (PAIRED, CALIBRATED, GATE) if j not in counted]
    lines = ["## Planted mutants", "",
             f"Deliberately broken methodologies built from **{default}** through the seams, and reruns of it "
             "with other study seeds on the same datasets. A methodology is flagged when "
             + "; or when ".join(JUDGE_TEXT[j].format(**fill) for j in counted) + "."
             + (f" The two share alpha {alpha:g} (Bonferroni): together they flag a rerun at most {alpha:g} of the "
                "time." if PAIRED in counted and CALIBRATED in counted else "")
             + (f" Shown, not counted: {', '.join(shown)}." if shown else ""), "",
             f"- **Catch rate**: {_rate(k, n)} mutants flagged.",
             f"- **False-alarm rate**: {_rate(fk, fn)} reruns of the unchanged {default} flagged."]
    if null:
        calibrated = "not calibrated" if null["calibrated"] is None else f"{null['calibrated']:.1%}"
        lines.append(f"- **False-alarm rate, resampled**: {null['flagged']:.1%} of {null['draws']} null comparisons "
                     f"flagged by the judges that count (paired judge {null['paired']:.1%}, calibrated judge "
                     f"{calibrated}, gate {null['gate']:.1%}): each draw pits two runs of {default} against each "
                     f"other on each of the {null['datasets']} datasets ({null['runs']} runs or more on each), the "
                     "calibrated judge's null built without the run playing NEW; an estimate on these datasets, "
                     "with as few distinct runs as the reruns give.")
        if null["gate_checks"]:
            lines.append("  Gate checks that flag null comparisons: " + ", ".join(
                f"{rule} {rate:.1%}" for rule, rate in null["gate_checks"].items()) + ".")
    lines.append("")
    own = default_gate(payload)
    if own:
        lines += [f"{default} itself fails the gate ({'; '.join(own)}): a mutant failing the same check is not "
                  "counted as caught by it (listed in parentheses).", ""]
    if figure:
        lines += [f"![catch matrix]({figure})", ""]
    labels = [t.metric for t in caught[0].tests] or list(names)
    lines += [f"Each primary column (the paired judge): the mean paired difference (planted minus {default}) and "
              "its one-sided Holm-adjusted p of *worse*; bold where it flags. The calibrated column: the largest "
              "standardised difference against the critical value of the default's leave-one-out null.", "",
              "| methodology | planted | cells | flagged | " + " | ".join(labels) + " | calibrated | gate |",
              "|" + "---|" * (6 + len(labels))]
    for c in caught:
        gate = "; ".join(line.removeprefix("FAIL  ") for line in c.gate_failed) or "passes"
        if c.gate_shared:
            gate += " (as the default fails: " + "; ".join(line.removeprefix("FAIL  ") for line in c.gate_shared) + ")"
        cols = [_primary_cell(t) for t in c.tests]
        lines.append(f"| {c.methodology} | {c.mutant} | {c.cells} | {'**yes**' if c.flagged else 'no'} | "
                     + " | ".join(cols) + f" | {_calibrated_cell(c)} | {gate} |")
    lines.append("")
    return lines


def _primary_cell(t: PairedTest) -> str:
    if not t.judged:
        return "n/a"
    text = f"{t.mean:+.3g} (p {t.p_holm:.3f})" if t.p_holm is not None and t.p_holm >= 0.001 else f"{t.mean:+.3g} (p <0.001)"
    return f"**{text}**" if t.verdict == "worse" else text


def _calibrated_cell(c: Caught) -> str:
    if not c.calibrated or c.critical is None:
        return "not calibrated (needs 2 runs of the default per dataset without it)" if c.rerun else "not calibrated"
    metric, top = max(c.calibrated.items(), key=lambda mt: mt[1])
    text = f"{metric} {top:+.2f} vs {c.critical:.2f}"
    return f"**{text}**" if c.calibrated_worse else text
