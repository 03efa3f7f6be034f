"""nutpie's compiled PyMC model with C callbacks that numba caches on disk.

``nutpie.compile_pymc_model(backend="numba")`` compiles PyTensor's log density and its
expansion to numba (PyTensor caches those on disk), then wraps each in a numba C callback
that reads the model's shared data through a record whose field names are random: the
callbacks can never be cached, and compiling them costs 7 to 15 s per structure, in every
process, against under a second to load them. Here the same two PyTensor functions get
callbacks generated from a source that depends on the structure alone (the data's ranks
and dtypes, never their values), read nutpie's own user-data record (whose fields get
stable names), and are compiled with numba's file cache under PyTensor's cache directory:
a structure compiled once on a machine loads in the time PyTensor takes to build its graph,
in any later process. The sampler gets the same ``nutpie`` model object it always gets,
so ``with_data`` and sampling are nutpie's own; the log density is PyTensor's function of
PyMC-Marketing's graph, unchanged (``tests/tuning/test_compiled.py`` compares it with
``compile_logp``/``compile_dlogp``).

Where PyTensor gives no cache key for a function (an op without one), or its numba cache
is off, :func:`compile_model` falls back to ``nutpie.compile_pymc_model``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

SOURCE_VERSION = "1"
"""Part of every cache key: change it when the generated source's meaning changes."""


@dataclass
class CompiledModel:
    """A nutpie model and how its callbacks were obtained."""

    model: Any
    """A ``nutpie`` compiled model: ``nutpie.sample`` takes it, ``with_data`` swaps its data."""
    disk_cache: str
    """``"loaded"`` (both callbacks read from the cache), ``"compiled"`` (compiled and stored)
    or ``"off"`` (nutpie's own uncached callbacks)."""


def _array_lines(variables: list[Any], shared: list[Any], offsets: list[int]) -> tuple[str, str]:
    """Source lines binding each shared input of one function, and its argument list.

    nutpie's user data is a packed record: every input's address, then its size, then its
    shape's entries; ``meta`` is that record read as unsigned 64-bit integers.
    """
    lines, names = [], []
    for var in variables:
        i = shared.index(var)
        shape = "".join(f"meta[{offsets[i] + d}], " for d in range(var.ndim))
        lines.append(f"    a{i} = carray(as_pointer(meta[{i}]), ({shape}), np.{np.dtype(var.dtype).name})")
        names.append(f"a{i}")
    return "\n".join(lines), "".join(f", {n}" for n in names)


def _layout(shared: list[Any]) -> tuple[list[int], int]:
    """Where each input's shape starts in nutpie's packed user-data record, and the record's
    length in 64-bit words (addresses, sizes, then every shape's entries)."""
    offsets, end = [], 2 * len(shared)
    for var in shared:
        offsets.append(end)
        end += var.ndim
    return offsets, end


def _sources(n_dim: int, n_expanded: int, logp_shared: list[Any], expand_shared: list[Any],
             shared: list[Any]) -> tuple[str, str]:
    offsets, end = _layout(shared)
    logp_lines, logp_args = _array_lines(logp_shared, shared, offsets)
    expand_lines, expand_args = _array_lines(expand_shared, shared, offsets)
    logp = f"""
def logp_callback(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    meta = carray(user_data_, ({end},), np.uint64)
{logp_lines}
    x = carray(x_, ({n_dim},))
    out = carray(out_, ({n_dim},))
    logp = carray(logp_, ())
    value, grad = inner(x{logp_args})
    logp[()] = value
    out[...] = grad
    if not np.all(np.isfinite(out)):
        return 3
    if not np.isfinite(value):
        return 4
    return 0
"""
    expand = f"""
def expand_callback(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    meta = carray(user_data_, ({end},), np.uint64)
{expand_lines}
    x = carray(x_, ({n_dim},))
    out = carray(out_, ({n_expanded},))
    (values,) = inner(x{expand_args})
    out[...] = values
    return 0
"""
    return logp, expand


def _callback(source: str, name: str, inner: Any, inner_key: str, signature: Any) -> tuple[Any, bool]:
    """A numba C callback of ``source`` calling ``inner``, cached under a key of both.

    Returns the callback and whether it was loaded from the cache.
    """
    import numba
    from nutpie.compile_pymc import address_as_void_pointer
    from pytensor.link.numba.cache import compile_numba_function_src

    key = hashlib.sha256(f"{SOURCE_VERSION}\n{inner_key}\n{source}".encode()).hexdigest()
    env = {"__name__": __name__, "np": np, "carray": numba.carray, "as_pointer": address_as_void_pointer,
           "inner": inner}
    callback = numba.cfunc(signature, cache=True)(compile_numba_function_src(source, name, env, cache_key=key))
    return callback, callback.cache_hits > 0


def compile_model(model: Any, var_names: list[str]) -> CompiledModel:
    """``nutpie.compile_pymc_model(model, backend="numba", var_names=var_names)``, disk-cached.

    The initial point, the expansion and the model object are nutpie's; only the two C
    callbacks differ, and only in how they are obtained. Compiled without numba's fastmath:
    with it, code just compiled and code read from the cache differ in the last bits, and a
    chain's path follows them, so one seed gave other fits on a machine's first run than on
    later ones (``tests/tuning/test_compiled.py`` checks the two agree bit for bit).
    """
    from pytensor import config

    with config.change_flags(numba__fastmath=False):
        return _compile_model(model, var_names)


def _nutpie_own(model: Any, var_names: list[str]) -> CompiledModel:
    """nutpie's own compile, its callbacks uncached: the fallback."""
    import nutpie

    return CompiledModel(nutpie.compile_pymc_model(model, backend="numba", var_names=var_names), "off")


def _compile_model(model: Any, var_names: list[str]) -> CompiledModel:
    import nutpie.compile_pymc as ncp
    from numba import types
    from pymc.initial_point import make_initial_point_fn
    from pytensor import config
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    initial_point = make_initial_point_fn(model=model, default_strategy="support_point",
                                          jitter_rvs=set(model.free_RVs), return_transformed=True)
    n_dim, n_expanded, logp_fn, expand_fn, initial_point_fn, shape_info, reparameterized = ncp._make_functions(
        model, mode="NUMBA", compute_grad=True, join_expanded=True,
        pymc_initial_point_fn=ncp._wrap_with_lock(initial_point), var_names=var_names)
    inner_keys = [CACHED_SRC_FUNCTIONS.get(fn.vm.jit_fn.py_func) for fn in (logp_fn, expand_fn)]
    if not config.numba__cache or None in inner_keys:
        return _nutpie_own(model, var_names)

    shared: list[Any] = []
    for var in [*logp_fn.get_shared(), *expand_fn.get_shared()]:
        if var not in shared:
            shared.append(var)
    keys = {var: f"data{i}" for i, var in enumerate(shared)}
    data = {keys[var]: np.array(var.get_value(), order="C", copy=True) for var in shared}
    for value in data.values():
        value.flags.writeable = False

    user_data = ncp.make_user_data(keys, data)
    if user_data.dtype.itemsize != 8 * _layout(shared)[1]:
        # The callbacks read the record as packed 64-bit words; another layout is nutpie's own.
        return _nutpie_own(model, var_names)
    logp_source, expand_source = _sources(n_dim, n_expanded, logp_fn.get_shared(), expand_fn.get_shared(), shared)
    pointer = types.CPointer(types.double)
    logp_callback, logp_loaded = _callback(
        logp_source, "logp_callback", logp_fn.vm.jit_fn, inner_keys[0],
        types.int64(types.uint64, pointer, pointer, pointer, types.voidptr))
    expand_callback, expand_loaded = _callback(
        expand_source, "expand_callback", expand_fn.vm.jit_fn, inner_keys[1],
        types.int64(types.uint64, types.uint64, pointer, pointer, types.voidptr))

    dims, coords = ncp._prepare_dims_and_coords(model, shape_info, reparameterized)
    compiled = ncp.CompiledPyMCModel(
        _n_dim=n_dim, dims=dims, _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_callback, compiled_expand_func=expand_callback,
        initial_point_func=initial_point_fn, shared_data=data, shared_var_keys=keys,
        user_data=user_data, n_expanded=n_expanded, shape_info=shape_info,
        logp_func=logp_fn, expand_func=expand_fn)
    return CompiledModel(compiled, "loaded" if logp_loaded and expand_loaded else "compiled")
