"""JAX's CPU devices: one per chain, which must be set before JAX starts.

On CPU, numpyro and blackjax run chains in parallel only over as many devices as JAX sees,
and JAX reads how many host devices to make (``XLA_FLAGS``) once, when its backends start.
PyMC sets 100 when ``pymc.sampling.jax`` is first imported; :func:`set_host_devices` does the
same explicitly, at one known place (importing :mod:`bayestune.tuning` calls it, before
anything imports PyMC), and says so when it comes too late to take effect.
"""

from __future__ import annotations

import os
import re
import sys
import warnings

HOST_DEVICES = 100
"""What PyMC sets: more than any run's chains."""

_FLAG = "--xla_force_host_platform_device_count"


def jax_started() -> bool:
    """Whether JAX's backends have started (its device count can no longer change)."""
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - a JAX without it: assume the worst
        return True
    started = getattr(xla_bridge, "backends_are_initialized", None)
    return True if started is None else bool(started())


def set_host_devices(n: int = HOST_DEVICES) -> bool:
    """Let JAX see ``n`` CPU devices; warn and return ``False`` when JAX has already started."""
    if f"{_FLAG}={n}" in os.environ.get("XLA_FLAGS", "").split():
        return True  # already set (also before JAX started, if it has)
    if jax_started():
        warnings.warn(
            f"JAX has already started, so it keeps its {_device_count()} CPU device(s); chains of the "
            "numpyro and blackjax samplers may run one after another. Import bayestune.tuning before "
            "using JAX to let it set the device count.",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    flags = re.sub(rf"{_FLAG}=\S*", "", os.environ.get("XLA_FLAGS", "")).split()
    os.environ["XLA_FLAGS"] = " ".join([f"{_FLAG}={n}", *flags])
    return True


def _device_count() -> int | str:
    try:
        import jax

        return jax.local_device_count()
    except Exception:  # noqa: BLE001 - only for the message
        return "?"
