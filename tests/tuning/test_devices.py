"""JAX's CPU device count is set by one function, which says when it comes too late."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(code: str) -> subprocess.CompletedProcess:
    env = {"PATH": "", "JAX_PLATFORMS": "cpu", "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


def test_host_devices_are_set_before_jax_starts():
    done = _run("from bayestune.tuning.devices import set_host_devices; ok = set_host_devices(4); "
                "import jax; print(ok, jax.local_device_count())")
    assert done.stdout.split() == ["True", "4"], done.stderr
    assert "RuntimeWarning" not in done.stderr


def test_a_late_call_warns_and_changes_nothing():
    done = _run("import jax; n = jax.local_device_count(); "
                "from bayestune.tuning.devices import set_host_devices; import os; "
                "print(set_host_devices(4), n, jax.local_device_count(), 'XLA_FLAGS' in os.environ)")
    assert done.stdout.split() == ["False", "1", "1", "False"], done.stderr
    assert "RuntimeWarning: JAX has already started" in done.stderr
