"""The batched program's log density is PyMC-Marketing's own, window by window.

No sampling: one structure, two fold windows of different lengths padded to the longest, and
the log density and its gradient of every window checked at random unconstrained points
against ``model.compile_logp()``/``compile_dlogp()`` of the MMM PyMC-Marketing builds on that
window alone. (The batched sampler itself is exercised by ``benchmarks/test_batched.py`` and
measured by ``benchmarks/batched_fits.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest

from bayestune.simulator import simulate
from bayestune.simulator.dataset import ColumnRoles
from bayestune.tuning.batched import batched_density, padded_windows
from bayestune.tuning.model import Candidate, build_mmm, quiet_sampling

TRUE = Candidate(2, 6, "geometric", "logistic")
ENDS = (40, 54)
"""Fitted weeks of each window; the first is padded with the 14 weeks that follow it."""


def _built(cols, frame):
    mmm = build_mmm(TRUE, cols)
    with quiet_sampling():
        mmm.build_model(frame.drop(columns=cols.target), frame[cols.target])
    return mmm.model


@pytest.fixture(scope="module")
def setup():
    sim = simulate("quickstart", seed=1)
    cols = ColumnRoles.from_truth(sim.truth)
    density = batched_density(_built(cols, sim.data.iloc[: max(ENDS)]))
    data, mask = padded_windows(cols, sim.data, ENDS)
    return sim.data, cols, density, data, mask


def test_log_density_and_gradient_of_every_padded_window_are_pymc_marketings(setup):
    import jax

    frame, cols, density, data, mask = setup
    rng = np.random.default_rng(0)
    points = {n: rng.normal(0.0, 0.7, (3, len(ENDS), *np.shape(v))) for n, v in density.initial_point.items()}
    got = [np.asarray(density.logp_batch({n: v[i] for n, v in points.items()}, data, mask)) for i in range(3)]
    grad = jax.jit(jax.vmap(jax.grad(density.logp)))
    got_grad = [grad({n: v[i] for n, v in points.items()}, data, mask) for i in range(3)]
    for k, end in enumerate(ENDS):
        model = _built(cols, frame.iloc[:end])
        logp, dlogp = model.compile_logp(), model.compile_dlogp()
        for i in range(3):
            point = {n: v[i, k] for n, v in points.items()}
            np.testing.assert_allclose(got[i][k], logp(point), rtol=1e-8, atol=1e-8, err_msg=str(end))
            flat = np.concatenate([np.ravel(np.asarray(got_grad[i][v.name][k])) for v in model.value_vars])
            np.testing.assert_allclose(flat, dlogp(point), rtol=1e-8, atol=1e-8, err_msg=str(end))

def test_masked_weeks_leave_the_likelihood(setup):
    _, _, density, data, mask = setup
    points = {n: np.stack([np.asarray(v)] * len(ENDS)) for n, v in density.initial_point.items()}
    before = np.asarray(density.logp_batch(points, data, mask))
    garbage = {**data, "target_data": np.where(mask, data["target_data"], 1e6),
               "channel_data": np.where(mask[..., None], data["channel_data"], 1e6)}
    np.testing.assert_array_equal(np.asarray(density.logp_batch(points, garbage, mask)), before)
    unmasked = np.asarray(density.logp_batch(points, garbage, np.ones_like(mask)))
    assert unmasked[0] != before[0] and unmasked[1] == before[1]  # only the shorter window was padded


def test_windows_keep_their_own_scales_and_padding_is_the_following_weeks(setup):
    frame, cols, _, data, mask = setup
    assert mask.sum(axis=1).tolist() == list(ENDS)
    target = frame[cols.target].to_numpy()
    np.testing.assert_array_equal(data["target_data"][0], target[: max(ENDS)])
    assert data["target_scale"].tolist() == [target[:end].max() for end in ENDS]
    with pytest.raises(ValueError, match="window ends"):
        padded_windows(cols, frame, (10, len(frame) + 1))
