r"""``bayestune gate``: does tuning quality meet the suite's thresholds?

Each threshold in the suite's ``[gate]`` table is checked for every gated methodology and
every scenario, on the mean over the suite's seeds (``over = "scenario"``), or once per
methodology over all its cells (``over = "suite"``). A figure that is not available (no
truth, no final refit, every cell failed) fails its check: a gate never passes by default.

Pooled over a suite's worlds, a figure is the mean over the cells, except the regrets in
standard errors: those are combined as Stouffer's :math:`Z = \sum_i z_i / \sqrt n`. Each
cell's :math:`z_i` is a paired t statistic over its test weeks (about N(0, 1) when the choice
predicts as well as the true structure), so the pooled Z keeps that scale and a threshold
means the same on one world as on six; a mean of z would shrink toward 0 as the cells grow
and make the same threshold blind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bayestune.bench.suite import GateRules

# threshold field -> (metric in the results, "max" or "min")
CHECKS = {
    "max_kernel_l1": ("kernel_l1_max", "max"),
    "max_regret_z": ("regret_z", "max"),
    "max_final_regret_z": ("final_regret_z", "max"),
    "max_final_regret": ("final_regret", "max"),
    "min_roas_coverage": ("roas_coverage", "min"),
    "max_roas_relative_error": ("roas_relative_error", "max"),
    "max_gap_ratio": ("gap_ratio", "max"),
}


@dataclass(frozen=True)
class Check:
    group: str
    rule: str
    value: float | None
    threshold: float
    passed: bool

    def line(self) -> str:
        v = "not available" if self.value is None else f"{self.value:.3g}"
        op = "<=" if self.rule.startswith("max") else ">="
        return f"{'pass' if self.passed else 'FAIL'}  {self.group}: {self.rule} {v} {op} {self.threshold:g}"


def _check(group: str, rule: str, value: float | None, threshold: float, kind: str) -> Check:
    ok = value is not None and (value <= threshold if kind == "max" else value >= threshold)
    return Check(group, rule, value, threshold, ok)


POOLED_Z = ("regret_z", "final_regret_z")
"""Per-cell z statistics: pooled over cells as Stouffer's sum / sqrt(n), not as a mean."""


def pooled_groups(payload: dict[str, Any], methodologies: tuple[str, ...]) -> list[dict[str, Any]]:
    """One group per methodology over every cell it ran (``over = "suite"``), shaped as the
    per-scenario groups of the results (``scenario``, ``methodology``, ``failed``, ``metrics``)."""
    out = []
    for m in methodologies:
        cells = [c for c in payload["cells"] if c["cell"]["methodology"] == m]
        if not cells:
            continue
        ok = [c for c in cells if c["status"] == "ok"]
        names = {k for c in ok for k in c["metrics"]}
        metrics = {}
        for name in sorted(names):
            v = [float(c["metrics"][name]) for c in ok if c["metrics"].get(name) is not None
                 and math.isfinite(float(c["metrics"][name]))]
            if v:
                metrics[name] = {"mean": sum(v) / math.sqrt(len(v)) if name in POOLED_Z else sum(v) / len(v),
                                 "n": len(v)}
        scenarios = len({c["cell"]["scenario"] for c in cells})
        out.append({"scenario": f"all {scenarios} scenarios pooled" if scenarios > 1 else "its scenario pooled",
                    "methodology": m,
                    "failed": len(cells) - len(ok), "metrics": metrics})
    return out


def gate_checks(payload: dict[str, Any], rules: GateRules) -> list[Check]:
    checks: list[Check] = []
    if rules.over == "suite":
        groups = pooled_groups(payload, rules.methodologies)
    else:
        groups = [g for g in payload["groups"] if g["methodology"] in rules.methodologies]
    present = {g["methodology"] for g in groups}
    for missing in [m for m in rules.methodologies if m not in present]:
        checks.append(Check(missing, "has results", None, 1, False))
    for g in groups:
        name = f"{g['scenario']} · {g['methodology']}"
        m = g["metrics"]
        checks.append(_check(name, "max_failed_cells", float(g["failed"]), rules.max_failed_cells, "max"))
        for field, (metric, kind) in CHECKS.items():
            threshold = getattr(rules, field)
            if threshold is not None:
                checks.append(_check(name, field, m.get(metric, {}).get("mean"), threshold, kind))
        for hp, threshold in rules.min_exact_rate.items():
            checks.append(_check(name, f"min_exact_rate.{hp}", m.get(f"exact_{hp}", {}).get("mean"), threshold, "min"))
    return checks
