"""The Markdown summary of a suite's results: per scenario, per methodology, per cell."""

from __future__ import annotations

from typing import Any

COLUMNS = (
    # (metric, header, format, scale)
    ("exact_yearly_seasonality", "Fourier exact", "rate", 1),
    ("exact_l_max", "l_max exact", "rate", 1),
    ("kernel_l1_max", "kernel L1 (worst ch.)", "pm", 1),
    ("regret", "regret", "pm", 1),
    ("regret_equivalent", "equivalent", "rate", 1),
    ("gap_ratio", "test/train CRPS", "pm", 1),
    ("roas_coverage", "ROAS covered", "rate", 1),
    ("roas_relative_error", "ROAS rel. error", "pm", 1),
    ("seconds_per_trial", "s / trial", "pm", 1),
    ("seconds_cell", "min / cell", "pm", 1 / 60),
)


def _num(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "n/a"
    return f"{x:.{digits}f}" if abs(x) < 1000 else f"{x:.0f}"


def fmt(stat: dict[str, Any], kind: str, scale: float = 1.0) -> str:
    """``mean ± se`` (``pm``) or ``k/n`` (``rate``, from a mean of 0/1 values)."""
    if not stat or stat.get("mean") is None:
        return "n/a"
    n, mean = stat["n"], stat["mean"] * scale
    if kind == "rate":
        return f"{round(mean * n)}/{n}"
    se = stat.get("se")
    return _num(mean) + (f" ± {_num(se * scale)}" if se is not None else "")


def _table(rows: list[tuple[str, dict[str, Any]]], first: str) -> list[str]:
    head = [first, "seeds", *(c[1] for c in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, group in rows:
        m = group["metrics"]
        seeds = f"{len(group['seeds'])}" + (f" ({group['failed']} failed)" if group["failed"] else "")
        cells = [fmt(m.get(name, {}), kind, scale) for name, _, kind, scale in COLUMNS]
        lines.append("| " + " | ".join([label, seeds, *cells]) + " |")
    return lines


def _cell_rows(payload: dict[str, Any]) -> list[str]:
    lines = ["| cell | status | chosen (Fourier, l_max, adstock, saturation) | kernel L1 (worst ch.) | regret (z) | minutes |",
             "|---|---|---|---|---|---|"]
    for c in payload["cells"]:
        if c["status"] != "ok":
            lines.append(f"| {c['key']} | failed: {c.get('error', '?')} | | | | |")
            continue
        ch, m = c.get("chosen") or {}, c["metrics"]
        chosen = ", ".join(str(ch.get(k)) for k in ("yearly_seasonality", "l_max", "adstock", "saturation"))
        regret = "n/a" if m.get("regret") is None else f"{m['regret']:+.1f} (z {m['regret_z']:+.1f})"
        lines.append(f"| {c['key']} | ok | {chosen} | {_num(m.get('kernel_l1_max'))} | {regret} | "
                     f"{_num((c.get('seconds') or 0) / 60, 1)} |")
    return lines


def to_markdown(payload: dict[str, Any]) -> str:
    suite = payload["suite"]
    methods = suite.get("methodology", {})
    lines = [f"# Suite `{suite['name']}`", ""]
    if suite.get("suite", {}).get("description"):
        lines += [suite["suite"]["description"], ""]
    machine = payload.get("machine", {})
    lines += [f"Updated {payload.get('updated')}; {payload.get('executor')}; {machine.get('cores')} cores, "
              f"{machine.get('platform')}. bayestune {payload.get('bayestune')}, suite fingerprint "
              f"`{suite.get('fingerprint')}`.", ""]
    lines += ["Each figure is the mean over the seeds ± its standard error (sd / √n); rates are counts "
              "of seeds. Regret is the chosen structure's cross-validated CRPS minus the true "
              "structure's on the same folds (target units per week); *equivalent* means within 1.96 "
              "paired SEs. Kernel L1 compares the fitted and true normalised adstock kernels (0 to 2).", ""]
    lines += ["## Methodologies", ""]
    for name, m in methods.items():
        ref = " (reference)" if m.get("reference") else ""
        keys = ", ".join(f"{k} = {v}" for k, v in m.get("tuning", {}).items())
        lines.append(f"- **{name}**{ref}: {m.get('description', '')} `{keys}`")
    lines.append("")
    groups = payload["groups"]
    lines += ["## Over the suite", ""]
    lines += _table([(f"{g['scenario']} · {g['methodology']}", g) for g in groups], "scenario · methodology")
    lines += ["", "## Cells", ""] + _cell_rows(payload) + [""]
    return "\n".join(lines)
