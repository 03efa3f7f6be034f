"""The Markdown summary of a suite's results: per scenario, per methodology, paired
differences between methodologies (with their forest plot), per cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bayestune.bench.paired import Contrast, chance_line, suite_contrasts
from bayestune.fileio import write_atomic

SUMMARY_FILE = "summary.md"
FOREST_FILE = "figures/paired_differences.png"
CATCH_FILE = "figures/catch_matrix.png"

COLUMNS = (
    # (metric, header, format, scale)
    ("exact_yearly_seasonality", "Fourier exact", "rate", 1),
    ("exact_l_max", "l_max exact", "rate", 1),
    ("kernel_l1_max", "kernel L1 (worst ch.)", "pm", 1),
    ("regret", "regret", "pm", 1),
    ("regret_equivalent", "equivalent", "rate", 1),
    ("final_regret", "honest regret", "pm", 1),
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
    lines = ["| cell | status | chosen (Fourier, l_max, adstock, saturation) | kernel L1 (worst ch.) | regret (z) | "
             "honest regret (z) | minutes |", "|---|---|---|---|---|---|---|"]
    for c in payload["cells"]:
        if c["status"] != "ok":
            lines.append(f"| {c['key']} | failed: {c.get('error', '?')} | | | | | |")
            continue
        ch, m = c.get("chosen") or {}, c["metrics"]
        chosen = ", ".join(str(ch.get(k)) for k in ("yearly_seasonality", "l_max", "adstock", "saturation"))
        regret = "n/a" if m.get("regret") is None else f"{m['regret']:+.1f} (z {m['regret_z']:+.1f})"
        honest = "n/a" if m.get("final_regret") is None else f"{m['final_regret']:+.1f} (z {m['final_regret_z']:+.1f})"
        status = f"ok, the search of {c['search_shared_from']}" if c.get("search_shared_from") else "ok"
        lines.append(f"| {c['key']} | {status} | {chosen} | {_num(m.get('kernel_l1_max'))} | {regret} | {honest} | "
                     f"{_num((c.get('seconds') or 0) / 60, 1)} |")
    return lines


def _rules(payload: dict[str, Any]) -> tuple[float, float]:
    rules = payload["suite"].get("compare") or {}
    return float(rules.get("alpha", 0.05)), float(rules.get("power", 0.8))


def _p(p: float | None) -> str:
    return "n/a" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def _g(x: float | None) -> str:
    return "n/a" if x is None else ("0" if x == 0 else f"{x:+.3g}")


def _paired(contrasts: list[Contrast], alpha: float, power: float, figure: str | None) -> list[str]:
    if not contrasts:
        return []
    lines = ["## Paired differences", "",
             "Methodologies of one run see the same datasets, so each is compared with the reference (the "
             "seed recipe) and with the default cell by cell: per metric the differences NEW − BASE over the "
             f"cells both finished (same scenario and seed), their mean, the {1 - alpha:.0%} t interval, the "
             f"paired t-test and the exact sign-flip test. The verdict is the t-test at alpha {alpha:g} "
             "(two-sided), Holm-adjusted over every metric of every contrast below; the sign-flip p does not "
             f"decide (with n cells its smallest value is 2/2^n: below 6 cells it cannot reach {alpha:g}) but "
             "shows where the t verdict leans on normal differences, as for 0/1 figures such as exact matches. "
             f"*Detectable* is the smallest difference the t-test finds with power {power:.0%} at alpha "
             f"{alpha:g} over these cells (per test, before Holm); `bayestune bench compare --detect "
             "METRIC=DELTA` says how many cells a difference needs.",
             "", chance_line([t for c in contrasts for t in c.tests], alpha) + ".", ""]
    if figure:
        lines += [f"![paired differences]({figure})", ""]
    for c in contrasts:
        lines += [f"### {c.new} − {c.base} (against the {c.against}, {c.cells} cells)", "",
                  "| metric | better | cells | mean diff | t interval | p (t) | p (sign-flip) | p (Holm) | verdict "
                  "| detectable |", "|" + "---|" * 10]
        for t in c.tests:
            if t.n == 0:
                continue
            interval = "n/a" if t.low is None else f"[{_g(t.low)}, {_g(t.high)}]"
            p_t = _p(t.p_t)
            if t.no_spread:  # every cell moved the same: no t-test, the sign-flip p decided
                interval, p_t = "no spread (same in every cell)", "n/a: sign-flip decides"
            detect = "n/a" if t.detectable is None else f"±{t.detectable:.3g}"
            verdict = f"**{t.verdict}**" if t.verdict in ("worse", "better") else t.verdict
            lines.append(f"| {t.metric} | {t.better} | {t.n} | {_g(t.mean)} | {interval} | {p_t} | "
                         f"{_p(t.p_sign_flip)} | {_p(t.p_holm)} | {verdict} | {detect} |")
        lines.append("")
    return lines


def write_summary(payload: dict[str, Any], folder: str | Path) -> Path:
    """Write ``summary.md`` (and the forest plot it links) into ``folder``; return its path."""
    folder = Path(folder)
    alpha, power = _rules(payload)
    contrasts = suite_contrasts(payload, alpha=alpha, power=power)
    from bayestune.bench.forest import plot_forest  # matplotlib only where a figure is drawn

    drawn = plot_forest(contrasts, folder / FOREST_FILE, alpha=alpha) if contrasts else None
    path = folder / SUMMARY_FILE
    text = to_markdown(payload, contrasts=contrasts, figure=FOREST_FILE if drawn else None)
    write_atomic(path, text + catch_section(payload, folder, alpha=alpha, power=power))
    return path


def catch_section(payload: dict[str, Any], folder: Path, *, alpha: float, power: float) -> str:
    """The planted mutants' section (:mod:`bayestune.bench.catch`) and its figure; empty without mutants."""
    from bayestune.bench.catch import catch_matrix
    from bayestune.bench.catch import to_markdown as catch_markdown

    caught = catch_matrix(payload, alpha=alpha, power=power)
    if not caught:
        return ""
    from bayestune.bench.catch import resampled_false_alarms
    from bayestune.bench.catch_figure import plot_catch_matrix

    plot_catch_matrix(caught, folder / CATCH_FILE)
    null = resampled_false_alarms(payload, alpha=alpha, power=power)
    return "\n".join(["", *catch_markdown(caught, payload, alpha=alpha, figure=CATCH_FILE, null=null)])


def to_markdown(payload: dict[str, Any], *, contrasts: list[Contrast] | None = None, figure: str | None = None) -> str:
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
              "structure's on the same folds (target units per week; biased toward the choice, which won "
              "there: the winner's curse); *equivalent* means within 1.96 paired SEs. The honest regret is the "
              "same difference on the never-searched final test window, both structures refitted on the same "
              "weeks: the one free of the winner's curse. Kernel L1 compares the fitted and true normalised adstock kernels (0 to 2).", ""]
    lines += ["## Methodologies", ""]
    for name, m in methods.items():
        ref = " (reference)" if m.get("reference") else ""
        keys = ", ".join(f"{k} = {v}" for k, v in m.get("tuning", {}).items())
        lines.append(f"- **{name}**{ref}: {m.get('description', '')} `{keys}`")
    lines.append("")
    groups = payload["groups"]
    lines += ["## Over the suite", ""]
    lines += _table([(f"{g['scenario']} · {g['methodology']}", g) for g in groups], "scenario · methodology")
    alpha, power = _rules(payload)
    if contrasts is None:
        contrasts = suite_contrasts(payload, alpha=alpha, power=power)
    lines += [""] + _paired(contrasts, alpha, power, figure)
    from bayestune.bench.regimes import regime_section  # it builds on this module's tables

    lines += regime_section(payload, alpha=alpha, power=power)
    lines += ["## Cells", ""]
    if any(c.get("search_shared_from") for c in payload["cells"]):
        lines += ["A cell marked *the search of* another differs from it only in how the finished study is read "
                  "(its selection rule): it resumed a copy of that cell's study (the same trials on the same dataset), "
                  "so its search figures are the shared trials' and its minutes its own final stage and evaluation.", ""]
    lines += _cell_rows(payload) + [""]
    return "\n".join(lines)
