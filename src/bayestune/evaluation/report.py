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
    hyperparameter_scores,
    kernel_scores,
    rank_among_trials,
    regret,
)
from bayestune.simulator.dataset import ColumnRoles, Dataset, read_dataset

REPORT_SCHEMA = "bayestune.report/1"
NO_TRUTH = "no ground truth: the dataset dir has no truth.json"
CRPS_UNITS = "target units per week (fair CRPS estimator)"


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


# ------------------------------------------------------------------------ sections
def _truth_section(run: RunFiles, ds: Dataset, full: FitPosterior | None) -> dict[str, Any]:
    if ds.truth is None:
        return {"available": False, "reason": NO_TRUTH}
    truth = ds.truth
    structure = {k: truth["structure"][k] for k in HYPERPARAMETERS}
    out: dict[str, Any] = {"available": True, "true_structure": structure}
    best = run.best
    if best is None:
        out["chosen"] = None
        out["note"] = "no trial completed, so nothing was chosen"
        return out
    out["hyperparameters"] = hyperparameter_scores(best["candidate"], structure)
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
            "crps_units": CRPS_UNITS,
            "selectable": False,
            "rank": rank_among_trials(complete, oracle["value"]),
            "gate_failures": oracle.get("gate_failures", []),
        }
        out["regret"] = regret(best["week_crps"], oracle["week_crps"])
    if full is not None:
        out["adstock_kernels"] = kernel_scores(truth["adstock_kernel"], full.adstock_kernels,
                                               truth.get("effective_l_max"))
    return out


def _recovery_section(ds: Dataset, full: FitPosterior | None) -> dict[str, Any]:
    if ds.truth is None:
        return {"available": False, "reason": NO_TRUTH}
    if full is None:
        return {"available": False, "reason": "the run has no full-data refit (tuned with --no-final)"}
    if ds.contributions is None:
        return {"available": False, "reason": "the dataset dir has no contributions.csv"}
    channels = full.channels
    spend = ds.data[channels].to_numpy(float)
    true_contrib = ds.contributions[channels].to_numpy(float)
    out = {"available": True, "fit": "full-data refit of the chosen structure"}
    out |= channel_recovery(full.channel_contributions(), channels, spend, ds.truth, true_contrib)
    out["parameters"] = parameter_recovery(full, ds.truth)
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


def _run_section(run: RunFiles, ds: Dataset) -> dict[str, Any]:
    states = run.trials["state"].value_counts().to_dict() if len(run.trials) else {}
    best = run.best
    return {
        "path": str(run.path),
        "dataset": str(ds.path),
        "weeks": ds.weeks,
        "channels": list(ds.columns.channels),
        "has_truth": ds.has_truth,
        "trials": int(len(run.trials)),
        "states": {str(k): int(v) for k, v in states.items()},
        "validation": run.config.get("validation"),
        "folds": run.n_folds,
        "horizon": run.config.get("horizon"),
        "sampler": run.config.get("sampler"),
        "seed": run.config.get("seed"),
        "selection": best.get("selection") if best else None,
        "selection_rule": best.get("selection_rule") if best else None,
        "chosen": best.get("candidate") if best else None,
        "chosen_trial": best.get("trial") if best else None,
        "chosen_cv_crps": best.get("crps") if best else None,
        "crps_units": CRPS_UNITS,
    }


# -------------------------------------------------------------------------- figures
def _figures(report: dict[str, Any], run: RunFiles, ds: Dataset, full: FitPosterior | None, out: Path) -> list[Path]:
    made = []
    trials = run.trials
    chosen = report["run"]["chosen"] or {}
    truth = report["truth"].get("true_structure") if report["truth"]["available"] else None
    oracle = report["truth"].get("oracle", {}) if truth else {}
    units = f"{ds.columns.target} per week"
    made.append(figures.plot_history(trials, out / "history.png", chosen=report["run"]["chosen_trial"],
                                     oracle_crps=oracle.get("cv_crps"), units=units))
    fields = [f for f in HYPERPARAMETERS if f in trials.columns]
    made.append(figures.plot_by_hyperparameter(trials, out / "by_hyperparameter.png", fields=fields,
                                               chosen=chosen, truth=truth, units=units))
    made.append(figures.plot_grid(trials, out / "grid.png", chosen=chosen, truth=truth, units=units))
    saved = load_train_test_draws(run.path, run.final)
    if saved is not None:
        draws = np.concatenate([saved["draws_fit"], saved["draws_test"]], axis=1)
        observed = np.concatenate([saved["observed_fit"], saved["observed_test"]])
        dates = pd.DatetimeIndex(ds.data[ds.columns.date])[: observed.size]
        made.append(figures.plot_predictive(dates, observed, draws, out / "predictive.png",
                                            split=saved["observed_fit"].size, units=ds.columns.target))
    rec = report["recovery"]
    if rec.get("available"):
        ch = list(rec["channels"])
        v = rec["channels"]
        made.append(figures.plot_roas(ch, [v[c]["roas_mean"] for c in ch], [v[c]["roas_lo"] for c in ch],
                                      [v[c]["roas_hi"] for c in ch], out / "roas.png",
                                      truth=[v[c]["roas_true"] for c in ch], level=rec["level"]))
    if full is not None:
        fitted = full.adstock_kernels
        scores = report["truth"].get("adstock_kernels", {}).get("channels", {})
        kernels = {c: {"true": np.asarray(ds.truth["adstock_kernel"][c]) if ds.truth else None,
                       "fitted": k, "l1": scores.get(c, {}).get("l1")} for c, k in fitted.items()}
        made.append(figures.plot_kernels(kernels, out / "kernels.png"))
    return made


# ------------------------------------------------------------------------- headline
def _fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:,.{digits}f}"


def headline(report: dict[str, Any]) -> list[str]:
    """A few lines a newcomer understands at a glance."""
    lines = []
    r, t = report["run"], report["truth"]
    if r["chosen"] is None:
        return [f"No trial completed out of {r['trials']}: nothing was chosen (see trials.csv)."]
    c = r["chosen"]
    chosen = f"Fourier order {c['yearly_seasonality']}, l_max {c['l_max']}, {c['adstock']} adstock, {c['saturation']} saturation"
    lines.append(f"Chosen: {chosen}; cross-validated CRPS {_fmt(r['chosen_cv_crps'])} per week "
                 f"(target units; best of {r['trials']} trials).")
    if not t["available"]:
        lines.append(f"Truth: {t['reason']}; truth scores are not available.")
    elif "hyperparameters" in t:
        s = t["true_structure"]
        h = t["hyperparameters"]
        wrong = [k for k in HYPERPARAMETERS if not h[k]["exact"]]
        verdict = "exact match" if not wrong else "differs in " + ", ".join(wrong)
        lines.append(f"Truth:  Fourier order {s['yearly_seasonality']}, l_max {s['l_max']}, "
                     f"{s['adstock']} adstock, {s['saturation']} saturation: {verdict}.")
        if "regret" in t:
            g, o = t["regret"], t["oracle"]
            eq = "within noise: statistically equivalent to the truth" if g["equivalent"] else \
                "worse than the truth beyond noise" if g["regret"] > 0 else "better than the truth beyond noise"
            lines.append(f"Regret: {_fmt(g['regret'])} ± {_fmt(g['se'])} CRPS (chosen minus true structure, paired "
                         f"over {g['weeks']} held-out weeks): {eq}. The true structure scored "
                         f"{_fmt(o['cv_crps'])}, rank {o['rank']['rank']} of {o['rank']['of']} (1 = best).")
        elif "oracle" in t:
            lines.append(f"Regret: not available ({t['oracle'].get('reason')}).")
        if "adstock_kernels" in t:
            k = t["adstock_kernels"]
            lines.append("Adstock kernels, L1 distance to the truth (0 = same, 2 = disjoint): " + ", ".join(
                f"{ch} {_fmt(v['l1'], 3)}" for ch, v in k["channels"].items()))
    rec = report["recovery"]
    if rec.get("available"):
        parts = []
        for ch, v in rec["channels"].items():
            mark = "covers" if v["roas_covered"] else "MISSES"
            parts.append(f"{ch} {v['roas_mean']:.2f} [{v['roas_lo']:.2f}, {v['roas_hi']:.2f}] {mark} {v['roas_true']:.2f}")
        lines.append(f"ROAS, {int(rec['level'] * 100)}% intervals vs truth: " + "; ".join(parts) + ".")
    tt = report["train_test"]
    if tt.get("available"):
        lines.append(f"Train/test: CRPS {_fmt(tt['train_crps'])} on {tt['fit_range'][1] - tt['fit_range'][0]} fitted weeks, "
                     f"{_fmt(tt['test_crps'])} on {tt['test_range'][1] - tt['test_range'][0]} held-out weeks "
                     f"(ratio {_fmt(tt['ratio'], 2)}).")
    conv = report["convergence"]
    if conv.get("available"):
        full = conv["full_fit"]
        lines.append("Full-data refit: strict convergence gate " + (
            "passed." if full["strict_gate_passed"] else "FAILED: " + "; ".join(full["failures"]) + "."))
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
) -> Report:
    """Evaluate the run dir ``run`` and write the report into ``out`` (default: the run dir).

    ``data`` overrides the dataset dir the run recorded. Existing report files are replaced
    only once the new ones are complete.
    """
    from bayestune.evaluation.markdown import to_markdown

    files = RunFiles.read(run)
    ds = files.load_dataset(data)
    final = files.final
    full_path = files.path / final["full_fit"]["path"] if final else None
    full = FitPosterior.load(full_path) if full_path is not None and full_path.exists() else None

    report: dict[str, Any] = {"schema": REPORT_SCHEMA, "bayestune": __version__}
    report["run"] = _run_section(files, ds)
    report["truth"] = _truth_section(files, ds, full)
    report["recovery"] = _recovery_section(ds, full)
    report["train_test"] = train_test_section(final, files.path, max_ratio=max_gap_ratio)
    report["convergence"] = _convergence_section(final)
    report["runtime"] = runtime_section(files.trials, n_folds=files.n_folds, final=final,
                                        oracle=files.oracle, environment=files.environment)
    tt = report["train_test"]
    report["warnings"] = list(tt.get("flags", [])) + list(tt.get("warnings", []))
    oracle_failures = report["truth"].get("oracle", {}).get("gate_failures")
    if oracle_failures:
        report["warnings"].append("the true structure's search fits failed the search convergence gate ("
                                  + "; ".join(oracle_failures) + "): its CV CRPS, and the regret, carry extra MCMC noise")
    if report["convergence"].get("available") and not report["convergence"]["full_fit"]["strict_gate_passed"]:
        report["warnings"].append("the full-data refit failed the strict convergence gate: "
                                  + "; ".join(report["convergence"]["full_fit"]["failures"]))

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
