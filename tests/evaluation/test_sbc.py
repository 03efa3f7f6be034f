from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from bayestune.evaluation.sbc import plot_sbc_ecdf, rank_uniformity, sbc_ranks, sbc_summary


def _conjugate(n_sims: int = 300, n_draws: int = 200, n_obs: int = 10, sigma: float = 2.0,
               seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normal-normal SBC with exact posterior draws.

    theta ~ N(0, 1), y_i ~ N(theta, sigma^2), i = 1..n_obs. The posterior is
    N(m, v) with precision 1/v = 1 + n_obs/sigma^2 and m = v * sum(y)/sigma^2.
    Returns the true values (n_sims,), the posterior means (n_sims,) and standard normal
    noise (n_draws, n_sims): exact draws are ``mean + sqrt(v) * noise``.
    """
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.0, n_sims)
    y = rng.normal(theta[:, None], sigma, (n_sims, n_obs))
    v = 1.0 / (1.0 + n_obs / sigma**2)
    mean = v * y.sum(axis=1) / sigma**2
    return theta, mean, rng.standard_normal((n_draws, n_sims))


POST_SD = (1.0 / (1.0 + 10 / 2.0**2)) ** 0.5  # n_obs = 10, sigma = 2: v = 1/3.5


def _uniform_counts(ranks: np.ndarray, n_draws: int) -> np.ndarray:
    """#{r < i} / S for i = 1..L, per row of ``ranks`` (a plain reference for the module)."""
    i = np.arange(1, n_draws + 1)
    return (ranks[..., None] < i).mean(axis=-2)


# --- sbc_ranks ------------------------------------------------------------------------


def test_sbc_ranks_hand_computed() -> None:
    # Column 0: draws 0, 1, 0.2, 0.7 and truth 0.5 -> two draws (0, 0.2) below -> rank 2.
    # Column 1: truth -1 below all four draws -> 0. Column 2: truth 5 above all -> L = 4.
    draws = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.2, 0.2, 0.2], [0.7, 0.7, 0.7]])
    ranks = sbc_ranks([0.5, -1.0, 5.0], draws)
    np.testing.assert_array_equal(ranks, [2, 0, 4])
    assert ranks.dtype == np.int64


def test_sbc_ranks_thinning() -> None:
    # Draws 0..9, truth 4.5: all draws -> 5 below (0..4). thin=3 keeps draws 0, 3, 6, 9
    # (L = 4) -> 2 below (0, 3).
    draws = np.arange(10.0)[:, None]
    assert sbc_ranks([4.5], draws).tolist() == [5]
    assert sbc_ranks([4.5], draws, thin=3).tolist() == [2]
    # Truth above all kept draws: rank L = ceil(10 / 3) = 4.
    assert sbc_ranks([100.0], draws, thin=3).tolist() == [4]


def test_sbc_ranks_ties_broken_uniformly_and_seeded() -> None:
    # Draws 0, 1, 1, 2 with truth 1: one draw below and two tied, so the truth's position
    # is 1, 2 or 3, each with probability 1/3. Column 0 has no tie (truth 0.5 -> rank 1).
    n = 3000
    draws = np.tile(np.array([0.0, 1.0, 1.0, 2.0])[:, None], (1, n))
    truth = np.ones(n)
    truth[0] = 0.5
    ranks = sbc_ranks(truth, draws, seed=3)
    assert ranks[0] == 1
    tied = ranks[1:]
    assert set(np.unique(tied)) == {1, 2, 3}
    np.testing.assert_allclose(np.bincount(tied, minlength=4)[1:] / tied.size, 1 / 3, atol=0.03)
    np.testing.assert_array_equal(sbc_ranks(truth, draws, seed=3), ranks)  # reproducible
    assert not np.array_equal(sbc_ranks(truth, draws, seed=4), ranks)


def test_sbc_ranks_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="shape"):
        sbc_ranks([0.0, 1.0], np.zeros((5, 3)))
    with pytest.raises(ValueError, match="thin"):
        sbc_ranks([0.0], np.zeros((5, 1)), thin=0)
    with pytest.raises(ValueError, match="NaN"):
        sbc_ranks([np.nan], np.zeros((5, 1)))


# --- rank_uniformity -------------------------------------------------------------------


def test_rank_uniformity_hand_computed() -> None:
    # Ranks 0, 0, 1, 2 among L = 2 draws: z = 1/3, 2/3.
    # F_1 = #{r < 1}/4 = 2/4, F_2 = #{r < 2}/4 = 3/4 -> D = (1/2 - 1/3, 3/4 - 2/3) = (1/6, 1/12).
    # Gamma: at z_1, X ~ Bin(4, 1/3), k = 2: P(X <= 2) = 72/81, P(X >= 2) = 33/81 -> 2*33/81.
    # At z_2, X ~ Bin(4, 2/3), k = 3: P(X <= 3) = 65/81, P(X >= 3) = 48/81 -> 2*48/81 (> 1).
    # gamma = min(66/81, 96/81, capped at 1) = 66/81 = 22/27.
    res = rank_uniformity([0, 0, 1, 2], 2)
    np.testing.assert_allclose(res["z"], [1 / 3, 2 / 3])
    np.testing.assert_allclose(res["ecdf_diff"], [1 / 6, 1 / 12])
    assert res["gamma"] == pytest.approx(22 / 27)
    assert (res["n_sims"], res["n_draws"], res["level"]) == (4, 2, 0.95)


def test_band_contains_exactly_uniform_ranks() -> None:
    # Every rank 0..99 three times: the ECDF equals z exactly, so D = 0 everywhere.
    ranks = np.repeat(np.arange(100), 3)
    res = rank_uniformity(ranks, 99)
    np.testing.assert_allclose(res["ecdf_diff"], 0.0, atol=1e-12)
    assert res["inside"]
    assert np.all(res["lower"] < 0.0) and np.all(res["upper"] > 0.0)
    assert res["p_value"] > 0.5


def test_band_has_simultaneous_coverage() -> None:
    # 4000 sets of S = 100 uniform ranks among L = 199 draws (zero counts near z = 0 are
    # common here): the whole ECDF should stay inside the 95% band about 95% of the time.
    # A pointwise 95% band would hold far less often (checked below).
    n_sims, n_draws = 100, 199
    res = rank_uniformity(np.arange(n_sims) % (n_draws + 1), n_draws)
    lo, hi = res["lower"] + res["z"], res["upper"] + res["z"]
    sets = np.random.default_rng(7).integers(0, n_draws + 1, size=(4000, n_sims))
    ecdf = _uniform_counts(sets, n_draws)
    held = np.mean(np.all((ecdf >= lo - 1e-12) & (ecdf <= hi + 1e-12), axis=1))
    assert 0.935 <= held <= 0.965
    from scipy.stats import binom

    z = res["z"]
    p_lo, p_hi = binom.ppf(0.025, n_sims, z) / n_sims, binom.ppf(0.975, n_sims, z) / n_sims
    assert np.mean(np.all((ecdf >= p_lo) & (ecdf <= p_hi), axis=1)) < 0.8


def test_verdict_agrees_with_gamma_and_p_value() -> None:
    # Inside the band <=> gamma >= its threshold <=> p > 1 - level (up to ties), on uniform
    # and on tilted ranks alike.
    rng = np.random.default_rng(11)
    seen = set()
    for k in range(40):
        u = rng.uniform(size=150) ** (1.0 + 0.02 * k)  # k = 0 uniform, later tilted to 0
        res = rank_uniformity(np.floor(u * 50).astype(int), 49)
        assert res["inside"] == (res["gamma"] >= res["gamma_threshold"])
        assert res["inside"] == (res["p_value"] > 0.05)
        seen.add(res["inside"])
    assert seen == {True, False}


def test_null_simulation_matches_arviz_stats() -> None:
    # Same algorithm and random stream as arviz_stats' simulation method. With S = 1000 and
    # L = 20 no simulated count is 0 (probability ~1e-21; there arviz_stats drops the upper
    # tail), so the two null distributions of gamma must agree draw for draw. arviz_stats
    # returns quantiles of 1 - gamma; asking for all n quantiles gives them all, sorted.
    ecdf_utils = pytest.importorskip("arviz_stats.ecdf_utils")
    from bayestune.evaluation.sbc import _null_gamma

    n_sims, n_draws, n = 1000, 20, 300
    z = np.arange(1, n_draws + 1) / (n_draws + 1)
    theirs = ecdf_utils.simulate_confidence_bands(
        n_sims, 1, z, np.arange(n) / (n - 1), n, np.random.default_rng(5))
    ours = _null_gamma(n_sims, n_draws, n, 5)
    np.testing.assert_allclose(1.0 - ours[::-1], np.maximum(theirs, 0.0), atol=1e-12)
    assert np.unique(ours).size > 50  # a real distribution, not a few lattice values
    res = rank_uniformity(np.arange(n_sims) % (n_draws + 1), n_draws, n_simulations=n, seed=5)
    assert 1.0 - res["gamma_threshold"] == pytest.approx(
        ecdf_utils.simulate_confidence_bands(n_sims, 1, z, 0.95, n, np.random.default_rng(5)),
        abs=1e-12)


def test_rank_uniformity_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="0..3"):
        rank_uniformity([0, 4], 3)
    with pytest.raises(ValueError, match="integers"):
        rank_uniformity([0.5, 1.0], 3)
    with pytest.raises(ValueError, match="level"):
        rank_uniformity([0, 1], 3, level=1.0)


# --- sbc_summary on a conjugate model -----------------------------------------------------


def test_correct_conjugate_posterior_passes() -> None:
    # Exact posterior draws; 200 draws thinned by 2 -> ranks among L = 100.
    theta, mean, noise = _conjugate()
    draws = mean + POST_SD * noise
    summary = sbc_summary({"theta": theta}, {"theta": draws}, {"theta": 1.0}, thin=2)
    row = summary["theta"]
    assert (row["n_sims"], row["n_draws"], row["thin"]) == (300, 100, 2)
    assert row["uniform"] is True
    assert row["p_value"] > 0.05
    assert row["coverage"]["0.5"] == pytest.approx(0.5, abs=0.07)
    assert row["coverage"]["0.9"] == pytest.approx(0.9, abs=0.05)
    assert row["calibration_error"] < 0.04
    # Contraction 1 - v/1 = 1 - 1/3.5 = 0.714 up to the sampling noise of the variance.
    assert row["contraction"] == pytest.approx(1 - 1 / 3.5, abs=0.03)
    assert 0.0 < row["nrmse"] < 0.3
    json.dumps(summary)  # plain types only
    # Without the prior variance, the variance of the true values (prior draws) stands in.
    approx = sbc_summary({"theta": theta}, {"theta": draws}, thin=2)["theta"]
    assert approx["contraction"] == pytest.approx(row["contraction"], abs=0.05)


def test_miscalibrated_posteriors_fail() -> None:
    theta, mean, noise = _conjugate()
    names = ("good", "over", "biased", "shrunk")
    draws = {
        "good": mean + POST_SD * noise,
        "over": mean + 0.5 * POST_SD * noise,  # variance too small by a factor of 4
        "biased": mean + 0.5 + POST_SD * noise,  # centred 0.5 (~1 posterior sd) too high
        "shrunk": 0.5 * mean + POST_SD * noise,  # pulled halfway towards the prior mean
    }
    summary = sbc_summary({k: theta for k in names}, draws, {k: 1.0 for k in names}, thin=2)
    good_ce = summary["good"]["calibration_error"]
    for name in ("over", "biased", "shrunk"):
        assert summary[name]["uniform"] is False
        assert summary[name]["p_value"] <= 0.01
    for name in ("over", "biased"):
        assert summary[name]["calibration_error"] > max(0.15, 4 * good_ce)
        assert summary[name]["coverage"]["0.9"] < 0.75
    assert summary["over"]["contraction"] > summary["good"]["contraction"]
    # Shrinkage keeps the intervals' width and moves each only a little, so coverage barely
    # notices (calibration error ~0.04): the rank test is the sharper check here.
    assert summary["shrunk"]["calibration_error"] < 0.1


def test_summary_needs_draws_for_every_parameter() -> None:
    with pytest.raises(ValueError, match="no draws"):
        sbc_summary({"a": [0.0, 1.0]}, {"b": np.zeros((3, 2))})


# --- figure ----------------------------------------------------------------------------


def test_plot_sbc_ecdf_writes_png(tmp_path: Path) -> None:
    theta, mean, noise = _conjugate(n_draws=100)
    ranks = {"calibrated": sbc_ranks(theta, mean + POST_SD * noise),
             "over-confident": sbc_ranks(theta, mean + 0.5 * POST_SD * noise)}
    out = plot_sbc_ecdf(ranks, 100, tmp_path / "sub" / "sbc.png")
    assert out == tmp_path / "sub" / "sbc.png"
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 300 and image.shape[1] > 600
    assert image[..., :3].std() > 0.05  # not blank
    empty = plot_sbc_ecdf({}, 100, tmp_path / "empty.png")
    assert matplotlib.image.imread(empty).shape[1] > 600
