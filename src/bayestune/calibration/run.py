"""Run a simulation-based calibration and write what it found.

``run_calibration`` draws every simulation's truth and target from the model's prior
(:func:`~bayestune.calibration.simulation.draw_prior`), runs the simulations not already
done through an executor (in-process, process pool or Dask, as a benchmark suite's cells),
then ranks the truth among the thinned posterior draws of every quantity and writes
``calibration.json`` (``bayestune.calibration/1``), ``calibration.md`` and
``figures/sbc_ecdf.png``. Each simulation is written as it finishes, so a stopped run keeps
what it finished, and running it again runs only what is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bayestune import __version__
from bayestune.bench.executor import Executor, InProcess, split_done
from bayestune.calibration.simulation import design, draw_prior, read_done, run_simulation, sim_path
from bayestune.errors import BayestuneError
from bayestune.fileio import write_atomic

SCHEMA = "bayestune.calibration/1"
PLAN_FILE = "plan.json"
PRIOR_FILE = "prior.npz"
RESULT_FILE = "calibration.json"
MARKDOWN_FILE = "calibration.md"
FIGURE = "figures/sbc_ecdf.png"
PRIOR_POOL = 1000
"""At least this many prior draws estimate each quantity's prior variance (for contraction)."""
TARGET_DRAWS = 100
"""The automatic thinning keeps about this many draws per fit for the ranks."""


@dataclass(frozen=True)
class CalibrationSettings:
    """How each simulated target is fitted, and how the ranks are read."""

    sims: int = 100
    seed: int = 0
    design_seed: int = 0
    sampler: str = "numpyro"
    draws: int = 500
    tune: int = 500
    chains: int = 2
    thin: int | None = None
    level: float = 0.95

    def check(self) -> None:
        for name in ("sims", "draws", "tune", "chains"):
            if getattr(self, name) < 1:
                raise BayestuneError("must be at least 1", f"--{name}")
        if self.sims < 2:
            raise BayestuneError("SBC needs at least 2 simulations (about 100 to read the ranks)", "--sims")
        if self.thin is not None and not 1 <= self.thin <= self.draws * self.chains:
            raise BayestuneError(f"must lie in 1..{self.draws * self.chains} (draws x chains)", "--thin")
        if not 0 < self.level < 1:
            raise BayestuneError("must lie strictly between 0 and 1", "--level")
        for name in ("seed", "design_seed"):
            if getattr(self, name) < 0:
                raise BayestuneError("must be non-negative", f"--{name.replace('_', '-')}")
        from bayestune.tuning.backends import sampler_problem

        problem = sampler_problem(self.sampler)
        if problem:
            raise BayestuneError(problem, "--sampler")

    @property
    def n_draws(self) -> int:
        return self.draws * self.chains

    @property
    def thinning(self) -> int:
        return self.thin or max(1, math.ceil(self.n_draws / TARGET_DRAWS))

    @property
    def kept(self) -> int:
        """L, the draws per fit the ranks are taken among."""
        return math.ceil(self.n_draws / self.thinning)


def fit_seed(seed: int, index: int) -> int:
    """The MCMC seed of simulation ``index``."""
    return int(np.random.SeedSequence([seed, index, 7]).generate_state(1)[0])


def _plan(scenario: str, s: CalibrationSettings) -> dict[str, Any]:
    """What a simulation's result depends on; stored results are reused only when it is unchanged."""
    return {"scenario": scenario, "design_seed": s.design_seed, "seed": s.seed,
            "fit": {"sampler": s.sampler, "draws": s.draws, "tune": s.tune, "chains": s.chains}}


def _check_out(out: Path, plan: dict[str, Any]) -> None:
    path = out / PLAN_FILE
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = None
        if old != plan:
            changed = sorted(k for k in plan if not old or old.get(k) != plan[k])
            raise BayestuneError(
                f"the output dir holds a calibration with other settings ({', '.join(changed) or 'unreadable plan'}); "
                "use a new --out or the same settings to resume", str(out))
    elif out.exists() and any(out.iterdir()):
        raise BayestuneError("output directory is not empty and holds no calibration", str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BayestuneError(f"cannot create the output dir: {exc.strerror or exc}", str(out)) from None
    write_atomic(path, json.dumps(plan, indent=2) + "\n")


def run_calibration(
    scenario: str,
    out: str | Path,
    settings: CalibrationSettings = CalibrationSettings(),
    executor: Executor | None = None,
    *,
    progress: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Run (or resume) the calibration of ``scenario``'s true structure; return the payload."""
    from bayestune.simulator import resolve_scenario

    settings.check()
    resolve_scenario(scenario)  # a bad scenario fails here, before any work
    out = Path(out)
    plan = _plan(scenario, settings)
    _check_out(out, plan)
    executor = executor or InProcess()
    say = progress or (lambda _line: None)
    started = dt.datetime.now(dt.UTC)
    prior = _prior(out, scenario, settings)
    items = [{"index": i, "out": str(out), "plan": plan, "fit_seed": fit_seed(settings.seed, i),
              "names": prior["names"], "truth": prior["truth"][i].tolist(), "y": prior["y"][i].tolist()}
             for i in range(settings.sims)]
    done, todo = split_done(items, partial(read_done, out))
    results = {item["index"]: result for item, result in done}
    d = design(scenario, settings.design_seed)
    say(f"calibrate {Path(scenario).stem!r} (true structure: Fourier {d.candidate.yearly_seasonality}, "
        f"l_max {d.candidate.l_max}, {d.candidate.adstock}, {d.candidate.saturation}; {d.weeks} weeks): "
        f"{settings.sims} simulations ({len(results)} already done), {executor.name}; results in {out}")
    for n, (item, result) in enumerate(executor.map_unordered(run_simulation, todo), start=1):
        results[item["index"]] = result
        line = (f"{result.get('seconds', 0):.0f} s" if result["status"] == "ok"
                else f"FAILED: {result.get('error', '?')}")
        say(f"[{n}/{len(todo)}] simulation {item['index']}: {line}")
    payload = summarise(out, scenario, settings, prior, [results[i] for i in sorted(results)], executor.name,
                        (dt.datetime.now(dt.UTC) - started).total_seconds())
    write_outputs(out, payload, settings)
    return payload


def _prior(out: Path, scenario: str, settings: CalibrationSettings) -> dict[str, Any]:
    """The prior draws, from ``prior.npz`` when an earlier run with this plan drew enough."""
    path = out / PRIOR_FILE
    n = max(settings.sims, PRIOR_POOL)
    try:
        with np.load(path) as f:
            if f["truth"].shape[0] >= n:
                return {"names": f["names"].tolist(), "truth": f["truth"], "y": f["y"]}
    except (OSError, ValueError, KeyError):
        pass
    prior = draw_prior(scenario, settings.design_seed, n, settings.seed)
    tmp = path.with_name(".prior.tmp.npz")
    np.savez_compressed(tmp, names=np.array(prior["names"]), truth=prior["truth"], y=prior["y"])
    tmp.replace(path)
    return prior


def _prior_variance(prior: dict[str, Any]) -> dict[str, float]:
    return {name: float(np.var(prior["truth"][:, k], ddof=1)) for k, name in enumerate(prior["names"])}


def summarise(out: Path, scenario: str, settings: CalibrationSettings, prior: dict[str, Any],
              results: list[dict[str, Any]], executor: str, seconds: float) -> dict[str, Any]:
    """Rank, test and score every quantity over the simulations that finished."""
    from bayestune.evaluation.sbc import sbc_ranks, sbc_summary
    from bayestune.tuning.environment import environment

    names = prior["names"]
    ok = [r for r in results if r["status"] == "ok"]
    payload: dict[str, Any] = {
        "schema": SCHEMA, "bayestune": __version__, "plan": _plan(scenario, settings),
        "thin": settings.thinning, "n_draws": settings.kept,
        "level": settings.level, "executor": executor, "environment": environment(settings.sampler),
        "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "simulations": {"requested": settings.sims, "ok": len(ok), "failed": len(results) - len(ok),
                        "errors": sorted({r.get("error", "?") for r in results if r["status"] != "ok"})},
        "quantities": {}, "fits": {}, "figure": None,
    }
    d = design(scenario, settings.design_seed)
    payload["design"] = {"scenario": Path(scenario).stem, "seed": settings.design_seed, "weeks": d.weeks,
                         "structure": d.candidate.to_dict(), "channels": list(d.roles.channels),
                         "controls": list(d.roles.controls), "target_scale": d.target_scale}
    if len(ok) < 2:
        return payload
    truth = {n: np.array([r["truth"][n] for r in ok]) for n in names}
    stacked = np.stack([np.load(sim_path(out, r["index"], ".npz"))["draws"] for r in ok], axis=-1)
    draws = {n: stacked[:, k, :] for k, n in enumerate(names)}
    payload["quantities"] = sbc_summary(truth, draws, _prior_variance(prior), thin=settings.thinning,
                                        level=settings.level, seed=settings.seed)
    payload["ranks"] = {n: sbc_ranks(truth[n], draws[n], settings.thinning, settings.seed).tolist() for n in names}
    diags = [r["diagnostics"] for r in ok]
    fit_seconds = [sum(r["timings"].values()) for r in ok]
    payload["fits"] = {
        "with_divergences": sum(dg["divergence_rate"] > 0 for dg in diags),
        "median_divergence_rate": float(np.median([dg["divergence_rate"] for dg in diags])),
        "max_rhat": float(max(dg["max_rhat"] for dg in diags)),
        "rhat_over_1_01": sum(dg["max_rhat"] > 1.01 for dg in diags),
        "median_min_ess_bulk": float(np.median([dg["min_ess_bulk"] for dg in diags])),
        "median_seconds": float(np.median(fit_seconds)),
        "total_fit_seconds": float(np.sum(fit_seconds)),
        "wall_seconds": seconds,
    }
    payload["simulation_results"] = [{k: r.get(k) for k in ("index", "status", "fit_seed", "seconds", "error")}
                                     | {"divergence_rate": (r.get("diagnostics") or {}).get("divergence_rate")}
                                     for r in results]
    return payload


def write_outputs(out: Path, payload: dict[str, Any], settings: CalibrationSettings) -> None:
    from bayestune.calibration.report import markdown
    from bayestune.evaluation.sbc import plot_sbc_ecdf

    if payload.get("ranks"):
        plot_sbc_ecdf(payload["ranks"], payload["n_draws"], out / FIGURE, level=settings.level, seed=settings.seed)
        payload["figure"] = FIGURE
    write_atomic(out / RESULT_FILE, json.dumps(payload, indent=2) + "\n")
    write_atomic(out / MARKDOWN_FILE, markdown(payload))
