"""Many fits of one structure in one JAX program: NUTS vectorised over windows and seeds.

``pm.sample(nuts_sampler="numpyro")`` compiles one program per fit, with the window's data
baked in as constants. Here PyMC-Marketing's own log density (``model.logp(sum=False)``:
every prior term with its Jacobian, and the likelihood week by week) is turned into one JAX
function that takes the data as arguments. Windows of different lengths are padded to the
longest with the weeks that follow them in the series, and a mask drops the padded weeks from
the likelihood: adstock only looks back, so the fitted weeks' mean is unchanged by what
follows, and each window keeps its own scales (PyMC-Marketing derives them from the fitted
weeks only). One ``jax.vmap`` then runs numpyro's NUTS (window adaptation, diagonal mass
matrix, target acceptance 0.8, as ``pm.sample`` sets it) for every window and chain at once.

A vectorised NUTS step lasts as long as its longest trajectory in the batch, so whether this
is faster than separate fits is a measurement (``benchmarks/batched_fits.py``), not a given:
nothing defaults to it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayestune.simulator.dataset import ColumnRoles
from bayestune.tuning.compiled import window_data

SERIES_DATA = ("channel_data", "target_data", "control_data", "dayofyear")
"""The model's week-indexed data, padded along weeks; the rest (the scales) are per window."""


@dataclass
class BatchedDensity:
    """PyMC-Marketing's log density of one structure, with the window's data as arguments.

    ``logp(params, data, mask)`` takes the unconstrained parameters by value-variable name
    (``adstock_alpha_logodds__``, ...), the model's data by name and a boolean mask over
    weeks, and returns the log density with the masked weeks left out of the likelihood.
    """

    logp: Any
    value_names: list[str]
    data_names: list[str]
    initial_point: dict[str, np.ndarray]
    _programs: dict[tuple, Any] = field(default_factory=dict, repr=False)

    def logp_batch(self, params: dict[str, Any], data: dict[str, Any], mask: Any) -> Any:
        """``logp`` vectorised over a leading axis of every argument."""
        import jax

        return jax.vmap(self.logp)(params, data, mask)


def batched_density(model: Any) -> BatchedDensity:
    """The log density of a built MMM (``mmm.build_model`` done) as a JAX function of its data.

    The graph is the model's own: its ``pm.Data`` variables are replaced by inputs
    (``graph_replace``) before PyMC turns it into JAX (``get_jaxified_graph``), which would
    otherwise bake them in as constants.
    """
    import pytensor.tensor as pt
    from pymc.sampling.jax import get_jaxified_graph
    from pytensor.graph.replace import graph_replace

    (observed,) = model.observed_RVs
    prior_terms, likelihood = [], None
    for rv, term in zip(model.basic_RVs, model.logp(sum=False), strict=True):
        term = term.values if hasattr(term, "values") else term  # labelled tensors to plain ones
        if rv is observed:
            likelihood = term
        else:
            prior_terms.append(term.sum())
    mask = pt.vector("mask", dtype="bool")
    total = pt.add(*prior_terms) + pt.switch(mask, likelihood, 0.0).sum()
    data_in = {dv: dv.type(name=dv.name) for dv in model.data_vars}
    (total,) = graph_replace([total], data_in, strict=False)
    values = list(model.value_vars)
    fn = get_jaxified_graph(inputs=[*values, *data_in.values(), mask], outputs=[total])
    value_names = [v.name for v in values]
    data_names = [v.name for v in data_in.values()]

    def logp(params: dict[str, Any], data: dict[str, Any], mask: Any) -> Any:
        (out,) = fn(*(params[n] for n in value_names), *(data[n] for n in data_names), mask)
        return out

    return BatchedDensity(logp, value_names, data_names, model.initial_point())


def padded_windows(columns: ColumnRoles, frame: pd.DataFrame,
                   ends: Sequence[int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The data of the windows ``frame[:end]`` for each end, padded to the longest, and the mask.

    Returns the model's data stacked over windows (``(windows, weeks, ...)`` for the series,
    ``(windows, ...)`` for the scales) and a boolean ``(windows, weeks)`` mask of the fitted
    weeks. Each window's scales are its own; its padding is the weeks of ``frame`` that follow
    it, so every padded value is a real, finite one (the likelihood of masked weeks is
    computed, then dropped). The same end may repeat (replicate fits of one window).
    """
    longest = max(ends)
    if min(ends) < 1 or longest > len(frame):
        raise ValueError(f"window ends must lie in 1..{len(frame)}, got {list(ends)}")
    series = window_data(columns, frame.iloc[:longest])
    stacked: dict[str, list[np.ndarray]] = {}
    for end in ends:
        own = window_data(columns, frame.iloc[:end])
        for name, value in own.items():
            stacked.setdefault(name, []).append(series[name] if name in SERIES_DATA else value)
    data = {name: np.stack(values) for name, values in stacked.items()}
    mask = np.arange(longest)[None, :] < np.asarray(ends)[:, None]
    return data, mask


def _program(density: BatchedDensity, tune: int, draws: int) -> Any:
    """Warm-up and sampling of NUTS for one chain, vectorised over chains (all fits'), jitted."""
    import jax
    from numpyro.infer.hmc import hmc

    def run(data: dict[str, Any], mask: Any, init: dict[str, Any], key: Any) -> tuple[Any, Any, Any]:
        init_kernel, sample_kernel = hmc(potential_fn_gen=lambda d, m: lambda p: -density.logp(p, d, m), algo="NUTS")
        args = (data, mask)
        state = init_kernel(init, num_warmup=tune, target_accept_prob=0.8, dense_mass=False,
                            model_args=args, rng_key=key)
        state = jax.lax.fori_loop(0, tune, lambda _, s: sample_kernel(s, model_args=args), state)

        def step(s: Any, _: Any) -> tuple[Any, tuple[Any, Any, Any]]:
            s = sample_kernel(s, model_args=args)
            return s, (s.z, s.diverging, s.num_steps)

        _, out = jax.lax.scan(step, state, None, length=draws)
        return out

    return jax.jit(jax.vmap(run))


@dataclass
class BatchedDraws:
    """Draws of every fit: ``posterior[name]`` is ``(fits, chains, draws, ...)`` (unconstrained).

    ``compile_seconds`` is 0 when the program was compiled by an earlier call; the ``cpu``
    seconds are the process's CPU time over the same spans (a shared machine stretches wall
    time, much less CPU time).
    """

    posterior: dict[str, np.ndarray]
    diverging: np.ndarray
    num_steps: np.ndarray
    compile_seconds: float
    sample_seconds: float
    compile_cpu_seconds: float
    sample_cpu_seconds: float


def sample(density: BatchedDensity, data: dict[str, np.ndarray], mask: np.ndarray, *, tune: int, draws: int,
           chains: int, seed: int) -> BatchedDraws:
    """Fit every window of ``data``/``mask`` (from :func:`padded_windows`) with ``chains`` chains each.

    One program per (``tune``, ``draws``, fits x chains, weeks) is compiled ahead of time on
    first use and kept on ``density``; chains start, as in ``pm.sample``, from the model's
    initial point jittered uniformly within ±1 on the unconstrained scale.
    """
    import jax

    fits = mask.shape[0]
    rng = np.random.default_rng(seed)
    init = {n: np.asarray(v)[None] + rng.uniform(-1.0, 1.0, (fits * chains, *np.shape(v)))
            for n, v in density.initial_point.items()}
    args = ({n: np.repeat(v, chains, axis=0) for n, v in data.items()}, np.repeat(mask, chains, axis=0), init,
            jax.random.split(jax.random.key(seed), fits * chains))
    key = (tune, draws, fits * chains, mask.shape[1])
    compiled = compiled_cpu = 0.0
    if key not in density._programs:
        start, cpu = time.perf_counter(), time.process_time()
        density._programs[key] = _program(density, tune, draws).lower(*args).compile()
        compiled, compiled_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    z, diverging, steps = jax.block_until_ready(density._programs[key](*args))
    sampled, sampled_cpu = time.perf_counter() - start, time.process_time() - cpu
    posterior = {n: np.asarray(v).reshape(fits, chains, draws, *np.shape(v)[2:]) for n, v in z.items()}
    return BatchedDraws(posterior, np.asarray(diverging).reshape(fits, chains, draws),
                        np.asarray(steps).reshape(fits, chains, draws), compiled, sampled, compiled_cpu,
                        sampled_cpu)
