from __future__ import annotations

import contextlib
import io

import pytest

from bayestune.simulator import simulate


@pytest.fixture(scope="session")
def quickstart():
    """The quickstart preset simulated with seed 1 (shared, never mutated)."""
    return simulate("quickstart", seed=1)


DEMO_TINY = {
    "trials": 3, "draws": 80, "tune": 80, "chains": 2, "folds": 2, "horizon": 6,
    "space": {"yearly_seasonality": [1, 3], "l_max": [4, 7]},
    "gate": {"max_rhat": 3.0, "min_ess": 2, "max_divergence_rate": 0.9},
    "final": {"test_weeks": 8, "draws": 80, "tune": 80, "chains": 2},
    "pruner": {"kind": "none"},
}


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """``bayestune demo`` with tiny MCMC settings: a real small study on ``quickstart``, its
    final stage and its report. One run serves the tuning and the evaluation tests.

    Returns ``(out, run, printed)``: the demo dir, its run dir and what the command printed.
    """
    import bayestune.demo
    from bayestune.cli import main

    out = tmp_path_factory.mktemp("demo") / "demo"
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
        mp.setattr(bayestune.demo, "DEMO_SETTINGS", DEMO_TINY)
        assert main(["demo", "--out", str(out), "--seed", "1", "--quiet"]) == 0
    return out, out / "run", printed.getvalue()
