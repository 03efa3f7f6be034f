"""K fits in one vectorised JAX program against K fits one after another, side by side in one process.

``python benchmarks/batched_fits.py --out DIR`` takes the true structure of ``quickstart``
(seed 0; 78 weeks, 16 final test weeks kept out) and, per configuration, fits the same K
windows three ways, 300 tuning steps and 300 draws on 2 chains each, in this order:

- ``batched``: :mod:`bayestune.tuning.batched`, PyMC-Marketing's log density with the data as
  arguments, windows padded to the longest and masked, numpyro's NUTS vmapped over all
  K x 2 chains in one program (compiled ahead of time per shape; compile seconds apart);
- ``nutpie, sequential``: the ``pymc-marketing-nutpie`` fitter, one fit per window (its
  default low-rank mass matrix; the program is compiled once per structure, on the first
  fit of the run, and reused by every later configuration);
- ``numpyro, sequential``: the default fitter (``pm.sample(nuts_sampler="numpyro")`` through
  PyMC-Marketing), one fit per window, each compiling its own program.

Configurations: the rolling-origin folds of a search with K = 2, 4 (8 weeks apart) and 8
(4 weeks apart) folds, and K = 4 replicate seeds of one 54-week window (same shape as the
4 folds, so the batched path reuses their program). Per path: wall seconds with and without
compilation, fits per second, each fit's smallest bulk ESS over the free parameters (rank
based, so the unconstrained draws of the batched path give the constrained parameters' ESS),
their sum per second, the worst R-hat and the divergence rate. The batched path runs on the
CPU; where JAX sees a GPU it runs there too, otherwise its GPU rows say "not measured (no
GPU)". Writes ``batched_fits.json`` and ``batched_fits.md``. A timing on a shared machine is
noisy: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

PRESET, SEED, TEST_WEEKS, MIN_TRAIN = "quickstart", 0, 16, 30
DRAWS, TUNE, CHAINS = 300, 300, 2
CONFIGS = [
    # name, folds, horizon (None: replicates of one window of ``horizon`` weeks)
    ("2 folds", 2, 8),
    ("4 folds", 4, 8),
    ("4 replicates of one window", 4, None),
    ("8 folds", 8, 4),
]
REPLICATE_WEEKS = 54
NO_GPU = "not measured (no GPU)"


def _ends(n_weeks: int, folds: int, horizon: int | None) -> list[int]:
    from bayestune.tuning.folds import search_folds

    if horizon is None:
        return [REPLICATE_WEEKS] * folds
    return [f.train_end for f in search_folds(n_weeks, folds=folds, horizon=horizon, test_weeks=TEST_WEEKS,
                                              min_train=MIN_TRAIN)]


def _summary(path: str, device: str, diags: list[Any], seconds: float, compile_seconds: float,
             cpu_seconds: float) -> dict[str, Any]:
    ess = [d.min_ess_bulk for d in diags]
    included = seconds + compile_seconds
    return {"path": path, "device": device, "fits": len(diags), "seconds": seconds, "compile_seconds": compile_seconds,
            "cpu_seconds_compile_included": cpu_seconds,
            "fits_per_second": len(diags) / seconds, "fits_per_second_compile_included": len(diags) / included,
            "fits_per_cpu_second_compile_included": len(diags) / cpu_seconds,
            "min_ess_bulk": ess, "ess_per_second": sum(ess) / seconds,
            "ess_per_second_compile_included": sum(ess) / included,
            "max_rhat": max(d.max_rhat for d in diags),
            "divergence_rate": float(np.mean([d.divergence_rate for d in diags]))}


def _batched(density: Any, columns: Any, frame: Any, ends: list[int], seed: int, device: str) -> dict[str, Any]:
    import jax
    import xarray as xr

    from bayestune.tuning.batched import padded_windows, sample
    from bayestune.tuning.gate import diagnose

    data, mask = padded_windows(columns, frame, ends)
    with jax.default_device(jax.devices(device)[0]):
        out = sample(density, data, mask, tune=TUNE, draws=DRAWS, chains=CHAINS, seed=seed)
    diags = []
    for k in range(len(ends)):
        posterior = xr.Dataset({n: (("chain", "draw", *(f"{n}_dim_{i}" for i in range(v.ndim - 3))), v[k])
                                for n, v in out.posterior.items()})
        stats = xr.Dataset({"diverging": (("chain", "draw"), out.diverging[k])})
        diags.append(diagnose(SimpleNamespace(posterior=posterior, sample_stats=stats), density.value_names))
    return _summary("batched (one vmapped program)", device, diags, out.sample_seconds, out.compile_seconds,
                    out.sample_cpu_seconds + out.compile_cpu_seconds)


def _sequential(path: str, fitter: Any, candidate: Any, columns: Any, frame: Any, ends: list[int], seed: int,
                compiled: tuple[float, float] | None = None) -> dict[str, Any]:
    """K fits one after another; ``compiled``: the (wall, CPU) seconds of a program compiled
    beforehand for all of them (nutpie's), added to the compile-included figures."""
    from bayestune.tuning.model import FitSettings

    settings = FitSettings("numpyro", DRAWS, TUNE, CHAINS)
    diags, seconds, compile_seconds, cpu = [], 0.0, 0.0, 0.0
    for k, end in enumerate(ends):
        start, cpu_start = time.perf_counter(), time.process_time()
        fitted, timings = fitter.fit(candidate, columns, frame.iloc[:end], settings, seed + k)
        seconds += time.perf_counter() - start - timings.compile
        cpu += time.process_time() - cpu_start
        compile_seconds += timings.compile
        diags.append(fitter.diagnose(fitted))
        del fitted
        fitter.release()
    if compiled is not None:
        compile_seconds, cpu = compile_seconds + compiled[0], cpu + compiled[1]
    return _summary(path, "cpu", diags, seconds, compile_seconds, cpu)


def measure() -> list[dict[str, Any]]:
    import jax

    from bayestune.simulator import simulate
    from bayestune.simulator.dataset import ColumnRoles
    from bayestune.tuning.batched import batched_density
    from bayestune.tuning.compiled import ProgramCache
    from bayestune.tuning.fitters import resolve_fitter
    from bayestune.tuning.fitters.pymc_marketing_nutpie import PyMCMarketingNutpieFitter
    from bayestune.tuning.model import build_mmm, quiet_sampling, true_candidate

    sim = simulate(PRESET, SEED)
    columns = ColumnRoles.from_truth(sim.truth)
    candidate = true_candidate(sim.truth)
    frame = sim.data
    try:
        gpu = bool(jax.devices("gpu"))
    except RuntimeError:
        gpu = False

    start = time.perf_counter()
    mmm = build_mmm(candidate, columns)
    with quiet_sampling():
        mmm.build_model(frame.drop(columns=columns.target), frame[columns.target])
    density = batched_density(mmm.model)
    density_seconds = time.perf_counter() - start
    nutpie, numpyro = PyMCMarketingNutpieFitter(ProgramCache()), resolve_fitter("pymc-marketing")

    def build() -> Any:
        built = build_mmm(candidate, columns)
        with quiet_sampling():
            built.build_model(frame.drop(columns=columns.target), frame[columns.target])
        return built

    start, cpu = time.perf_counter(), time.process_time()
    nutpie.programs.get((candidate, columns), build)  # once per structure, before any fit
    nutpie_compiled = (time.perf_counter() - start, time.process_time() - cpu)

    rows = []
    for name, folds, horizon in CONFIGS:
        ends = _ends(len(frame), folds, horizon)
        seed = 100 * folds + (horizon or 0)
        results = [_batched(density, columns, frame, ends, seed, "cpu")]
        if gpu:
            results.append(_batched(density, columns, frame, ends, seed, "gpu"))
        results.append(_sequential("nutpie, sequential", nutpie, candidate, columns, frame, ends, seed,
                                   nutpie_compiled))
        results.append(_sequential("numpyro, sequential (default fitter)", numpyro, candidate, columns, frame, ends,
                                   seed))
        for r in results:
            rows.append({"config": name, "windows": ends, **r})
            print(f"{name:28s} {r['path']:38s} {r['device']:4s} {r['seconds']:6.1f} s "
                  f"(+{r['compile_seconds']:5.1f} compile) ESS {[round(e) for e in r['min_ess_bulk']]}",
                  file=sys.stderr)
        if not gpu:
            rows.append({"config": name, "windows": ends, "path": "batched (one vmapped program)", "device": "gpu",
                         "fits": len(ends), "not_measured": NO_GPU})
    return rows, density_seconds, nutpie_compiled[0], gpu


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}"


def markdown(rows: list[dict[str, Any]], density_seconds: float) -> str:
    lines = ["| configuration | path | device | fits | s (compile excl.) | compile s | fits/s excl. | fits/s incl. "
             "| CPU s incl. | fits per CPU s incl. | smallest bulk ESS per fit | sum ESS/s excl. | sum ESS/s incl. "
             "| worst R-hat | divergent |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "not_measured" in r:
            lines.append(f"| {r['config']} | {r['path']} | {r['device']} | {r['fits']} | {r['not_measured']} "
                         "| | | | | | | | | | |")
            continue
        lines.append(f"| {r['config']} | {r['path']} | {r['device']} | {r['fits']} | {r['seconds']:.1f} "
                     f"| {r['compile_seconds']:.1f} | {r['fits_per_second']:.3f} "
                     f"| {r['fits_per_second_compile_included']:.3f} | {r['cpu_seconds_compile_included']:.1f} "
                     f"| {r['fits_per_cpu_second_compile_included']:.3f} "
                     f"| {', '.join(f'{e:.0f}' for e in r['min_ess_bulk'])} | {r['ess_per_second']:.1f} "
                     f"| {r['ess_per_second_compile_included']:.1f} | {r['max_rhat']:.3f} "
                     f"| {r['divergence_rate']:.4f} |")
    lines += ["", "Ratios, batched (CPU) over each sequential path, same configuration "
              "(fits per second: compile excluded / included / per CPU second, compile included):", "",
              "| configuration | over nutpie | over numpyro |", "|---|---|---|"]
    for config in dict.fromkeys(r["config"] for r in rows):
        by = {r["path"]: r for r in rows if r["config"] == config and r["device"] == "cpu"}
        b = by["batched (one vmapped program)"]
        cells = []
        for other in ("nutpie, sequential", "numpyro, sequential (default fitter)"):
            o = by[other]
            cells.append(f"{_ratio(b['fits_per_second'], o['fits_per_second'])} / "
                         f"{_ratio(b['fits_per_second_compile_included'], o['fits_per_second_compile_included'])} / "
                         f"{_ratio(b['fits_per_cpu_second_compile_included'], o['fits_per_cpu_second_compile_included'])}")
        lines.append(f"| {config} | {cells[0]} | {cells[1]} |")
    lines += ["", f"Turning PyMC-Marketing's graph into the batched JAX log density took {density_seconds:.1f} s "
              "once (not in the compile column). The nutpie fitter's program is compiled once per structure, "
              "before the first configuration; every nutpie row adds those same compile seconds (wall and CPU) "
              "to its compile-included figures, as if the K fits were all the structure ever needed. The "
              "batched path compiles once per shape (fits x chains, weeks): the 4 replicates reuse the "
              "program of the 4 folds. The default fitter compiles within every fit: its compile column is "
              "each fit's wall time less PyMC's sampling time (the JAX program, and the deterministics "
              "computed after sampling), its excluded column the build and sampling."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for batched_fits.json and batched_fits.md")
    args = parser.parse_args(argv)
    from bayestune.tuning.environment import package_versions

    start = time.perf_counter()
    rows, density_seconds, nutpie_seconds, gpu = measure()
    meta = {"cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "packages": package_versions(), "preset": PRESET, "seed": SEED, "draws": DRAWS, "tune": TUNE,
            "chains": CHAINS, "gpu": gpu, "density_seconds": density_seconds,
            "nutpie_compile_seconds": nutpie_seconds,
            "total_seconds": time.perf_counter() - start}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batched_fits.json").write_text(json.dumps({"environment": meta, "rows": rows}, indent=2) + "\n")
    (args.out / "batched_fits.md").write_text(markdown(rows, density_seconds))
    print(markdown(rows, density_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
