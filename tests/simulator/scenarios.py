"""Small scenarios built in code, for tests that vary one part of a world."""

from __future__ import annotations

import copy
from typing import Any

from bayestune.simulator.scenario import Scenario, scenario_from_dict

ADSTOCK_PARAMS = {
    "geometric": [{"alpha": 0.6}, {"alpha": 0.2}],
    "delayed": [{"alpha": 0.6, "theta": 1.5}, {"alpha": 0.3, "theta": 0.0}],
    "weibull_pdf": [{"lam": 3.0, "k": 1.5}, {"lam": 1.5, "k": 2.0}],
    "weibull_cdf": [{"lam": 3.0, "k": 1.2}, {"lam": 1.0, "k": 0.8}],
}
SATURATION_PARAMS = {
    "logistic": [{"lam": 2.0, "beta": 5000.0}, {"lam": 3.0, "beta": 3000.0}],
    "hill": [{"slope": 2.0, "kappa": 0.5, "beta": 5000.0}, {"slope": 1.2, "kappa": 0.3, "beta": 3000.0}],
    "michaelis_menten": [{"alpha": 6000.0, "lam": 0.4}, {"alpha": 3000.0, "lam": 0.8}],
    "tanh": [{"b": 5000.0, "c": 0.0002}, {"b": 3000.0, "c": 0.0004}],
}


def scenario_dict(adstock: str = "geometric", saturation: str = "logistic", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": f"test-{adstock}-{saturation}",
        "weeks": 60,
        "intercept": 10000.0,
        "adstock": {"form": adstock, "l_max": 6},
        "saturation": {"form": saturation},
        "seasonality": {"order": 2, "coefficients": [[800.0, 300.0], [200.0, -100.0]]},
        "noise": {"scale": 300.0},
        "channels": [
            {"name": "tv", "spend": {"pattern": "flighting", "scale": 5000.0, "on_weeks": 4, "off_weeks": 2},
             "adstock": ADSTOCK_PARAMS[adstock][0], "saturation": SATURATION_PARAMS[saturation][0]},
            {"name": "search", "spend": {"pattern": "always_on", "scale": 2000.0},
             "adstock": ADSTOCK_PARAMS[adstock][1], "saturation": SATURATION_PARAMS[saturation][1]},
        ],
        "controls": [
            {"kind": "event", "name": "promo", "weeks": [5, 30], "coefficient": 1500.0},
            {"kind": "continuous", "name": "price", "coefficient": -400.0},
        ],
    }
    data.update(overrides)
    return copy.deepcopy(data)


def small_scenario(adstock: str = "geometric", saturation: str = "logistic", **overrides: Any) -> Scenario:
    return scenario_from_dict(scenario_dict(adstock, saturation, **overrides), "test")
