"""Does the benchmark catch what it should? The planted mutants' catch matrix.

Each planted methodology (:mod:`bayestune.bench.mutants`: a mutant, or a rerun of the
default with other study seeds) is judged the way the suite judges any change to its
default, by both of its judges:

- **the paired comparison**: its cells against the default's on the same datasets, every
  quality metric's paired t-test Holm-adjusted over that comparison's metrics
  (:mod:`bayestune.bench.paired`, as ``bench compare`` judges a new methodology); a metric
  judged *worse* flags it;
- **the gate**: the suite's ``[gate]`` thresholds (:mod:`bayestune.bench.gate`) applied to
  it; a failing check flags it, unless the default fails the same check on the same scenario
  (a check that fails both cannot tell them apart: it is listed, not counted).

The catch rate is the share of mutants flagged; the false-alarm rate is the share of reruns
flagged. Under no difference, a rerun's paired comparison says *worse* or *better* on any
metric with probability at most alpha (Holm holds the family-wise rate), which is the
nominal false-alarm rate of the paired judge; the gate has none (a rerun fails it as often as
the default sits near a threshold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bayestune.bench.gate import Check, gate_checks
from bayestune.bench.mutants import MUTANTS, RERUN
from bayestune.bench.paired import default_and_reference, judge, pair_cells, paired_tests, quality_metrics
from bayestune.bench.suite import GateRules

GATE = "gate"
"""The judge column of the gate in the catch matrix."""


@dataclass(frozen=True)
class Caught:
    """How the judges saw one planted methodology."""

    methodology: str
    mutant: str
    """The mutant's name, or ``"rerun"``."""
    cells: int
    """Cells paired with the default's."""
    judged: int
    """Paired tests judged (metrics with at least 2 paired cells)."""
    worse: list[str] = field(default_factory=list)
    """Metrics the paired comparison judged worse (Holm-adjusted)."""
    better: list[str] = field(default_factory=list)
    gate_failed: list[str] = field(default_factory=list)
    """The gate checks it failed and the default passed, as lines."""
    gate_shared: list[str] = field(default_factory=list)
    """The gate checks it failed as the default failed them too (not a flag)."""

    @property
    def flagged(self) -> bool:
        return bool(self.worse or self.gate_failed)

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


def catch_matrix(payload: dict[str, Any], *, alpha: float, power: float) -> list[Caught]:
    """Every planted methodology, judged against the default by the paired comparison and the gate."""
    planted = planted_methodologies(payload)
    default, _ = default_and_reference(payload)
    if not planted or default is None:
        return []
    metrics = quality_metrics(payload)
    rules = GateRules.model_validate(payload.get("suite", {}).get("gate") or {})
    base_cells = [c for c in payload["cells"] if c["cell"]["methodology"] == default]
    default_fails = {(c.group.rsplit(" · ", 1)[0], c.rule) for c in failing_checks(payload, rules, default)}
    order = list(MUTANTS)
    out = []
    for name, mutant in sorted(planted.items(), key=lambda nm: (nm[1] == RERUN, order.index(nm[1])
                                                                 if nm[1] in order else len(order), nm[0])):
        pairing = pair_cells(base_cells, [c for c in payload["cells"] if c["cell"]["methodology"] == name])
        tests = judge(paired_tests(pairing, metrics, alpha=alpha, power=power), alpha)
        failing = failing_checks(payload, rules, name)
        shared = [c for c in failing if (c.group.rsplit(" · ", 1)[0], c.rule) in default_fails]
        out.append(Caught(name, mutant, len(pairing.pairs), sum(t.judged for t in tests),
                          [t.metric for t in tests if t.verdict == "worse"],
                          [t.metric for t in tests if t.verdict == "better"],
                          [c.line() for c in failing if c not in shared], [c.line() for c in shared]))
    return out


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
    rules = GateRules.model_validate(payload.get("suite", {}).get("gate") or {})
    return [c.line() for c in failing_checks(payload, rules, default)]


def _rate(k: int, n: int) -> str:
    return f"{k}/{n} ({k / n:.0%})" if n else "n/a (none ran)"


def to_markdown(caught: list[Caught], payload: dict[str, Any], *, alpha: float, figure: str | None) -> list[str]:
    """The summary's section on the planted mutants (no lines when none ran)."""
    if not caught:
        return []
    default, _ = default_and_reference(payload)
    (k, n), (fk, fn) = rates(caught)
    lines = ["## Planted mutants", "",
             f"Deliberately broken methodologies built from **{default}** through the seams, and reruns of it "
             "with other study seeds on the same datasets. A judge flags one when the paired comparison "
             f"with {default} says *worse* on a quality metric (paired t-test, Holm-adjusted at alpha "
             f"{alpha:g} over that comparison's metrics) or the suite's gate fails for it.", "",
             f"- **Catch rate**: {_rate(k, n)} mutants flagged.",
             f"- **False-alarm rate**: {_rate(fk, fn)} reruns of the unchanged {default} flagged; nominal "
             f"at most {alpha:g} per rerun for the paired comparison (Holm's family-wise rate), none stated "
             "for the gate.", ""]
    own = default_gate(payload)
    if own:
        lines += [f"{default} itself fails the gate ({'; '.join(own)}): a mutant failing the same check on the "
                  "same scenario is not counted as caught by it (listed in parentheses).", ""]
    if figure:
        lines += [f"![catch matrix]({figure})", ""]
    lines += ["| methodology | planted | cells | tests | flagged | worse on | gate |", "|" + "---|" * 7]
    for c in caught:
        gate = "; ".join(line.removeprefix("FAIL  ") for line in c.gate_failed) or "passes"
        if c.gate_shared:
            gate += " (as the default fails: " + "; ".join(line.removeprefix("FAIL  ") for line in c.gate_shared) + ")"
        lines.append(f"| {c.methodology} | {c.mutant} | {c.cells} | {c.judged} | "
                     f"{'**yes**' if c.flagged else 'no'} | {', '.join(c.worse) or '–'} | {gate} |")
    lines.append("")
    return lines
