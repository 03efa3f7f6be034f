"""The evaluation of one run: ``report.json``, ``report.md`` and the figures.

:func:`evaluate` reads the files the tuning layer wrote (run dir) and the dataset dir, and
never calls back into tuning or the simulator's generator. Without ``truth.json`` every
section that needs the truth says so (``"available": false`` and the reason); nothing is
made up.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayestune import __version__
from bayestune.errors import BayestuneError
from bayestune.fileio import write_atomic
from bayestune.rundir import RunDir, load_train_test_draws
from bayestune.evaluation import figures
from bayestune.evaluation.gap import DEFAULT_MAX_RATIO, train_test_section
from bayestune.evaluation.posterior import FitPosterior
from bayestune.evaluation.recovery import channel_recovery, parameter_recovery
from bayestune.evaluation.runtime import runtime_section
from bayestune.evaluation.selection import (
    HYPERPARAMETERS,
    SEARCH_FOLDS_WINDOW,
    final_regret,
    hyperparameter_scores,
    kernel_scores,
    rank_among_trials,
    regret,
)
from bayestune.simulator.dataset import ColumnRoles, Dataset, read_dataset
from bayestune.simulator.truth import PARTS, TruthCheck

REPORT_SCHEMA = "bayestune.report/1"
NO_TRUTH = "no ground truth: the dataset dir has no truth.json"
CRPS_UNITS = "target units per week (fair CRPS estimator)"
SCORE_LABELS = {"crps": "CRPS", "log": "log score", "interval": "interval score"}
"""How the report names the search's score (``score`` seam); a plug-in score by its name."""


def score_label(run: dict[str, Any]) -> str:
    """The name of the score that ranked the run's search: "CRPS", "log score", ..."""
    score = run.get("score") or "crps"
    return SCORE_LABELS.get(score, f"score {score!r}")


@dataclass(frozen=True)
class Report:
    """What :func:`evaluate` wrote, and the report itself as a dict."""

    data: dict[str, Any]
    json_path: Path
    markdown_path: Path
    figures: list[Path]

    @property
    def headline(self) -> list[str]:
        return list(self.data["headline"])

    def moved(self, old: Path, new: Path) -> Report:
        """The same report once its dir ``old`` has been renamed ``new``."""
        def where(p: Path) -> Path:
            return new / p.relative_to(old)

        return Report(self.data, where(self.json_path), where(self.markdown_path), [where(p) for p in self.figures])


# ------------------------------------------------------------------------- reading
def _plain(record: Any) -> dict[str, Any] | None:
    return None if record is None else record.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class RunFiles:
    """The files of a run dir that the evaluation reads (through :class:`bayestune.rundir.RunDir`,
    which checks each against its schema), as plain dicts for the sections below."""

    path: Path
    config: dict[str, Any]
    trials: pd.DataFrame
    best: dict[str, Any] | None
    final: dict[str, Any] | None
    oracle: dict[str, Any] | None
    environment: dict[str, Any]
    dataset: dict[str, Any]
    n_folds: int

    @classmethod
    def read(cls, run: str | Path) -> RunFiles:
        rd = RunDir.read(run)
        return cls(rd.path, rd.config.model_dump(), rd.trials, _plain(rd.best), _plain(rd.final),
                   _plain(rd.oracle), rd.environment, _plain(rd.dataset) or {}, rd.config.n_folds)

    def load_dataset(self, data: str | Path | None) -> Dataset:
        path = data or self.dataset.get("path")
        if not path:
            raise BayestuneError("the run does not say where its dataset is; give --data", str(self.path))
        c = self.dataset.get("columns")
        roles = ColumnRoles(c["date"], c["target"], tuple(c["channels"]), tuple(c["controls"])) if c else None
        if not Path(path).exists():
            raise BayestuneError("the run's dataset dir is gone; give --data", str(path))
        return read_dataset(path, roles)


def _load_full_fit(run: RunFiles, final: dict[str, Any] | None) -> tuple[FitPosterior | None, str | None]:
    """The full-data refit, or why it cannot be read.

    A fitter may save its fits in its own format (the fitter seam allows it): such a run is
    scored on everything but recovery and the adstock kernels, which say why instead.
    """
    path = run.path / final["full_fit"]["path"] if final else None
    if path is None or not path.exists():
        return None, None
    try:
        return FitPosterior.load(path), None
    except BayestuneError as exc:
        detail = exc.what.splitlines()[0].split(". ")[0]  # xarray's errors run to several sentences
        return None, f"the fitter's saved fit is not an ArviZ netCDF ({final['full_fit']['path']}: {detail})"


# ------------------------------------------------------------------------ sections
def _truth_section(run: RunFiles, ds: Dataset, full: FitPosterior | None, check: TruthCheck,
                   unreadable: str | None = None) -> dict[str, Any]:
    """The choice against the truth. A part whose fields the truth lacks is listed under
    ``unavailable`` with the reason, and the rest is scored."""
    if ds.truth is None:
        return {"available": False, "reason": NO_TRUTH}
    truth = ds.truth
    out: dict[str, Any] = {"available": True}
    if check.problems:
        out["problems"] = list(check.problems)
    unavailable = {part: f"{check.unavailable[part]} in the truth" for part in ("hyperparameters", "adstock_kernels")
                   if not check.available(part)}
    if check.available("hyperparameters"):
        out["true_structure"] = {k: truth["structure"][k] for k in HYPERPARAMETERS}
    best = run.best
    if best is None:
        out["chosen"] = None
        out["note"] = "no trial completed, so nothing was chosen"
        if unavailable:
            out["unavailable"] = unavailable
        return out
    if "true_structure" in out:
        out["hyperparameters"] = hyperparameter_scores(best["candidate"], out["true_structure"])
    oracle = run.oracle
    if oracle is None:
        out["oracle"] = {"available": False, "reason": "the run has no oracle trial (tuned with --no-oracle)"}
    elif oracle.get("state") != "COMPLETE":
        out["oracle"] = {"available": False, "state": oracle.get("state"),
                         "reason": oracle.get("error")}
    else:
        complete = run.trials[run.trials["state"] == "COMPLETE"]["value"].to_numpy(float)
        out["oracle"] = {
            "available": True,
            "cv_crps": oracle["value"],
            "crps_units": best.get("crps_units", CRPS_UNITS),
            "selectable": False,
            "rank": rank_among_trials(complete, oracle["value"]),
            "gate_failures": oracle.get("gate_failures", []),
        }
        out["regret"] = {"window": SEARCH_FOLDS_WINDOW, **regret(best["week_crps"], oracle["week_crps"])}
    out["final_regret"] = final_regret(run.final)
    if unreadable is not None and check.available("adstock_kernels"):
        out["adstock_kernels"] = {"available": False, "reason": unreadable}
    elif full is not None and check.available("adstock_kernels"):
        effective = truth.get("effective_l_max")
        effective = effective if isinstance(effective, dict) and all(isinstance(v, int) for v in effective.values()) else None
        out["adstock_kernels"] = kernel_scores(truth["adstock_kernel"], full.adstock_kernels, effective)
    if unavailable:
        out["unavailable"] = unavailable
    return out


def _recovery_section(ds: Dataset, full: FitPosterior | None, check: TruthCheck,
                      unreadable: str | None = None) -> dict[str, Any]:
    """Recovery by the full-data refit: per channel (ROAS, shares, contributions) and per
    parameter; each part is scored when the truth holds its fields, else says why not."""
    if ds.truth is None:
        return {"available": False, "reason": NO_TRUTH}
    if unreadable is not None:
        return {"available": False, "reason": unreadable}
    if full is None:
        return {"available": False, "reason": "the run has no full-data refit (tuned with --no-final)"}
    if not check.available("channel_recovery") and not check.available("parameter_recovery"):
        return {"available": False, "reason": f"{check.unavailable['channel_recovery']} in the truth; "
                                              f"{check.unavailable['parameter_recovery']} in the truth"}
    out: dict[str, Any] = {"available": True, "fit": "full-data refit of the chosen structure"}
    if check.available("channel_recovery"):
        channels = full.channels
        spend = ds.data[channels].to_numpy(float)
        true_contrib = ds.contributions[channels].to_numpy(float)
        out |= channel_recovery(full.channel_contributions(), channels, spend, ds.truth, true_contrib)
    else:
        out["channels_unavailable"] = f"{check.unavailable['channel_recovery']} in the truth"
    if check.available("parameter_recovery"):
        out["parameters"] = parameter_recovery(full, ds.truth)
    else:
        out["parameters"] = {"available": False, "parameters": {},
                             "reason": f"{check.unavailable['parameter_recovery']} in the truth"}
    return out


def _convergence_section(final: dict[str, Any] | None) -> dict[str, Any]:
    if not final:
        return {"available": False, "reason": "the run has no final stage (tuned with --no-final)"}
    out: dict[str, Any] = {"available": True}
    for name in ("train_fit", "full_fit"):
        rec = final.get(name, {})
        out[name] = {
            "strict_gate_passed": rec.get("strict_gate_passed"),
            "failures": rec.get("strict_gate_failures", []),
            "diagnostics": rec.get("diagnostics", {}),
        }
    return out


def _run_section(run: RunFiles, ds: Dataset, named_as: Path) -> dict[str, Any]:
    states = run.trials["state"].value_counts().to_dict() if len(run.trials) else {}
    best = run.best
    return {
        "path": str(named_as),
        "dataset": str(ds.path),
        "weeks": ds.weeks,
        "channels": list(ds.columns.channels),
        "has_truth": ds.has_truth,
        "trials": int(len(run.trials)),
        "states": {str(k): int(v) for k, v in states.items()},
        "validation": run.config.get("validation"),
        "folds": run.n_folds,
        "horizon": run.config.get("horizon"),
        # the sampler that ran (a fitter may run its own whatever --sampler says); older runs: the configured one
        "sampler": run.environment.get("sampler") or run.config.get("sampler"),
        "seed": run.config.get("seed"),
        "selection": best.get("selection") if best else None,
        "selection_rule": best.get("selection_rule") if best else None,
        "chosen": best.get("candidate") if best else None,
        "chosen_trial": best.get("trial") if best else None,
        "chosen_cv_crps": best.get("crps") if best else None,
        # the search's score (``score`` seam): chosen_cv_crps, the oracle's and the regret are in it
        "score": best.get("score", "crps") if best else run.config.get("score", "crps"),
        "crps_units": best.get("crps_units", CRPS_UNITS) if best else CRPS_UNITS,
    }


# -------------------------------------------------------------------------- figures
def _figures(report: dict[str, Any], run: RunFiles, ds: Dataset, full: FitPosterior | None, out: Path) -> list[Path]:
    made = []
    trials = run.trials
    chosen = report["run"]["chosen"] or {}
    truth = report["truth"].get("true_structure") if report["truth"]["available"] else None
    oracle = report["truth"].get("oracle", {}) if truth else {}
    units = f"{ds.columns.target} per week"
    score = score_label(report["run"])
    made.append(figures.plot_history(trials, out / "history.png", chosen=report["run"]["chosen_trial"],
                                     oracle_crps=oracle.get("cv_crps"), units=units, score=score))
    fields = [f for f in HYPERPARAMETERS if f in trials.columns]
    made.append(figures.plot_by_hyperparameter(trials, out / "by_hyperparameter.png", fields=fields,
                                               chosen=chosen, truth=truth, units=units, score=score))
    made.append(figures.plot_grid(trials, out / "grid.png", chosen=chosen, truth=truth,
                                  oracle_crps=oracle.get("cv_crps"), units=units, score=score))
    saved = load_train_test_draws(run.path, run.final)
    if saved is not None:
        draws = np.concatenate([saved["draws_fit"], saved["draws_test"]], axis=1)
        observed = np.concatenate([saved["observed_fit"], saved["observed_test"]])
        dates = pd.DatetimeIndex(ds.data[ds.columns.date])[: observed.size]
        made.append(figures.plot_predictive(dates, observed, draws, out / "predictive.png",
                                            split=saved["observed_fit"].size, units=ds.columns.target))
    rec = report["recovery"]
    if "channels" in rec:
        ch = list(rec["channels"])
        v = rec["channels"]
        made.append(figures.plot_roas(ch, [v[c]["roas_mean"] for c in ch], [v[c]["roas_lo"] for c in ch],
                                      [v[c]["roas_hi"] for c in ch], out / "roas.png",
                                      truth=[v[c]["roas_true"] for c in ch], level=rec["level"]))
    if full is not None:
        fitted = full.adstock_kernels
        scores = report["truth"].get("adstock_kernels", {}).get("channels", {})
        true_kernels = ds.truth["adstock_kernel"] if "adstock_kernels" in report["truth"] else {}
        kernels = {c: {"true": np.asarray(true_kernels[c]) if c in true_kernels else None,
                       "fitted": k, "l1": scores.get(c, {}).get("l1")} for c, k in fitted.items()}
        made.append(figures.plot_kernels(kernels, out / "kernels.png"))
    return made


# ------------------------------------------------------------------------- warnings
FINAL_FITS = {"train_fit": "train-only refit (the train/test figures)", "full_fit": "full-data refit"}
"""The final stage's fits, as the headline and the warnings name them."""


def report_warnings(report: dict[str, Any]) -> list[str]:
    """What a reader must not miss: train/test flags, and every fit whose figures carry extra noise."""
    tt = report["train_test"]
    out = list(tt.get("flags", [])) + list(tt.get("warnings", []))
    oracle_failures = report["truth"].get("oracle", {}).get("gate_failures")
    if oracle_failures:
        out.append("the true structure's search fits failed the search convergence gate ("
                   + "; ".join(oracle_failures) + f"): its CV {score_label(report['run'])}, and the regret, "
                   "carry extra MCMC noise")
    honest = report["truth"].get("final_regret", {})
    if honest.get("available") and honest.get("true_fit_strict_gate_passed") is False:
        out.append("the true structure's final refit failed the strict convergence gate ("
                   + "; ".join(honest["true_fit_strict_gate_failures"])
                   + "): the honest regret carries extra MCMC noise")
    conv = report["convergence"]
    if conv.get("available"):
        if not conv["train_fit"]["strict_gate_passed"]:
            out.append("the train-only refit failed the strict convergence gate ("
                       + "; ".join(conv["train_fit"]["failures"])
                       + "): the train/test CRPS and the gap come from it and carry extra MCMC noise")
        if not conv["full_fit"]["strict_gate_passed"]:
            out.append("the full-data refit failed the strict convergence gate: "
                       + "; ".join(conv["full_fit"]["failures"]))
    return out


# ------------------------------------------------------------------------- headline
def _truth_not_available(report: dict[str, Any]) -> list[str]:
    """Each part left out for want of a field of the truth (or a form the model does not share), with why."""
    t, rec = report["truth"], report["recovery"]
    if not t["available"]:
        return []
    out = [f"{PARTS[part]} ({reason})" for part, reason in t.get("unavailable", {}).items()]
    kernels = t.get("adstock_kernels", {})
    if kernels.get("available") is False:
        out.append(f"{PARTS['adstock_kernels']} ({kernels['reason']})")
    if not rec.get("available") and (rec.get("reason", "").endswith(" in the truth")
                                     or rec.get("reason") == kernels.get("reason")):
        out.append(f"recovery ({rec['reason']})")
    if "channels_unavailable" in rec:
        out.append(f"{PARTS['channel_recovery']} ({rec['channels_unavailable']})")
    params = rec.get("parameters", {}) if rec.get("available") else {}
    if params.get("available") is False:
        out.append(f"{PARTS['parameter_recovery']} ({params['reason']})")
    out += [f"{'all' if group == '*' else 'the ' + group} parameters ({reason})"
            for group, reason in params.get("skipped", {}).items()]
    return out


def _best_of(run: dict[str, Any]) -> str:
    """"best of 6 completed trials (8 run)": the chosen trial beat only the completed ones."""
    complete = int(run.get("states", {}).get("COMPLETE", 0))
    if complete == run["trials"]:
        return f"best of {complete} trials, all completed"
    return f"best of {complete} completed trials ({run['trials']} run)"


def _fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:,.{digits}f}"


def _verdict(g: dict[str, Any]) -> str:
    if g["equivalent"]:
        return "within noise: statistically equivalent to the truth"
    return "worse than the truth beyond noise" if g["regret"] > 0 else "better than the truth beyond noise"


WINNERS_CURSE = ("Only this regret is free of the winner's curse: the one above scores the choice on the folds it "
                 "won on, where the lowest of many noisy scores flatters it.")


def _honest_regret_line(g: dict[str, Any]) -> str:
    """The honest regret (final test window, always in CRPS) and why it is the one to trust."""
    if not g.get("available"):
        return f"Honest regret: not available ({g.get('reason')})."
    fitted = g["fit_range"][1] - g["fit_range"][0]
    if g["same_structure"]:
        return (f"Honest regret: exactly 0 CRPS on the {g['weeks']} never-searched test weeks: the chosen structure "
                "is the true one, refitted once. " + WINNERS_CURSE)
    return (f"Honest regret: {_fmt(g['regret'])} ± {_fmt(g['se'])} CRPS (chosen minus true structure, both refitted "
            f"on the same {fitted} weeks, paired over {g['weeks']} never-searched test weeks): {_verdict(g)}. "
            + WINNERS_CURSE)


def headline(report: dict[str, Any]) -> list[str]:
    """A few lines a newcomer understands at a glance."""
    lines = []
    r, t = report["run"], report["truth"]
    if r["chosen"] is None:
        return [f"No trial completed out of {r['trials']}: nothing was chosen (see trials.csv)."]
    c = r["chosen"]
    chosen = f"Fourier order {c['yearly_seasonality']}, l_max {c['l_max']}, {c['adstock']} adstock, {c['saturation']} saturation"
    label = score_label(r)
    if label == "CRPS":
        lines.append(f"Chosen: {chosen}; cross-validated CRPS {_fmt(r['chosen_cv_crps'])} per week "
                     f"(target units; {_best_of(r)}).")
    else:
        lines.append(f"Chosen: {chosen}; cross-validated {label} {_fmt(r['chosen_cv_crps'], 2)} per week "
                     f"({r.get('crps_units')}; {_best_of(r)}).")
    if not t["available"]:
        lines.append(f"Truth: {t['reason']}; truth scores are not available.")
    else:
        if "hyperparameters" in t:
            s = t["true_structure"]
            h = t["hyperparameters"]
            wrong = [k for k in HYPERPARAMETERS if not h[k]["exact"]]
            verdict = "exact match" if not wrong else "differs in " + ", ".join(wrong)
            lines.append(f"Truth:  Fourier order {s['yearly_seasonality']}, l_max {s['l_max']}, "
                         f"{s['adstock']} adstock, {s['saturation']} saturation: {verdict}.")
        if "regret" in t:
            g, o = t["regret"], t["oracle"]
            eq = _verdict(g)
            lines.append(f"Regret: {_fmt(g['regret'])} ± {_fmt(g['se'])} {label} (chosen minus true structure, paired "
                         f"over the search folds' {g['weeks']} held-out weeks, where the choice was made): {eq}. "
                         f"The true structure scored "
                         f"{_fmt(o['cv_crps'])}, rank {o['rank']['rank']} of {o['rank']['of']} (1 = best; "
                         f"the completed trials and the true structure).")
        elif "oracle" in t:
            lines.append(f"Regret: not available ({t['oracle'].get('reason')}).")
        if "final_regret" in t:
            lines.append(_honest_regret_line(t["final_regret"]))
        if t.get("adstock_kernels", {}).get("channels"):
            k = t["adstock_kernels"]
            lines.append("Adstock kernels, L1 distance to the truth (0 = same, 2 = disjoint): " + ", ".join(
                f"{ch} {_fmt(v['l1'], 3)}" for ch, v in k["channels"].items()))
    rec = report["recovery"]
    if "channels" in rec:
        parts = []
        for ch, v in rec["channels"].items():
            mark = "covers" if v["roas_covered"] else "MISSES"
            parts.append(f"{ch} {v['roas_mean']:.2f} [{v['roas_lo']:.2f}, {v['roas_hi']:.2f}] {mark} {v['roas_true']:.2f}")
        lines.append(f"ROAS, {int(rec['level'] * 100)}% intervals vs truth: " + "; ".join(parts) + ".")
    missing = _truth_not_available(report)
    if missing:
        lines.append("Not scored: " + "; ".join(missing) + ".")
    tt = report["train_test"]
    if tt.get("available"):
        lines.append(f"Train/test: CRPS {_fmt(tt['train_crps'])} on {tt['fit_range'][1] - tt['fit_range'][0]} fitted weeks, "
                     f"{_fmt(tt['test_crps'])} on {tt['test_range'][1] - tt['test_range'][0]} held-out weeks "
                     f"(ratio {_fmt(tt['ratio'], 2)}).")
    conv = report["convergence"]
    if conv.get("available"):
        for name, what in FINAL_FITS.items():
            fit = conv[name]
            lines.append(f"{what[0].upper()}{what[1:]}: strict convergence gate " + (
                "passed." if fit["strict_gate_passed"] else "FAILED: " + "; ".join(fit["failures"]) + "."))
    for w in report["warnings"]:
        lines.append(f"WARNING: {w}")
    return lines


# -------------------------------------------------------------------------- writing
def _clean(x: Any) -> Any:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def evaluate(
    run: str | Path,
    data: str | Path | None = None,
    out: str | Path | None = None,
    *,
    max_gap_ratio: float = DEFAULT_MAX_RATIO,
    named_as: str | Path | None = None,
) -> Report:
    """Evaluate the run dir ``run`` and write the report into ``out`` (default: the run dir).

    ``data`` overrides the dataset dir the run recorded. Existing report files are replaced
    only once the new ones are complete. ``named_as`` is the path the report names the run
    by (default: ``run``): a run evaluated in a staging dir before it is renamed into place
    (the demo's) is named by the path it will have.
    """
    from bayestune.evaluation.markdown import to_markdown

    files = RunFiles.read(run)
    ds = files.load_dataset(data)
    final = files.final
    full, unreadable = _load_full_fit(files, final)

    report: dict[str, Any] = {"schema": REPORT_SCHEMA, "bayestune": __version__}
    report["run"] = _run_section(files, ds, Path(named_as) if named_as is not None else files.path)
    check = ds.truth_check()
    report["truth"] = _truth_section(files, ds, full, check, unreadable)
    report["recovery"] = _recovery_section(ds, full, check, unreadable)
    report["train_test"] = train_test_section(final, files.path, max_ratio=max_gap_ratio)
    report["convergence"] = _convergence_section(final)
    report["runtime"] = runtime_section(files.trials, n_folds=files.n_folds, final=final,
                                        oracle=files.oracle, environment=files.environment)
    report["warnings"] = report_warnings(report)

    out = Path(out) if out is not None else files.path
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = out / ".figures.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        made = _figures(report, files, ds, full, staging)
    except OSError as exc:
        raise BayestuneError(f"cannot write the report: {exc.strerror or exc}", str(out)) from None
    fig_dir = out / "figures"
    report["figures"] = [f"figures/{p.name}" for p in made]
    report["headline"] = headline(report)
    report = _clean(report)
    if fig_dir.exists():
        shutil.rmtree(fig_dir)
    os.replace(staging, fig_dir)
    json_path, md_path = out / "report.json", out / "report.md"
    write_atomic(json_path, json.dumps(report, indent=2) + "\n")
    write_atomic(md_path, to_markdown(report))
    return Report(report, json_path, md_path, [fig_dir / p.name for p in made])
