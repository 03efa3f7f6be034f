"""One compiled PyMC-Marketing MMM per structure: nutpie's sampler and a batched predictive.

``pm.sample(nuts_sampler="numpyro")`` bakes a window's data into the program it compiles, so
every fold, replicate and trial compiles again, and compiling costs more than sampling. Here
the MMM that :func:`bayestune.tuning.model.build_mmm` describes is built once per structure
and compiled once, by nutpie on numba, with its ``pm.Data`` left as data: a new window only
swaps the arrays (``with_data``), and on numba only their rank must match, so folds of other
lengths reuse the program. The log density is PyMC-Marketing's own graph, unchanged.

The sampler keeps only the free parameters (deterministics expanded at the compiled length
would not follow a window of another length). Predictions come from a second program
compiled once per structure: the model's likelihood, vectorised over a leading draw axis,
evaluated for all posterior draws in one call.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayestune.simulator.dataset import ColumnRoles

PROGRAMS_KEPT = 8
"""Structures whose programs a cache keeps (least recently used ones go first)."""


def window_data(columns: ColumnRoles, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The MMM's ``pm.Data`` for a window, as PyMC-Marketing computes them when it builds on it.

    Spend, controls, target and day of year, and the scales PyMC-Marketing derives from the
    window (its default ``DataDerivedScaling("max")``: the signed largest value per channel
    and of the target). ``tests/tuning/test_compiled.py`` checks each against the model
    PyMC-Marketing builds on the same window.
    """
    data = series_data(columns, frame)
    data["target_data"] = frame[columns.target].to_numpy(dtype=float)
    data["channel_scale"] = data["channel_data"].max(axis=0)
    data["target_scale"] = np.asarray(data["target_data"].max())
    return data


def series_data(columns: ColumnRoles, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The inputs of the model's mean for ``frame``'s weeks (no target, no scales)."""
    data = {
        "channel_data": frame[list(columns.channels)].to_numpy(dtype=float),
        "dayofyear": pd.DatetimeIndex(frame[columns.date]).dayofyear.to_numpy(dtype=np.int32),
    }
    if columns.controls:
        data["control_data"] = frame[list(columns.controls)].to_numpy(dtype=float)
    return data


def _predictive(model: Any) -> tuple[Any, list[str], list[str]]:
    """Compile the likelihood's draws vectorised over a leading draw axis.

    Returns the function, the free parameters it takes (draws first) and the data it takes
    by name; its last argument is a numpy Generator, its outputs the mean and a draw of the
    target, both ``(draws, weeks)`` on the model's scaled level.
    """
    import pytensor
    import pytensor.tensor as pt
    from pytensor.compile.ops import ViewOp
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.replace import graph_replace
    from pytensor.graph.traversal import graph_inputs
    from pytensor.xtensor import as_xtensor
    from pytensor.xtensor.vectorization import vectorize_graph

    (observed,) = model.observed_RVs
    core, as_x = {}, {}
    for rv in model.free_RVs:
        core[rv] = pt.tensor(name=rv.name, dtype=rv.dtype, shape=(None,) * rv.ndim)
        as_x[rv] = as_xtensor(core[rv], dims=rv.type.dims)
    data_in = {dv: dv.type(name=dv.name) for dv in model.data_vars}
    rng = observed.owner.inputs[0]
    rng_in = rng.type(name="rng")
    outs = graph_replace([model["mu"], observed], {**as_x, **data_in, rng: rng_in}, strict=False)
    outs = [o.transpose("date").values for o in outs]
    # A named deterministic is a view, and views of labelled tensors cannot be vectorised.
    fg = FunctionGraph(outputs=outs, clone=False)
    for node in list(fg.toposort()):
        if isinstance(node.op, ViewOp):
            fg.replace(node.outputs[0], node.inputs[0], import_missing=True)
    batched = {c: pt.tensor(name=c.name, dtype=c.dtype, shape=(None,) * (c.ndim + 1)) for c in core.values()}
    outs = vectorize_graph(list(fg.outputs), replace=batched, new_tensor_dims=("draw",))
    used = set(graph_inputs(outs))
    data_used = [v for v in data_in.values() if v in used]
    fn = pytensor.function([*batched.values(), *data_used, rng_in], outs, on_unused_input="ignore")
    return fn, [rv.name for rv in model.free_RVs], [v.name for v in data_used]


@dataclass
class Program:
    """What one structure compiles once: nutpie's model and the batched predictive."""

    sampler: Any
    """nutpie's compiled model of the MMM (numba, free parameters only; :func:`~bayestune.tuning.numba_cached.compile_model`)."""
    free: list[str]
    predictive: Any
    predictive_data: list[str]
    compile_seconds: float
    disk_cache: str = "off"
    """Whether the sampler's callbacks were ``"loaded"`` from numba's disk cache, ``"compiled"``
    and stored there, or nutpie's own uncached ones (``"off"``): :mod:`bayestune.tuning.numba_cached`."""

    def with_window(self, data: dict[str, np.ndarray]) -> Any:
        """The sampler on another window's data (no recompilation)."""
        return self.sampler.with_data(**data)

    def draw(self, posterior: dict[str, np.ndarray], data: dict[str, np.ndarray], seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The mean and a draw of the scaled target per posterior draw, ``(draws, weeks)`` each."""
        mu, y = self.predictive(*(posterior[n] for n in self.free), *(data[n] for n in self.predictive_data),
                                np.random.default_rng(seed))
        return np.asarray(mu), np.asarray(y)


def compile_program(mmm: Any) -> Program:
    """Compile a built MMM (``mmm.build_model`` done) once for every window of its structure."""
    from bayestune.tuning.numba_cached import compile_model

    start = time.perf_counter()
    free = [rv.name for rv in mmm.model.free_RVs]
    sampler = compile_model(mmm.model, free)
    predictive, names, data_names = _predictive(mmm.model)
    program = Program(sampler.model, free, predictive, data_names, 0.0, sampler.disk_cache)
    # The first call links the compiled code: do it here, so compile time is counted as such.
    import pymc as pm

    prior = dict(zip(names, pm.draw(mmm.model.free_RVs, draws=1, random_seed=0), strict=True))
    program.draw({n: np.asarray(v)[None] for n, v in prior.items()},
                 {v.name: v.get_value() for v in mmm.model.data_vars}, seed=0)
    program.compile_seconds = time.perf_counter() - start
    return program


class ProgramCache:
    """Programs by structure, compiled on first use; ``compilations`` counts the compiles."""

    def __init__(self, kept: int = PROGRAMS_KEPT) -> None:
        self.kept = kept
        self.compilations = 0
        self._programs: OrderedDict[Hashable, Program] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Any) -> tuple[Program, bool]:
        """The program for ``key``; ``build()`` makes the MMM when it must be compiled.

        Returns the program and whether it was compiled by this call.
        """
        with self._lock:
            if key in self._programs:
                self._programs.move_to_end(key)
                return self._programs[key], False
            program = compile_program(build())
            self.compilations += 1
            self._programs[key] = program
            while len(self._programs) > self.kept:
                self._programs.popitem(last=False)
            return program, True

    def clear(self) -> None:
        with self._lock:
            self._programs.clear()


def logp_and_gradient(sampler: Any, point: np.ndarray) -> tuple[float, np.ndarray]:
    """The log density and its gradient that nutpie's sampler sees at an unconstrained point.

    Calls the compiled C function the sampler calls, with the sampler's current data
    (``with_data`` included); ``point`` is laid out as ``sampler.shape_info`` says.
    """
    x = np.ascontiguousarray(point, dtype=np.float64)
    grad = np.empty_like(x)
    logp = np.empty((), dtype=np.float64)
    fn = sampler.compiled_logp_func.ctypes
    status = fn(ctypes.c_uint64(x.size), x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                grad.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                logp.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), ctypes.c_void_p(sampler.user_data.ctypes.data))
    if status not in (0, 3, 4):  # 3, 4: a non-finite gradient or density, still returned
        raise RuntimeError(f"nutpie's log density failed with status {status}")
    return float(logp), grad
