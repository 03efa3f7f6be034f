from __future__ import annotations

import math

import numpy as np
import properscoring
import pytest
import scoringrules as sr
from pymc_marketing.metrics import crps as pmm_crps

from bayestune.evaluation.metrics import crps_ensemble, crps_mean, crps_skill, paired_difference

SHAPES = [(m, n) for m in (2, 7, 100, 1000) for n in (1, 5, 30)]
SEEDS = [0, 1, 2]


def _case(seed: int, m: int, n_obs: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    loc = rng.normal(0.0, 50.0, size=n_obs)
    samples = loc + rng.gamma(2.0, 10.0, size=(m, n_obs))  # skewed, target-like units
    observations = loc + rng.normal(20.0, 15.0, size=n_obs)
    return observations, samples


def _brute_force(y: float, x: np.ndarray, fair: bool) -> float:
    m = len(x)
    e1 = sum(abs(xi - y) for xi in x) / m
    pairs = sum(abs(xi - xj) for xi in x for xj in x)
    return e1 - 0.5 * pairs / (m * (m - 1) if fair else m * m)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("m", "n_obs"), SHAPES)
def test_nrg_matches_properscoring(seed: int, m: int, n_obs: int) -> None:
    obs, samples = _case(seed, m, n_obs)
    expected = properscoring.crps_ensemble(obs, samples.T)
    np.testing.assert_allclose(crps_ensemble(obs, samples, estimator="nrg"), expected, rtol=1e-10)


@pytest.mark.parametrize("estimator", ["nrg", "fair"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("m", "n_obs"), SHAPES)
def test_matches_scoringrules(estimator: str, seed: int, m: int, n_obs: int) -> None:
    obs, samples = _case(seed, m, n_obs)
    expected = sr.crps_ensemble(obs, samples.T, m_axis=-1, estimator=estimator, backend="numpy")
    got = crps_ensemble(obs, samples, estimator=estimator)  # type: ignore[arg-type]
    assert got.shape == (n_obs,)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("m", "n_obs"), SHAPES)
def test_nrg_mean_matches_pymc_marketing(seed: int, m: int, n_obs: int) -> None:
    obs, samples = _case(seed, m, n_obs)
    expected = pmm_crps(obs, samples)
    assert crps_mean(obs, samples, estimator="nrg") == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_brute_force_double_loop(seed: int) -> None:
    obs, samples = _case(seed, 7, 5)
    for fair, name in ((True, "fair"), (False, "nrg")):
        got = crps_ensemble(obs, samples, estimator=name)  # type: ignore[arg-type]
        expected = [_brute_force(obs[t], samples[:, t], fair) for t in range(5)]
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_hand_example() -> None:
    # samples [0, 1], observation 0: mean|x - y| = 0.5, sum_ij |xi - xj| = 2
    samples = np.array([[0.0], [1.0]])
    obs = np.array([0.0])
    np.testing.assert_allclose(crps_ensemble(obs, samples, estimator="nrg"), [0.25])
    np.testing.assert_allclose(crps_ensemble(obs, samples, estimator="fair"), [0.0])
    np.testing.assert_allclose(crps_ensemble(obs, samples), [0.0])  # fair is the default
    scalar = crps_ensemble(0.0, np.array([0.0, 1.0]), estimator="nrg")
    assert scalar.shape == () and float(scalar) == 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_fair_is_unbiased_and_nrg_is_not(seed: int) -> None:
    m, n = 5, 200_000
    samples = np.random.default_rng(seed).standard_normal((m, n))
    obs = np.zeros(n)
    closed_form = 2.0 / math.sqrt(2.0 * math.pi) - 1.0 / math.sqrt(math.pi)  # ~0.2337
    bias = (2.0 / math.sqrt(math.pi)) / (2 * m)  # E|X - X'| / (2m)
    assert closed_form == pytest.approx(0.2337, abs=1e-4)
    fair = crps_ensemble(obs, samples, estimator="fair")
    nrg = crps_ensemble(obs, samples, estimator="nrg")
    se_fair = fair.std(ddof=1) / math.sqrt(n)
    se_nrg = nrg.std(ddof=1) / math.sqrt(n)
    assert abs(fair.mean() - closed_form) < 4 * se_fair
    assert abs(nrg.mean() - (closed_form + bias)) < 4 * se_nrg
    assert nrg.mean() - closed_form > 50 * se_nrg  # the bias is far outside the noise


def test_paired_difference_hand_example() -> None:
    # d = [1, 2, 3]: mean 2, sample std 1, SE 1/sqrt(3)
    mean, se = paired_difference([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert se == pytest.approx(1.0 / math.sqrt(3.0))


def test_crps_skill() -> None:
    assert crps_skill(0.5, 2.0) == pytest.approx(0.75)
    assert crps_skill(2.0, 2.0) == 0.0
    assert crps_skill(3.0, 2.0) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="positive"):
        crps_skill(1.0, 0.0)


@pytest.mark.parametrize(
    ("obs", "samples", "kwargs", "match"),
    [
        (np.zeros(3), np.zeros((4, 2)), {}, "shape"),
        (np.zeros(3), np.zeros(4), {}, "shape"),
        (np.zeros((3, 1)), np.zeros((4, 3, 1)), {}, "1-D"),
        (np.zeros(0), np.zeros((4, 0)), {}, "at least one observation"),
        (np.array([0.0, np.nan]), np.zeros((4, 2)), {}, "observations contain NaN"),
        (np.zeros(2), np.array([[0.0, 1.0], [np.inf, 2.0]]), {}, "samples contain NaN"),
        (np.zeros(2), np.zeros((1, 2)), {}, "at least 2 draws"),
        (np.zeros(2), np.zeros((1, 2)), {"estimator": "fair"}, "at least 2 draws"),
        (np.zeros(2), np.zeros((3, 2)), {"estimator": "qd"}, "estimator"),
    ],
)
def test_crps_validation(obs, samples, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        crps_ensemble(obs, samples, **kwargs)


def test_nrg_allows_a_single_draw() -> None:
    np.testing.assert_allclose(crps_ensemble([1.0, -2.0], [[0.0, 0.0]], estimator="nrg"), [1, 2])


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([1.0, 2.0], [1.0, 2.0, 3.0], "same shape"),
        ([1.0], [2.0], "at least 2"),
        ([1.0, np.nan], [1.0, 2.0], "NaN"),
    ],
)
def test_paired_difference_validation(a, b, match) -> None:
    with pytest.raises(ValueError, match=match):
        paired_difference(a, b)
