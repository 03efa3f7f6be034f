"""``calibration.md``: what a calibration found, for people."""

from __future__ import annotations

from typing import Any

from bayestune.evaluation.markdown import table


def _f(x: Any, fmt: str = ".2f") -> str:
    return "n/a" if x is None else format(x, fmt)


def markdown(p: dict[str, Any]) -> str:
    d, plan, sims = p["design"], p["plan"], p["simulations"]
    s = d["structure"]
    fit = plan["fit"]
    lines = [
        f"# Simulation-based calibration: {d['scenario']}", "",
        f"The true structure of `{d['scenario']}` (Fourier order {s['yearly_seasonality']}, `l_max` {s['l_max']}, "
        f"{s['adstock']} adstock, {s['saturation']} saturation) with PyMC-Marketing's default priors, on the "
        f"design of seed {d['seed']} ({d['weeks']} weeks; channels {', '.join(d['channels'])}; controls "
        f"{', '.join(d['controls']) or 'none'}), the target divided by the fixed scale {d['target_scale']:.6g}. "
        f"Each simulation draws every parameter and a target from the prior, fits with {fit['sampler']} "
        f"({fit['tune']} tuning steps + {fit['draws']} draws x {fit['chains']} chains, seed {plan['seed']}) and "
        f"ranks the truth among L = {p['n_draws']} draws (thinned by {p['thin']}).", "",
        f"Simulations: {sims['ok']} of {sims['requested']} finished"
        + (f", {sims['failed']} failed ({'; '.join(sims['errors'])})" if sims["failed"] else "") + ".", "",
    ]
    q = p.get("quantities") or {}
    if not q:
        return "\n".join(lines + ["Fewer than two simulations finished: nothing to rank.", ""])
    failing = [n for n, r in q.items() if not r["uniform"]]
    expected = (1 - p["level"]) * len(q)
    lines += [
        f"**{len(failing)} of {len(q)} quantities leave the simultaneous {p['level']:.0%} band** "
        f"(about {expected:.1f} would by chance alone when all is well)"
        + (f": {', '.join(f'`{n}`' for n in failing)}." if failing else "."), "",
        "A rank ECDF above the band's centre at low ranks means the truth sits low in the posterior "
        "(the posterior is biased upward); an S shape through the band means over-confident (U-shaped "
        "ranks) or under-confident (humped ranks) posteriors. Coverage is the share of simulations whose "
        "central interval holds the truth; calibration error, NRMSE and contraction are defined in the README.", "",
        f"![rank ECDF differences]({p['figure']})" if p.get("figure") else "", "",
    ]
    levels = list(next(iter(q.values()))["coverage"])
    rows = [[f"`{n}`", "yes" if r["uniform"] else "**no**", _f(r["p_value"], ".3f"),
             *(_f(r["coverage"][lv]) for lv in levels), _f(r["calibration_error"], ".3f"),
             _f(r["nrmse"], ".3f"), _f(r["contraction"], ".2f")] for n, r in q.items()]
    lines += table(["quantity", "ranks uniform", "gamma p", *(f"{float(lv):.0%} covered" for lv in levels),
                    "calibration error", "NRMSE", "contraction"], rows)
    f = p["fits"]
    lines += ["", "## The fits", "",
              f"- {f['with_divergences']} of {sims['ok']} fits had divergences (median rate "
              f"{f['median_divergence_rate']:.3f}); {f['rhat_over_1_01']} had an R-hat above 1.01 (largest "
              f"{f['max_rhat']:.3f}); median smallest bulk ESS {f['median_min_ess_bulk']:.0f}"
              + (f", below L = {p['n_draws']}: thin more (`--thin`) or the ranks carry autocorrelation"
                 if f["median_min_ess_bulk"] < p["n_draws"] else "") + ".",
              f"- Fit time: median {f['median_seconds']:.1f} s, {f['total_fit_seconds'] / 60:.1f} min in all; "
              f"{f['wall_seconds'] / 60:.1f} min of wall time in this run ({p['executor']}).", ""]
    return "\n".join(lines)
