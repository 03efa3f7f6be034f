"""One SBC simulation, and the prior draws every simulation starts from.

The design (dates, spend, controls) is a scenario's simulated data at one seed and stays the
same in every simulation; so does the model, the scenario's true structure with
PyMC-Marketing's default priors. Only the target is drawn: the driver draws parameter
values and a target from the model's prior predictive (:func:`draw_prior`), and each
simulation fits the model to its target and keeps the posterior draws of every quantity
(:func:`run_simulation`).

The target is divided by a fixed scale (the scenario's largest absolute target) rather
than by each simulated target's own maximum, PyMC-Marketing's default: with the default,
the prior on every target-scale parameter (intercept, saturation ``beta``, control and
Fourier coefficients, ``sigma``) would move with the simulated data and the truth would
not be a draw from the prior the fit uses, which SBC requires.

Quantities are the scalar elements of every free parameter, named ``name[label]`` along
their dimension (``adstock_alpha[tv]``), and each channel's ROAS, ``roas[tv]``: its total
contribution over the design's weeks, in target units, over its total spend.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayestune.fileio import write_atomic

SIM_SCHEMA = "bayestune.sbc-simulation/1"


@dataclass(frozen=True)
class Design:
    """What every simulation of a calibration shares."""

    scenario: str
    seed: int
    X: pd.DataFrame
    y: pd.Series
    roles: Any
    candidate: Any
    target_scale: float
    spend: dict[str, float]

    @property
    def weeks(self) -> int:
        return len(self.X)


@lru_cache(maxsize=4)
def design(scenario: str, seed: int) -> Design:
    """The design of ``scenario`` (a preset name or a TOML path) simulated with ``seed``."""
    from bayestune.simulator import simulate
    from bayestune.simulator.dataset import ColumnRoles
    from bayestune.tuning.model import true_candidate

    sim = simulate(scenario, seed)
    roles = ColumnRoles.from_truth(sim.truth)
    data = sim.data
    spend = {c: float(data[c].sum()) for c in roles.channels}
    return Design(scenario, seed, data.drop(columns=roles.target), data[roles.target], roles,
                  true_candidate(sim.truth), float(data[roles.target].abs().max()), spend)


def _model(d: Design):
    from bayestune.tuning.model import build_mmm

    mmm = build_mmm(d.candidate, d.roles, target_scale=d.target_scale)
    mmm.build_model(d.X, d.y)
    return mmm


def quantity_names(mmm) -> list[str]:
    """The free parameters' scalar elements, then each channel's ROAS."""
    names = []
    for rv in mmm.model.free_RVs:
        dims = mmm.model.named_vars_to_dims.get(rv.name) or ()
        if not dims:
            names.append(rv.name)
        else:
            (dim,) = dims
            names += [f"{rv.name}[{label}]" for label in mmm.model.coords[dim]]
    return names + [f"roas[{c}]" for c in mmm.model.coords["channel"]]


def quantities(group, d: Design, names: list[str]) -> np.ndarray:
    """An ``(n_draws, n_quantities)`` array of ``names`` from an ArviZ group (``chain, draw`` stacked)."""
    cols = []
    for name in names:
        base, _, label = name.partition("[")
        label = label.rstrip("]")
        if base == "roas":
            cc = group["channel_contribution"].sel(channel=label)
            total = cc.sum("date") * d.target_scale
            values = total / d.spend[label]
        else:
            da = group[base]
            if label:
                (dim,) = [x for x in da.dims if x not in ("chain", "draw")]
                da = da.sel({dim: label})
            values = da
        cols.append(np.asarray(values.stack(sample=("chain", "draw")).values, dtype=float))
    return np.column_stack(cols)


def draw_prior(scenario: str, seed: int, n: int, random_seed: int) -> dict[str, Any]:
    """``n`` draws from the model's prior predictive: each quantity's value and the target.

    Returns ``names``, ``truth`` (``(n, n_quantities)``) and ``y`` (``(n, weeks)``, target
    units). PyMC draws them one after another from one generator, so the first ``k`` of
    ``n`` draws do not depend on ``n``.
    """
    import pymc as pm

    from bayestune.tuning.model import quiet_sampling

    d = design(scenario, seed)
    mmm = _model(d)
    names = quantity_names(mmm)
    with quiet_sampling():
        idata = pm.sample_prior_predictive(draws=n, model=mmm.model, random_seed=random_seed)
    truth = quantities(idata["prior"], d, names)
    y = np.asarray(idata["prior_predictive"]["y"].stack(sample=("chain", "draw")).transpose("sample", "date").values)
    return {"names": names, "truth": truth, "y": y * d.target_scale}


def sim_path(out: str | Path, index: int, suffix: str) -> Path:
    return Path(out) / "sims" / f"sim{index:04d}{suffix}"


def read_done(out: str | Path, item: dict[str, Any]) -> dict[str, Any] | None:
    """The stored result of simulation ``item`` if it finished before with the same plan."""
    try:
        done = json.loads(sim_path(out, item["index"], ".json").read_text())
    except (OSError, ValueError):
        return None
    if done.get("status") != "ok" or done.get("plan") != item["plan"]:
        return None
    if not sim_path(out, item["index"], ".npz").exists():
        return None
    return done


def run_simulation(item: dict[str, Any]) -> dict[str, Any]:
    """Fit one simulated target; write ``sims/simNNNN.{json,npz}``; never raises.

    ``item``: ``index``, ``out``, ``plan`` (scenario, design seed, fit settings), ``fit_seed``,
    ``names``, ``truth`` (one value per name) and ``y`` (the simulated target).
    """
    from bayestune.tuning.gate import diagnose
    from bayestune.tuning.model import FitSettings, fit, free_parameter_names, release

    start = time.perf_counter()
    index, out, plan = item["index"], item["out"], item["plan"]
    result: dict[str, Any] = {"schema": SIM_SCHEMA, "index": index, "plan": plan, "fit_seed": item["fit_seed"],
                              "truth": dict(zip(item["names"], item["truth"], strict=True))}
    try:
        d = design(plan["scenario"], plan["design_seed"])
        data = d.X.assign(**{d.roles.target: np.asarray(item["y"], dtype=float)})
        f = plan["fit"]
        settings = FitSettings(f["sampler"], f["draws"], f["tune"], f["chains"])
        mmm, timings = fit(d.candidate, d.roles, data, settings, item["fit_seed"], target_scale=d.target_scale)
        try:
            diag = diagnose(mmm.idata, free_parameter_names(mmm))
            draws = quantities(mmm.idata["posterior"], d, item["names"])
        finally:
            del mmm
            release()
        if not np.all(np.isfinite(draws)):
            raise FloatingPointError("the posterior draws are not finite")
        path = sim_path(out, index, ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, draws=draws, names=np.array(item["names"]))
        result |= {"status": "ok", "diagnostics": diag.to_dict(), "timings": timings.to_dict()}
    except Exception as exc:  # noqa: BLE001 - a failed simulation is recorded, not fatal
        result |= {"status": "failed", "error": f"{exc.__class__.__name__}: {exc}"[:2000],
                   "traceback": traceback.format_exc(limit=8)}
    result["seconds"] = time.perf_counter() - start
    path = sim_path(out, index, ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(result, indent=2) + "\n")
    return {k: v for k, v in result.items() if k != "traceback"}
