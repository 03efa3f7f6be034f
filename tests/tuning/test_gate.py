"""Tests for the convergence gate, on hand-built posteriors with known pathologies."""

from __future__ import annotations

import math
from types import SimpleNamespace

import arviz_stats as azs
import numpy as np
import pytest
import xarray as xr

from bayestune.tuning import gate
from bayestune.tuning.gate import Diagnostics, GateThresholds, check, diagnose

CHAINS, DRAWS = 4, 500
CHANNELS = ["tv", "search", "social"]


def _posterior(rng: np.random.Generator, **extra: np.ndarray) -> xr.Dataset:
    """Well-mixed iid normal scalar ``alpha`` and vector ``beta`` (chain, draw, channel)."""
    data = {
        "alpha": (("chain", "draw"), rng.normal(size=(CHAINS, DRAWS))),
        "beta": (("chain", "draw", "channel"), rng.normal(size=(CHAINS, DRAWS, len(CHANNELS)))),
    }
    for name, values in extra.items():
        dims = ("chain", "draw") if values.ndim == 2 else ("chain", "draw", "channel")
        data[name] = (dims, values)
    return xr.Dataset(
        data,
        coords={"chain": np.arange(CHAINS), "draw": np.arange(DRAWS), "channel": CHANNELS},
    )


def _stats(diverging: np.ndarray | None = None) -> xr.Dataset:
    if diverging is None:
        diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    return xr.Dataset(
        {
            "diverging": (("chain", "draw"), diverging),
            "tree_depth": (("chain", "draw"), np.full((CHAINS, DRAWS), 3)),
        }
    )


def _tree(posterior: xr.Dataset, stats: xr.Dataset | None = None) -> xr.DataTree:
    groups = {"posterior": posterior}
    if stats is not None:
        groups["sample_stats"] = stats
    return xr.DataTree.from_dict(groups)


def _ar1(rng: np.random.Generator, rho: float, shape: tuple[int, ...]) -> np.ndarray:
    """Stationary AR(1) chains along axis 1 with unit marginal variance."""
    noise = rng.normal(size=shape) * math.sqrt(1 - rho**2)
    out = np.empty(shape)
    out[:, 0] = rng.normal(size=(shape[0], *shape[2:]))
    for t in range(1, shape[1]):
        out[:, t] = rho * out[:, t - 1] + noise[:, t]
    return out


VARS = ["alpha", "beta"]


def test_well_mixed_chains_pass_search_with_rhat_near_one_and_full_ess() -> None:
    rng = np.random.default_rng(0)
    diag = diagnose(_tree(_posterior(rng), _stats()), VARS)

    assert diag.n_chains == CHAINS
    assert diag.n_draws == CHAINS * DRAWS
    assert diag.divergence_rate == 0.0
    assert 1.0 - 0.01 < diag.max_rhat < 1.01
    assert 1500 < diag.min_ess_bulk <= 2600
    assert 1500 < diag.min_ess_tail <= 2600
    assert diag.worst_rhat_var.split("[")[0] in VARS
    assert check(diag, GateThresholds.SEARCH) == (True, [])


def test_matches_arviz_rank_rhat_and_bulk_tail_ess() -> None:
    rng = np.random.default_rng(10)
    post = _posterior(rng).assign(alpha=(("chain", "draw"), _ar1(rng, 0.9, (CHAINS, DRAWS))))
    diag = diagnose(_tree(post, _stats()), VARS)

    ds = post[VARS]
    rhat = azs.rhat(ds, method="rank")
    bulk, tail = azs.ess(ds, method="bulk"), azs.ess(ds, method="tail")
    assert diag.max_rhat == pytest.approx(max(float(rhat[v].max()) for v in VARS))
    assert diag.min_ess_bulk == pytest.approx(min(float(bulk[v].min()) for v in VARS))
    assert diag.min_ess_tail == pytest.approx(min(float(tail[v].min()) for v in VARS))
    assert diag.min_ess_bulk != pytest.approx(float(azs.ess(ds, method="mean")["alpha"]))


def test_shifted_chain_fails_rhat_and_names_the_variable() -> None:
    rng = np.random.default_rng(1)
    alpha = rng.normal(size=(CHAINS, DRAWS))
    alpha[2] += 3.0
    post = _posterior(rng).assign(alpha=(("chain", "draw"), alpha))
    diag = diagnose(_tree(post, _stats()), VARS)

    assert diag.max_rhat > 1.3
    assert diag.worst_rhat_var == "alpha"
    passed, reasons = check(diag, GateThresholds.SEARCH)
    assert not passed
    rhat_reasons = [r for r in reasons if r.startswith("R-hat")]
    assert len(rhat_reasons) == 1
    assert rhat_reasons[0].endswith("> 1.10 (alpha)")


def test_autocorrelated_chains_fail_bulk_ess() -> None:
    rng = np.random.default_rng(2)
    post = _posterior(rng).assign(alpha=(("chain", "draw"), _ar1(rng, 0.995, (CHAINS, DRAWS))))
    diag = diagnose(_tree(post, _stats()), VARS)

    assert diag.min_ess_bulk < 50
    assert diag.worst_ess_var == "alpha"
    passed, reasons = check(diag, GateThresholds.SEARCH)
    assert not passed
    assert any(r.startswith("bulk ESS ") and r.endswith("< 50 (alpha)") for r in reasons)


def test_divergences_fail_with_the_rate_in_the_reason() -> None:
    rng = np.random.default_rng(3)
    diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    diverging.ravel()[: int(0.15 * CHAINS * DRAWS)] = True
    diag = diagnose(_tree(_posterior(rng), _stats(diverging)), VARS)

    assert diag.divergence_rate == pytest.approx(0.15)
    passed, reasons = check(diag, GateThresholds.SEARCH)
    assert not passed
    assert reasons == ["divergences 15.0% > 10.0%"]


def test_one_bad_channel_coordinate_is_named_for_rhat() -> None:
    rng = np.random.default_rng(4)
    beta = rng.normal(size=(CHAINS, DRAWS, len(CHANNELS)))
    beta[0, :, 1] += 4.0  # one chain of beta[search] sits elsewhere
    post = _posterior(rng).assign(beta=(("chain", "draw", "channel"), beta))
    diag = diagnose(_tree(post, _stats()), VARS)

    assert diag.worst_rhat_var == "beta[search]"
    passed, reasons = check(diag, GateThresholds.SEARCH)
    assert not passed
    assert any(r.startswith("R-hat") and r.endswith("(beta[search])") for r in reasons)


def test_one_bad_channel_coordinate_is_named_for_ess() -> None:
    rng = np.random.default_rng(5)
    beta = rng.normal(size=(CHAINS, DRAWS, len(CHANNELS)))
    beta[:, :, 2] = _ar1(rng, 0.995, (CHAINS, DRAWS))  # beta[social] barely moves
    post = _posterior(rng).assign(beta=(("chain", "draw", "channel"), beta))
    diag = diagnose(_tree(post, _stats()), VARS)

    assert diag.worst_ess_var == "beta[social]"
    passed, reasons = check(diag, GateThresholds.SEARCH)
    assert not passed
    assert any(r.startswith("bulk ESS") and r.endswith("(beta[social])") for r in reasons)


@pytest.mark.parametrize(
    ("rate", "rhat", "ess"),
    [(-0.01, 1.1, 50), (1.5, 1.1, 50), (math.nan, 1.1, 50), (0.1, 0.99, 50), (0.1, math.nan, 50), (0.1, 1.1, -1)],
)
def test_threshold_validation(rate: float, rhat: float, ess: float) -> None:
    with pytest.raises(ValueError):
        GateThresholds(rate, rhat, ess)


def test_threshold_presets() -> None:
    assert GateThresholds.SEARCH == GateThresholds(0.10, 1.10, 50)
    assert GateThresholds.FINAL == GateThresholds(0.01, 1.01, 400)
    assert GateThresholds(0.0, 1.0, 0.0).min_ess == 0.0


def test_deterministics_not_named_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[set[str]] = []
    real_rhat = gate._rhat

    def spy(data: xr.Dataset, **kwargs: object) -> xr.Dataset:
        seen.append(set(data.data_vars))
        return real_rhat(data, **kwargs)

    monkeypatch.setattr(gate, "_rhat", spy)
    rng = np.random.default_rng(5)
    awful = np.repeat(np.arange(CHAINS, dtype=float)[:, None, None], DRAWS, axis=1) * np.ones(len(CHANNELS))
    post = _posterior(rng, channel_contribution=awful, mu=_ar1(rng, 0.999, (CHAINS, DRAWS)))
    tree = _tree(post, _stats())

    assert check(diagnose(tree, VARS), GateThresholds.SEARCH) == (True, [])
    assert seen == [set(VARS)]  # never even computed on the deterministics
    passed, reasons = check(diagnose(tree, [*VARS, "channel_contribution"]), GateThresholds.SEARCH)
    assert not passed
    assert any("channel_contribution[" in r for r in reasons)


def test_single_chain_skips_rhat_and_says_so() -> None:
    rng = np.random.default_rng(6)
    post = _posterior(rng).isel(chain=[0])
    diag = diagnose(_tree(post, _stats().isel(chain=[0])), VARS)

    assert diag.n_chains == 1 and diag.n_draws == DRAWS
    assert math.isnan(diag.max_rhat) and diag.worst_rhat_var == ""
    passed, reasons = check(diag, GateThresholds.SEARCH)
    assert passed
    assert reasons == ["R-hat skipped: needs at least 2 chains, got 1"]


def test_missing_sample_stats_gives_zero_divergences_and_missing_var_raises() -> None:
    rng = np.random.default_rng(7)
    post = _posterior(rng)
    assert diagnose(_tree(post), VARS).divergence_rate == 0.0
    assert diagnose(SimpleNamespace(posterior=post), VARS).divergence_rate == 0.0
    with pytest.raises(KeyError, match="gamma_control"):
        diagnose(_tree(post), ["alpha", "gamma_control"])
    with pytest.raises(ValueError):
        diagnose(_tree(post), [])


def test_object_with_dataset_attributes_matches_datatree() -> None:
    rng = np.random.default_rng(8)
    post, stats = _posterior(rng), _stats()
    stats["diverging"][0, :10] = True
    from_tree = diagnose(_tree(post, stats), VARS)
    from_attrs = diagnose(SimpleNamespace(posterior=post, sample_stats=stats), VARS)
    assert from_tree == from_attrs
    assert from_tree.divergence_rate == pytest.approx(10 / (CHAINS * DRAWS))


def test_pymc_marketing_shaped_datatree() -> None:
    """A DataTree laid out the way ``MMM.fit`` leaves ``mmm.idata`` (numpyro backend)."""
    rng = np.random.default_rng(9)
    dates = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[W]")
    coords = {
        "chain": np.arange(2),
        "draw": np.arange(200),
        "channel": ["tv", "search"],
        "control": ["price"],
        "fourier_mode": ["sin_1", "cos_1"],
        "date": dates,
    }
    s = (2, 200)
    posterior = xr.Dataset(
        {
            "intercept_contribution": (("chain", "draw"), rng.normal(size=s)),
            "adstock_alpha": (("chain", "draw", "channel"), rng.beta(2, 2, size=(*s, 2))),
            "saturation_lam": (("chain", "draw", "channel"), rng.gamma(3, 1, size=(*s, 2))),
            "saturation_beta": (("chain", "draw", "channel"), rng.gamma(2, 1, size=(*s, 2))),
            "gamma_control": (("chain", "draw", "control"), rng.normal(size=(*s, 1))),
            "gamma_fourier": (("chain", "draw", "fourier_mode"), rng.normal(size=(*s, 2))),
            "y_sigma": (("chain", "draw"), rng.gamma(2, 1, size=s)),
            "channel_contribution": (("chain", "draw", "date", "channel"), np.zeros((*s, len(dates), 2))),
            "mu": (("chain", "draw", "date"), np.ones((*s, len(dates)))),
        },
        coords=coords,
    )
    sample_stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros(s, dtype=bool)),
            "tree_depth": (("chain", "draw"), np.full(s, 4, dtype=np.int64)),
            "n_steps": (("chain", "draw"), np.full(s, 15, dtype=np.int64)),
            "energy": (("chain", "draw"), rng.normal(size=s)),
            "step_size": (("chain", "draw"), np.full(s, 0.3)),
            "acceptance_rate": (("chain", "draw"), rng.uniform(0.7, 1.0, size=s)),
        },
        coords={"chain": coords["chain"], "draw": coords["draw"]},
    )
    idata = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": sample_stats})
    free = [
        "intercept_contribution",
        "adstock_alpha",
        "saturation_lam",
        "saturation_beta",
        "gamma_control",
        "gamma_fourier",
        "y_sigma",
    ]
    diag = diagnose(idata, free)

    assert isinstance(diag, Diagnostics)
    assert diag.n_chains == 2 and diag.n_draws == 400
    assert diag.max_rhat < 1.05
    assert diag.min_ess_bulk > 200
    assert diag.worst_rhat_var.split("[")[0] in free
    assert check(diag, GateThresholds.SEARCH) == (True, [])
    as_dict = diag.to_dict()
    assert set(as_dict) == {
        "divergence_rate",
        "max_rhat",
        "min_ess_bulk",
        "min_ess_tail",
        "n_draws",
        "n_chains",
        "worst_rhat_var",
        "worst_ess_var",
    }
    assert as_dict["n_chains"] == 2


def test_reason_formatting_separates_close_values() -> None:
    diag = Diagnostics(
        divergence_rate=0.0104,
        max_rhat=1.012,
        min_ess_bulk=399.6,
        min_ess_tail=1000.0,
        n_draws=4000,
        n_chains=4,
        worst_rhat_var="adstock_alpha[tv]",
        worst_ess_var="saturation_lam[search]",
    )
    passed, reasons = check(diag, GateThresholds.FINAL)
    assert not passed
    assert reasons == [
        "divergences 1.04% > 1.00%",
        "R-hat 1.012 > 1.010 (adstock_alpha[tv])",
        "bulk ESS 399.6 < 400.0 (saturation_lam[search])",
    ]
    ok = Diagnostics(0.0, 1.0, 1000.0, 1000.0, 4000, 4)
    assert check(ok, GateThresholds.FINAL) == (True, [])
