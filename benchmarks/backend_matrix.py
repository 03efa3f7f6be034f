"""The backend × device matrix: what one MMM fit costs per sampler backend and device.

``python benchmarks/backend_matrix.py --out DIR`` fits the true structure of ``seed-blog``
(seed 0; 104 weeks, 4 channels, 2 controls; the first 80 weeks) with 500 tuning steps and
500 draws on 2 chains, twice in a fresh process per cell: the first fit pays compilation, the
second shows the cost of a later trial of the same structure. Cells: every backend on CPU,
and, when JAX sees a GPU, numpyro on the GPU with sequential ("parallel" on one device) and
vectorised chains. A backend that is not installed is reported as such. Writes
``backend_matrix.json`` and ``backend_matrix.md``; GPU rows without a GPU say
"not measured (no GPU)", never a number.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SETTINGS = {"preset": "seed-blog", "seed": 0, "fit_weeks": 80, "draws": 500, "tune": 500, "chains": 2}
CPU_CELLS = [("numpyro", "parallel"), ("numpyro", "vectorized"), ("pymc", None), ("nutpie", None), ("blackjax", None)]
GPU_CELLS = [("numpyro", "parallel"), ("numpyro", "vectorized"), ("blackjax", None)]
BACKEND_MODULE = {"numpyro": "numpyro", "pymc": "pymc", "nutpie": "nutpie", "blackjax": "blackjax"}


def prepare(sampler: str, chain_method: str | None = None) -> dict[str, Any]:
    """The cell's data (the first ``fit_weeks`` weeks), column roles, candidate and fit settings."""
    from bayestune.simulator import simulate
    from bayestune.simulator.dataset import ColumnRoles
    from bayestune.tuning.model import FitSettings, true_candidate

    sim = simulate(SETTINGS["preset"], SETTINGS["seed"])
    kwargs = {"chain_method": chain_method} if chain_method else {}
    return {"sim": sim, "roles": ColumnRoles.from_truth(sim.truth), "candidate": true_candidate(sim.truth),
            "data": sim.data.iloc[: SETTINGS["fit_weeks"]],
            "settings": FitSettings(sampler, SETTINGS["draws"], SETTINGS["tune"], SETTINGS["chains"], kwargs)}


def fit_once(cell: dict[str, Any], seed: int) -> tuple[Any, dict[str, float]]:
    """One fit of the cell's model: the fitted MMM and its timings (``wall`` included)."""
    from bayestune.tuning.model import fit

    start = time.perf_counter()
    mmm, timings = fit(cell["candidate"], cell["roles"], cell["data"], cell["settings"], seed=seed)
    return mmm, timings.to_dict() | {"wall": time.perf_counter() - start}


def one_cell(sampler: str, chain_method: str | None, device: str, n_fits: int = 2) -> dict[str, Any]:
    """``n_fits`` fits (2: first and later; 1: first only) in this process (a fresh one per cell)."""
    import importlib.util

    if importlib.util.find_spec(BACKEND_MODULE[sampler]) is None:
        return {"status": f"not measured ({sampler} is not installed)"}
    from bayestune.tuning.gate import diagnose
    from bayestune.tuning.model import free_parameter_names

    cell = prepare(sampler, chain_method)
    fits = []
    for i in range(n_fits):
        mmm, timings = fit_once(cell, seed=i)
        print("FIT", i, json.dumps(timings), file=sys.stderr, flush=True)
        diag = diagnose(mmm.idata, free_parameter_names(mmm))
        fits.append(timings | {"min_ess_bulk": diag.min_ess_bulk,
                               "ess_per_second": diag.min_ess_bulk / timings["sample"]})
        del mmm
    from bayestune.tuning.environment import jax_devices

    return {"status": "measured", "jax_devices": jax_devices(),
            "first_fit": fits[0]} | ({"later_fit": fits[1]} if n_fits > 1 else {})


def serve(sampler: str, chain_method: str | None = None) -> None:
    """Fit on request, for ``test_backends.py``: one fresh process per backend, driven over pipes.

    Prints ``READY {json}`` once imported and prepared and again once a fit's model is freed,
    reads one line per fit (``fit SEED``), fits, and answers ``FIT {json}`` (the fit's
    timings) as soon as the fit returns. Ends at end of input.
    """
    import gc

    from bayestune.tuning.environment import jax_devices

    cell = prepare(sampler, chain_method)
    ready = "READY " + json.dumps({"jax_devices": jax_devices()})
    print(ready, flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] != ["fit"]:
            continue
        mmm, timings = fit_once(cell, seed=int(words[1]))
        print("FIT " + json.dumps(timings), flush=True)
        del mmm
        gc.collect()
        print(ready, flush=True)


def _gpu_available() -> bool:
    out = subprocess.run([sys.executable, "-c", "import jax; print(any(d.platform == 'gpu' or d.platform == 'cuda' "
                          "for d in jax.devices()))"], capture_output=True, text=True,
                         env=os.environ | {"JAX_PLATFORMS": ""})
    return out.stdout.strip().endswith("True")


def _run_cell(sampler: str, chain_method: str | None, device: str, timeout: float,
              n_fits: int = 2) -> dict[str, Any]:
    env = os.environ | {"JAX_PLATFORMS": "cpu" if device == "cpu" else "cuda"}
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import backend_matrix as b; "
            f"print('RESULT', json.dumps(b.one_cell({sampler!r}, {chain_method!r}, {device!r}, {n_fits})))")
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr or b""
        err = err.decode(errors="replace") if isinstance(err, bytes) else err
        done = [json.loads(ln.split(" ", 2)[2]) for ln in err.splitlines() if ln.startswith("FIT ")]
        return {"status": f"failed (over {timeout:.0f} s)"} | ({"first_fit": done[0]} if done else {})
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    return {"status": "failed: " + last_error(proc.stderr)[:300]}


def last_error(stderr: str) -> str:
    """The last ``SomethingError: ...`` line of a traceback (JAX appends a note after it)."""
    lines = stderr.strip().splitlines() or ["no output"]
    return ([ln for ln in lines if re.match(r"^[\w.]+(Error|Exception)\b", ln)] or lines)[-1]


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("jax", "numpyro", "pymc", "pymc-marketing", "nutpie", "blackjax"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def _markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [f"# Backend × device matrix ({meta['when']})", "",
             f"One fit of the true structure of `{SETTINGS['preset']}` (seed {SETTINGS['seed']}, first "
             f"{SETTINGS['fit_weeks']} weeks), {SETTINGS['tune']} tuning steps + {SETTINGS['draws']} draws × "
             f"{SETTINGS['chains']} chains, in a fresh process: the first fit, then a later one. Host: "
             f"{meta['cores']} CPU cores; GPU: {meta['gpu'] or 'none'}. Seconds.", "",
             "| backend | chains | device | status | first: compile | first: sample | first: ESS/s | later: compile | "
             "later: sample | later: ESS/s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        f, g = r.get("first_fit", {}), r.get("later_fit", {})

        def n(d, k):
            return f"{d[k]:.1f}" if k in d else ""

        lines.append(f"| {r['sampler']} | {r['chain_method'] or 'default'} | {r['device']} | {r['status']} | "
                     f"{n(f, 'compile')} | {n(f, 'sample')} | {n(f, 'ess_per_second')} | {n(g, 'compile')} | "
                     f"{n(g, 'sample')} | {n(g, 'ess_per_second')} |")
    if meta.get("versions"):
        lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per cell")
    p.add_argument("--only", choices=("cpu", "gpu"), help="run one device's cells only")
    p.add_argument("--fits", type=int, choices=(1, 2), default=2,
                   help="fits per cell: 2 (first and later) or 1 (the first only)")
    p.add_argument("--cells", help="comma-separated SAMPLER[:CHAINS] to run, e.g. numpyro:vectorized")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    gpu = _gpu_available()
    gpu_name = None
    if gpu:
        out = subprocess.run([sys.executable, "-c", "import jax; print(jax.devices()[0].device_kind)"],
                             capture_output=True, text=True)
        gpu_name = out.stdout.strip()
    results = []
    cells = ([("cpu", c) for c in CPU_CELLS] if args.only != "gpu" else []) + \
            ([("gpu", c) for c in GPU_CELLS] if args.only != "cpu" else [])
    if args.cells:
        wanted = {tuple((c.split(":") + [None])[:2]) for c in args.cells.split(",")}
        cells = [(d, c) for d, c in cells if c in wanted or (c[0], None) in wanted]
    for device, (sampler, chain_method) in cells:
        if device == "gpu" and not gpu:
            result = {"status": "not measured (no GPU)"}
        else:
            result = _run_cell(sampler, chain_method, device, args.timeout, args.fits)
        results.append({"sampler": sampler, "chain_method": chain_method, "device": device} | result)
        print(json.dumps(results[-1]), flush=True)
    meta = {"when": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "gpu": gpu_name, "settings": SETTINGS,
            "versions": _versions()}
    (args.out / "backend_matrix.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    (args.out / "backend_matrix.md").write_text(_markdown(results, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
