"""blackjax as a backend: PyMC's blackjax path is broken upstream, pinned here, and refused in one line.

The pinned test fails once the upstream bug is fixed, and says what to do then.
"""

from __future__ import annotations

from importlib import metadata

import pytest

from bayestune.cli import main
from bayestune.tuning.backends import BLACKJAX_BROKEN_FROM, BLACKJAX_BUG, _release, sampler_problem
from bayestune.tuning.config import config_from_dict

PINNED = "unexpected keyword argument 'progress_bar'"


def _broken_blackjax() -> str:
    pytest.importorskip("blackjax")
    version = metadata.version("blackjax")
    if _release(version) < BLACKJAX_BROKEN_FROM:
        pytest.skip(f"blackjax {version} predates the incompatibility")
    return version


def test_pymcs_blackjax_path_still_fails_with_the_pinned_upstream_bug():
    """A one-parameter model, 10 + 10 steps on one chain: it raises at the first warm-up step."""
    version = _broken_blackjax()
    import pymc as pm

    with pm.Model():
        pm.Normal("x")
        try:
            pm.sample(nuts_sampler="blackjax", draws=10, tune=10, chains=1, progressbar=False,
                      compute_convergence_checks=False, random_seed=0)
        except TypeError as exc:
            assert PINNED in str(exc), f"PyMC's blackjax path fails otherwise than pinned: {exc}"
            return
    pytest.fail(f"PyMC's blackjax path runs now (pymc {metadata.version('pymc')}, blackjax {version}): "
                f"{BLACKJAX_BUG} is fixed. Enable the backend: lift the refusal in bayestune.tuning.backends, "
                "drop blackjax's KNOWN_FAILURES entry in benchmarks/test_backends.py, and turn this test "
                "into one that blackjax fits.")


def test_tune_with_blackjax_is_refused_in_one_line_before_anything_runs(tmp_path, capsys):
    version = _broken_blackjax()
    assert main(["tune", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "run"),
                 "--sampler", "blackjax"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayestune: error: ") and len(err.splitlines()) == 1
    assert f"blackjax {version}" in err and BLACKJAX_BUG in err
    assert not (tmp_path / "run").exists()


def test_only_a_fitter_that_runs_the_configured_sampler_is_refused():
    if sampler_problem("blackjax") is None:
        pytest.skip("blackjax runs here")
    for fitter in ("pymc-marketing-nutpie", "tests.tuning.fakes:NamedSampler"):  # they run their own sampler
        assert config_from_dict({"sampler": "blackjax", "fitter": fitter}, "test").sampler == "blackjax"
    for sampler in ("numpyro", "pymc", "nutpie"):
        assert sampler_problem(sampler) is None
