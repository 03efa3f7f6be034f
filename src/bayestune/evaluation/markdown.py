"""``report.md``: the report for people, from the same dict as ``report.json``."""

from __future__ import annotations

import math
from typing import Any

from bayestune.evaluation.report import score_label
from bayestune.simulator.truth import PARTS


def _n(x: Any, digits: int = 2) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return "n/a" if not math.isfinite(x) else f"{x:,.{digits}f}"
    return str(x)


def table(header: list[str], rows: list[list[Any]], digits: int = 2) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_n(v, digits) for v in row) + " |" for row in rows]
    return out + [""]


def _unavailable(section: dict[str, Any]) -> list[str]:
    return [f"Not available: {section.get('reason', 'unknown reason')}.", ""]


def _honest_regret(g: dict[str, Any] | None, label: str) -> list[str]:
    """The regret on the never-searched final test window, and which of the two to trust."""
    if g is None:
        return []
    head = "On the final test window (never searched; both structures refitted on the same weeks):"
    if not g.get("available"):
        return [head, "", f"Honest regret: not available ({g.get('reason')}).", ""]
    curse = ("This regret is free of the winner's curse; the one on the search folds is not: there the chosen "
             f"trial is the lowest of many noisy {label} values, which flatters it.")
    if g["same_structure"]:
        return [head, "", f"The chosen structure is the true one, refitted once: the honest regret is exactly 0 "
                          f"on the {g['weeks']} test weeks. {curse}", ""]
    fit, test = g["fit_range"], g["test_range"]
    gate = "" if g.get("true_fit_strict_gate_passed") is not False else \
        " The true structure's refit failed the strict gate: " + "; ".join(g["true_fit_strict_gate_failures"]) + "."
    return [head, "", f"Test CRPS of the chosen structure {_n(g['chosen_test_crps'])}, of the true one "
                      f"{_n(g['true_test_crps'])} (both fitted on weeks {fit[0]}–{fit[1] - 1}, scored on weeks "
                      f"{test[0]}–{test[1] - 1}).{gate}", "",
            f"Honest regret CRPS(chosen) − CRPS(true) = {_n(g['regret'])} ± {_n(g['se'])} (paired SE over "
            f"{g['weeks']} test weeks; {_n(100 * g['relative'], 1)}% of the true structure's CRPS). Equivalent to "
            f"the truth ({g['equivalence_rule']}): {_n(g['equivalent'])}. {curse}", ""]


def to_markdown(report: dict[str, Any]) -> str:
    r = report["run"]
    lines = [f"# bayestune report: {r['path']}", ""]
    lines += ["## At a glance", ""] + [f"- {h}" for h in report["headline"]] + [""]
    if report["warnings"]:
        lines += ["## Warnings", ""] + [f"- **{w}**" for w in report["warnings"]] + [""]

    lines += ["## Run", ""]
    lines += table(["dataset", "weeks", "channels", "trials", "states", "validation", "sampler", "seed"], [[
        r["dataset"], r["weeks"], ", ".join(r["channels"]), r["trials"],
        ", ".join(f"{k} {v}" for k, v in r["states"].items()), f"{r['validation']} ({r['folds']} folds)",
        r["sampler"], r["seed"],
    ]])
    rule = r.get("selection_rule") or {}
    label = score_label(r)
    detail = ""
    if rule.get("rule") == "one-se":
        detail = (f" (lowest: trial {rule['lowest_trial']}; within one SE of it: "
                  f"{', '.join(str(n) for n in rule['within_one_se'])})")
    rep = rule.get("replicates")
    if rep:
        sd = rep.get("mcmc_sd_median")
        detail += (f"; replicate refits of trials {', '.join(str(n) for n in rep['candidates'])}: "
                   f"{rep['fits']} more trials in {rep['seconds'] / 60:.1f} min"
                   + (f", MCMC noise of a candidate's {label} (median SD over its fits) {sd:.2f}" if sd is not None else ""))
    if label == "CRPS":
        lines += [f"CRPS is in {r['crps_units']}. Selection: {r['selection'] or 'n/a'}{detail}.", ""]
    else:
        lines += [f"The search ranked the trials by the {label}: {r['crps_units']} (the train/test pair below "
                  f"stays in CRPS). Selection: {r['selection'] or 'n/a'}{detail}.", ""]

    t = report["truth"]
    lines += ["## The choice against the truth", ""]
    if t.get("problems"):
        lines += ["`truth.json` lacks what some parts need; those parts are not available, the rest is scored:", ""]
        lines += [f"- {p}" for p in t["problems"]] + [""]
    if not t["available"]:
        lines += _unavailable(t)
    elif "chosen" not in t:
        h = t.get("hyperparameters")
        if h:
            lines += table(["hyperparameter", "chosen", "true", "abs. error", "exact"], [
                [k, v["chosen"], v["true"], v["abs_error"], v["exact"]] for k, v in h.items() if isinstance(v, dict)
            ])
        for part, reason in t.get("unavailable", {}).items():
            lines += [f"Not available: {PARTS[part]} ({reason}).", ""]
        o = t.get("oracle", {})
        if o.get("available"):
            g = t["regret"]
            lines += [
                "On the search folds (the weeks the choice was made on):",
                "",
                f"The true structure, scored on the same folds (oracle trial, never selectable): CV {label} "
                f"{_n(o['cv_crps'])}; it ranks {o['rank']['rank']} of {o['rank']['of']} among the completed trials.",
                "",
                f"Regret {label}(chosen) − {label}(true) = {_n(g['regret'])} ± {_n(g['se'])} (paired SE over "
                f"{g['weeks']} held-out weeks; {_n(100 * g['relative'], 1)}% of the true structure's {label}). "
                f"Equivalent to the truth ({g['equivalence_rule']}): {_n(g['equivalent'])}.",
                "",
            ]
        else:
            lines += [f"Oracle trial: {o.get('reason', 'not available')}.", ""]
        lines += _honest_regret(t.get("final_regret"), label)
        if t.get("adstock_kernels", {}).get("available") is False:
            lines += [f"Not available: {PARTS['adstock_kernels']} ({t['adstock_kernels']['reason']}).", ""]
        elif "adstock_kernels" in t:
            k = t["adstock_kernels"]["channels"]
            lines += ["Adstock kernels (normalised), L1 distance between the true and the fitted posterior-mean "
                      "kernel: 0 is identical, 2 disjoint. An `l_max` past the true kernel's effective length "
                      "adds only near-zero weights, so it is not counted as an error.", ""]
            lines += table(["channel", "L1", "fitted l_max", "true l_max", "true effective l_max (99%)"], [
                [c, v["l1"], v["fitted_l_max"], v.get("true_l_max"), v.get("true_effective_l_max")] for c, v in k.items()
            ], digits=3)
    else:
        lines += [t.get("note", ""), ""]

    rec = report["recovery"]
    lines += ["## Recovery (full-data refit)", ""]
    if not rec.get("available"):
        lines += _unavailable(rec)
    elif "channels" not in rec:
        lines += [f"Not available: {PARTS['channel_recovery']} ({rec['channels_unavailable']}).", ""]
    else:
        lvl = int(rec["level"] * 100)
        lines += table(
            ["channel", "ROAS true", "ROAS mean", f"{lvl}% interval", "covers", "rel. error", "share true",
             "share fitted", "contribution NRMSE"],
            [[c, v["roas_true"], v["roas_mean"], f"[{v['roas_lo']:.2f}, {v['roas_hi']:.2f}]", v["roas_covered"],
              v["roas_relative_error"], v["share_true"], v["share_mean"], v["contribution_nrmse"]]
             for c, v in rec["channels"].items()], digits=3)
        lines += [f"Contribution over time: NRMSE {_n(rec['contribution_nrmse'], 3)} (mean over channels); "
                  f"calibration error across weeks and channels {_n(rec['contribution_calibration_error'], 3)} "
                  "(0 = calibrated; median over 20 nominal levels from 0.005 to 0.995).", ""]
    if rec.get("available"):
        p = rec["parameters"]
        if p.get("available") is False:
            lines += [f"Not available: {PARTS['parameter_recovery']} ({p['reason']}).", ""]
        elif p.get("parameters"):
            lines += [f"Parameters shared by the model and the truth (on {p['scale']}): coverage of the "
                      f"{int(p['level'] * 100)}% intervals {_n(p['coverage_rate'])}, median posterior contraction "
                      f"{_n(p['median_contraction'])}, calibration error {_n(p['calibration_error'], 3)}.", ""]
            lines += table(["parameter", "truth", "mean", "interval", "covers", "contraction"], [
                [k, v["truth"], v["mean"], f"[{v['lo']:.3g}, {v['hi']:.3g}]", v["covered"], v["contraction"]]
                for k, v in p["parameters"].items()], digits=4)
        else:
            lines += [p.get("note", ""), ""]
        for group, reason in p.get("skipped", {}).items():
            lines += [f"Left out: {'every parameter' if group == '*' else 'the ' + group + ' parameters'} ({reason}).", ""]

    tt = report["train_test"]
    lines += ["## Train/test gap (train-only refit of the chosen structure)", ""]
    if not tt.get("available"):
        lines += _unavailable(tt)
    else:
        lines += table(["fitted weeks", "held-out weeks", "train CRPS", "test CRPS", "gap", "ratio",
                         "test weeks fitted"], [[
            f"{tt['fit_range'][0]}–{tt['fit_range'][1] - 1}", f"{tt['test_range'][0]}–{tt['test_range'][1] - 1}",
            tt["train_crps"], tt["test_crps"], tt["gap"], tt["ratio"], tt["test_weeks_fitted"],
        ]])
        for f in tt["flags"] + tt["warnings"]:
            lines += [f"**{f}**", ""]

    conv = report["convergence"]
    lines += ["## Convergence of the final fits (strict gate)", ""]
    if not conv.get("available"):
        lines += _unavailable(conv)
    else:
        rows = []
        for name in ("train_fit", "full_fit"):
            c, d = conv[name], conv[name]["diagnostics"]
            rows.append([name, c["strict_gate_passed"], d.get("max_rhat"), d.get("min_ess_bulk"),
                         d.get("divergence_rate"), "; ".join(c["failures"]) or "none"])
        lines += table(["fit", "passed", "max R-hat", "min bulk ESS", "divergence rate", "failures"], rows, digits=3)

    rt = report["runtime"]
    lines += ["## Runtime", ""]
    fitter = f"Fitter {rt['fitter']}, sampler" if rt.get("fitter") else "Sampler"
    lines += [f"{fitter} {rt['sampler']} on {rt['device']} ({rt['cores']} cores); pymc-marketing "
              f"{rt['packages'].get('pymc-marketing')}, pymc {rt['packages'].get('pymc')}, numpyro "
              f"{rt['packages'].get('numpyro')}, jax {rt['packages'].get('jax')}, optuna {rt['packages'].get('optuna')}.", ""]
    tot = rt["totals"]
    lines += table(["", "build", "compile", "sample", "predict", "total"], [
        ["all trials (s)", tot["seconds_build"], tot["seconds_compile"], tot["seconds_sample"],
         tot["seconds_predict"], tot["seconds_trials"]]], digits=1)
    lines += [f"Median seconds per complete trial: {_n(rt['median_seconds_per_complete_trial'], 1)}; "
              f"median ESS per second (smallest bulk ESS): {_n(rt['median_ess_per_second'], 1)}.", ""]
    if "final" in rt:
        lines += table(["final fit", "build", "compile", "sample", "predict", "ESS/s"], [
            [k, v["seconds_build"], v["seconds_compile"], v["seconds_sample"], v["seconds_predict"], v["ess_per_second"]]
            for k, v in (rt["final"] | {"true structure (honest regret)": rt.get("final_oracle")}).items()
            if v is not None], digits=1)
    lines += table(["trial", "state", "build", "compile", "sample", "predict", "total", "ESS/s"], [
        [t["number"], t["state"], t["seconds_build"], t["seconds_compile"], t["seconds_sample"],
         t["seconds_predict"], t["seconds_total"], t["ess_per_second"]] for t in rt["trials"]], digits=1)

    if report["figures"]:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in report["figures"]] + [""]
    return "\n".join(lines)
