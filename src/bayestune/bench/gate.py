"""``bayestune gate``: does tuning quality meet the suite's thresholds?

Each threshold in the suite's ``[gate]`` table is checked for every gated methodology and
every scenario, on the mean over the suite's seeds. A figure that is not available (no
truth, no final refit, every cell failed) fails its check: a gate never passes by default.
"""

from __future__ import annotations

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


def gate_checks(payload: dict[str, Any], rules: GateRules) -> list[Check]:
    checks: list[Check] = []
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
