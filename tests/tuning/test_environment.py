"""The environment record, and JAX set up so that NUTS chains run in parallel on CPU."""

from __future__ import annotations

import subprocess
import sys


def test_chains_can_run_in_parallel_on_cpu():
    """Importing the tuning layer before JAX starts gives JAX one CPU device per chain;
    otherwise numpyro draws the chains one after another (half the speed on 2 cores)."""
    code = ("from bayestune.tuning import tune; from bayestune.tuning.environment import environment; "
            "import jax; e = environment('numpyro'); print(jax.local_device_count(), e['device'], e['jax_devices'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "", "JAX_PLATFORMS": "cpu"}).stdout.split(maxsplit=2)
    assert int(out[0]) >= 2
    assert out[1] == "cpu:0" and out[2].strip().startswith("['cpu:0 (x")
