"""Results by regime: which kind of world each cell's scenario is, and the summary's section on it.

A scenario names its regime (``regime = "long memory"``, see the README's scenario files).
A suite that spans regimes says where a methodology wins and where it loses only when its
figures are pooled by regime: every seed of a ``worlds-*`` preset is a different world of the
same regime, so a regime's cells are replicates of that regime, not of one dataset. The
paired differences per regime are those of :mod:`bayestune.bench.paired` restricted to the
regime's cells, Holm-adjusted over every metric of every regime and contrast shown.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bayestune.bench.cell import QUALITY
from bayestune.bench.paired import PairedTest, default_and_reference, judge, pair_cells, paired_tests
from bayestune.bench.results import summarise
from bayestune.bench.summary import COLUMNS, fmt
from bayestune.errors import BayestuneError

UNLABELLED = "unlabelled"
"""The regime of a scenario that names none (or a results file from before regimes)."""

FIGURES = tuple(c for c in COLUMNS if not c[0].startswith("seconds"))
"""The quality figures of the summary's tables: (metric, header, format, scale)."""


@lru_cache(maxsize=64)
def scenario_regime(scenario: str) -> str | None:
    """The regime a scenario (preset name or TOML path) names; None when it cannot be read now."""
    from bayestune.simulator import load_spec

    try:
        return load_spec(scenario).regime or UNLABELLED
    except (BayestuneError, OSError):
        return None


def with_regimes(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each cell with its scenario's ``regime`` (a stored one kept when the scenario is gone)."""
    out = []
    for c in cells:
        regime = scenario_regime(c["cell"]["scenario"]) or c.get("regime") or UNLABELLED
        out.append(c | {"regime": regime})
    return out


def regime_of(cell: dict[str, Any]) -> str:
    return cell.get("regime") or UNLABELLED


def _regimes(cells: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(regime_of(c) for c in cells))


def regime_table(payload: dict[str, Any]) -> list[str]:
    """Regime x methodology: cells finished, and each quality figure's mean ± se over them."""
    cells = payload["cells"]
    methods = list(dict.fromkeys(c["cell"]["methodology"] for c in cells))
    head = ["regime", "methodology", "cells", *(c[1] for c in FIGURES)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for regime in _regimes(cells):
        for method in methods:
            members = [c for c in cells if regime_of(c) == regime and c["cell"]["methodology"] == method]
            if not members:
                continue
            ok = [c for c in members if c["status"] == "ok"]
            failed = len(members) - len(ok)
            count = f"{len(ok)}" + (f" ({failed} failed)" if failed else "")
            figures = [fmt(summarise([c["metrics"].get(name) for c in ok]), kind, scale)
                       for name, _, kind, scale in FIGURES]
            lines.append("| " + " | ".join([regime, method, count, *figures]) + " |")
    return lines


def regime_contrasts(payload: dict[str, Any], *, alpha: float, power: float) -> list[tuple[str, str, str, int, list[PairedTest]]]:
    """``(regime, new, base, cells, tests)`` for every regime where a contrast pairs 2 cells or more.

    The contrasts are the summary's (each methodology against the reference, the others
    against the default); the metrics are the quality figures of :data:`FIGURES`; the Holm
    adjustment runs over all of them together.
    """
    default, reference = default_and_reference(payload)
    cells = payload["cells"]
    ran = list(dict.fromkeys(c["cell"]["methodology"] for c in cells))
    wanted = [(m, reference) for m in ran if reference and m != reference]
    wanted += [(m, default) for m in ran if default and m not in (default, reference)]
    better = {name: QUALITY[name][0] for name, *_ in FIGURES}
    raw = []
    for regime in _regimes(cells):
        mine = [c for c in cells if regime_of(c) == regime]
        for new, base in wanted:
            pairing = pair_cells([c for c in mine if c["cell"]["methodology"] == base],
                                 [c for c in mine if c["cell"]["methodology"] == new])
            if len(pairing.pairs) >= 2:
                raw.append((regime, new, base, len(pairing.pairs),
                            paired_tests(pairing, better, alpha=alpha, power=power)))
    family = judge([t for *_, tests in raw for t in tests], alpha)
    out = []
    for regime, new, base, n, tests in raw:
        out.append((regime, new, base, n, family[:len(tests)]))
        family = family[len(tests):]
    return out


def _g(x: float | None) -> str:
    return "n/a" if x is None else ("0" if x == 0 else f"{x:+.3g}")


def _p(p: float | None) -> str:
    return "n/a" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def regime_section(payload: dict[str, Any], *, alpha: float = 0.05, power: float = 0.8) -> list[str]:
    """The summary's "By regime" section (Markdown lines); nothing for a suite of one regime (or
    a results file from before regimes), whose tables above already are that regime's."""
    if len(_regimes(payload.get("cells") or [])) < 2:
        return []
    lines = ["## By regime", "",
             "Each regime pools the cells of its scenarios (with a `worlds-*` preset every seed is a new world "
             "of the regime): the mean ± standard error of each figure over the regime's cells; rates are "
             "counts of cells.", ""]
    lines += regime_table(payload) + [""]
    contrasts = regime_contrasts(payload, alpha=alpha, power=power)
    if contrasts:
        lines += ["Paired differences NEW − BASE per regime (same scenario and seed), where a regime has at "
                  f"least 2 paired cells: the mean, its {1 - alpha:.0%} t interval and the paired t-test, "
                  f"Holm-adjusted at alpha {alpha:g} over every row of this table.", "",
                  "| regime | contrast | metric | better | cells | mean diff | t interval | p (Holm) | verdict |",
                  "|" + "---|" * 9]
        for regime, new, base, _, tests in contrasts:
            for t in tests:
                if t.n == 0:
                    continue
                interval = "n/a" if t.low is None else f"[{_g(t.low)}, {_g(t.high)}]"
                if t.no_spread:
                    interval = "no spread"
                verdict = f"**{t.verdict}**" if t.verdict in ("worse", "better") else t.verdict
                lines.append(f"| {regime} | {new} − {base} | {t.metric} | {t.better} | {t.n} | {_g(t.mean)} | "
                             f"{interval} | {_p(t.p_holm)} | {verdict} |")
        lines.append("")
    return lines
