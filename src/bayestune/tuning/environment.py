"""What a run ran on: package versions, fitter, sampler, device, cores."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

PACKAGES = (
    "bayestune", "pymc-marketing", "pymc", "pytensor", "numpyro", "jax", "jaxlib", "nutpie",
    "blackjax", "optuna", "arviz", "numpy", "pandas", "xarray",
)


def package_versions() -> dict[str, str | None]:
    """Installed version of each package the results depend on (``None``: not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def jax_devices() -> list[str]:
    """The devices JAX sees, one entry per kind, e.g. ``["cpu:0 (x100)"]`` or ``["cuda:0 NVIDIA H100"]``.

    On CPU, PyMC lets JAX see many host devices (one per chain); they are the same cores.
    """
    try:
        import jax

        kinds: dict[tuple[str, str], list[int]] = {}
        for d in jax.devices():
            kinds.setdefault((d.platform, d.device_kind), []).append(d.id)
        return [f"{platform}:{ids[0]}" + (f" {kind}" if kind != platform else "") + (f" (x{len(ids)})" if len(ids) > 1 else "")
                for (platform, kind), ids in kinds.items()]
    except Exception as exc:  # noqa: BLE001 - a broken JAX install is reported, not fatal
        return [f"unavailable ({exc.__class__.__name__})"]


def environment(sampler: str, fitter: str | None = None) -> dict[str, Any]:
    """The environment record written into every run dir.

    ``sampler`` is the sampler that runs (the fitter's, :func:`bayestune.tuning.fitters.sampler_name`),
    ``fitter`` the fitter's name as the config gives it.
    """
    devices = jax_devices()
    jax_backends = ("numpyro", "blackjax")
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        **({"fitter": fitter} if fitter is not None else {}),
        "sampler": sampler,
        "device": devices[0].split(" (x")[0] if sampler in jax_backends else "cpu",
        "jax_devices": devices,
        "packages": package_versions(),
    }
