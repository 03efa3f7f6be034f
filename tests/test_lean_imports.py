"""Bad input is reported before the heavy stack (PyMC, JAX, Optuna) is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("pymc", "pymc_marketing", "jax", "optuna", "arviz")


def _run(code: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_tune_on_a_missing_dataset_fails_at_once_without_importing_pymc_or_jax(tmp_path):
    out = tmp_path / "run"
    code = (
        "import sys\n"
        "from bayestune.cli import main\n"
        f"rc = main(['tune', '--data', {str(tmp_path / 'nonexistent')!r}, '--out', {str(out)!r}])\n"
        f"print('heavy:', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "raise SystemExit(rc)\n"
    )
    done = _run(code)
    assert done.returncode == 2, done.stderr
    assert done.stdout.strip() == "heavy: []"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bayestune: error: dataset directory not found")
    assert not out.exists()


def test_importing_the_packages_stays_lean():
    code = (
        "import sys\n"
        "import bayestune, bayestune.tuning, bayestune.evaluation, bayestune.rundir, bayestune.cli\n"
        "import bayestune.simulator, bayestune.bench, bayestune.calibration\n"
        "from bayestune.tuning import load_config, tune\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
