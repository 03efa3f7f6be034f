"""Scenarios whose values are distributions: each seed draws a world, checked and recorded."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import tomli_w

from bayestune.errors import BayestuneError
from bayestune.simulator import load_spec, preset_names, resolve_scenario, simulate
from bayestune.simulator.scenario import scenario_from_dict
from bayestune.simulator.worlds import Distribution, key_name, parse_scenario

from tests.simulator.scenarios import scenario_dict
from tests.simulator.test_bad_input import assert_one_line_error, run

# data.csv + contributions.csv + components.csv of each fixed preset, as the simulator wrote them
# before scenarios could draw their values: drawing worlds must leave every written world's data be.
BEFORE = {
    ("collinear", 0): "b879ce70aee48aeb7d915b4ce16752ab",
    ("collinear", 7): "8d6975d7e074588a8199d435b420aaf9",
    ("long-memory", 0): "422ac4df2bd3728409622bc545bac6d7",
    ("long-memory", 7): "ee9ad118bff75cff3e18223cc2b8afed",
    ("misspecified", 0): "c1d4a34a559316823874a2f9716e8ec7",
    ("misspecified", 7): "3b645fafc77a4ef636e37734f7397308",
    ("quickstart", 0): "29937ce6786553853124480c5cd9b80b",
    ("quickstart", 7): "410600436369107e2ff837b64c423d44",
    ("recovery", 0): "84c8b4c36263886c9db62eba070a43dd",
    ("recovery", 7): "146e7b17ae177944cd1e2862c69cbf4c",
    ("rich-seasonality", 0): "67c805e01b5195352c8e58b0536356b2",
    ("rich-seasonality", 7): "8cde7b95b4be5fd3766c3d38749110fb",
    ("seed-blog", 0): "60d9e8cc3adc6b790b31735a69625926",
    ("seed-blog", 7): "b01fdd730f95ec4124f178762ab1b48e",
    ("short", 0): "c1206cdcb2f9e9d9574a98eb7be57d6c",
    ("short", 7): "c51be144e78c260d9816361d02c45d93",
}
WORLDS = [n for n in preset_names() if n.startswith("worlds-")]


def _csv_hash(sim) -> str:
    h = hashlib.sha256()
    for frame in (sim.data, sim.contributions, sim.components):
        h.update(frame.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n").encode())
    return h.hexdigest()[:32]


@pytest.mark.parametrize(("preset", "seed"), sorted(BEFORE))
def test_fixed_presets_simulate_the_same_data_as_before(preset, seed):
    assert load_spec(preset).fixed
    sim = simulate(preset, seed)
    assert _csv_hash(sim) == BEFORE[preset, seed]
    assert sim.truth["scenario"]["drawn"] == {}


def test_every_preset_names_its_regime_and_the_worlds_presets_draw():
    regimes = {name: load_spec(name).regime for name in preset_names()}
    assert all(regimes.values()), regimes
    assert {regimes[n] for n in WORLDS} == {"identifiable", "long memory", "rich seasonality", "short data",
                                           "collinear spend", "misspecified"}
    assert not any(load_spec(n).fixed for n in WORLDS)


def test_a_seed_draws_the_same_world_every_time_and_another_seed_another():
    first, again, other = (simulate("worlds-identifiable", s) for s in (3, 3, 4))
    assert first.truth["scenario"]["drawn"] == again.truth["scenario"]["drawn"]
    assert _csv_hash(first) == _csv_hash(again)
    a, b = first.truth["scenario"]["drawn"], other.truth["scenario"]["drawn"]
    assert a.keys() == b.keys()
    assert all(a[k]["value"] != b[k]["value"] for k in a if "choice" not in a[k]["distribution"])
    assert _csv_hash(first) != _csv_hash(other)


@pytest.mark.parametrize("preset", WORLDS)
def test_drawn_values_lie_in_their_distributions_and_make_the_world(preset):
    spec = load_spec(preset)
    seen: dict[str, set] = {}
    for seed in range(12):
        world, drawn = spec.world(seed)
        data = world.to_dict()
        for key, d in drawn.items():
            (kind, args), = d["distribution"].items()
            value = d["value"]
            if kind == "choice":
                assert value in args
            elif kind == "normal":
                assert abs(value - args[0]) <= 3 * args[1]
            else:
                assert args[0] <= value <= args[1]
            node = data
            for part in key.split("."):
                node = node[int(part)] if isinstance(node, list) else node[part]
            assert node == pytest.approx(value), key
            seen.setdefault(key, set()).add(json.dumps(value))
    assert all(len(v) > 1 for v in seen.values()), seen  # every drawn key varies across seeds


def test_the_regimes_keep_their_defining_property_in_every_world():
    for seed in range(12):
        assert resolve_scenario("worlds-long-memory", seed).adstock.l_max >= 10
        assert resolve_scenario("worlds-rich-seasonality", seed).seasonality.order >= 3
        assert resolve_scenario("worlds-short", seed).weeks <= 64
        assert resolve_scenario("worlds-misspecified", seed).misspecifications
        collinear = resolve_scenario("worlds-collinear", seed)
        assert collinear.channels[1].spend.correlation >= 0.85


def test_truth_json_records_the_world_and_what_was_drawn(capsys, tmp_path):
    out = tmp_path / "d"
    code, printed, _ = run(capsys, "simulate", "--preset", "worlds-long-memory", "--seed", "2", "--out", str(out))
    assert code == 0
    truth = json.loads((out / "truth.json").read_text())
    scenario = truth["scenario"]
    assert scenario["regime"] == "long memory"
    drawn = scenario["drawn"]
    assert drawn["adstock.l_max"]["distribution"] == {"choice": [10, 11, 12]}
    assert scenario["spec"]["adstock"]["l_max"] == drawn["adstock.l_max"]["value"] == truth["structure"]["l_max"]
    alpha = drawn["channels.0.adstock.alpha"]
    assert alpha["distribution"] == {"uniform": [0.75, 0.85]}
    assert truth["parameters"]["original"]["adstock_alpha"]["tv"] == alpha["value"]
    assert "Drawn for seed 2" in printed and "adstock.l_max = " in printed
    # the recorded world, written out as a fixed scenario, gives the same data with the same seed
    again = simulate(scenario_from_dict(scenario["spec"], "truth"), seed=2)
    assert _csv_hash(again) == _csv_hash(simulate("worlds-long-memory", 2))


def test_a_drawn_fourier_order_keeps_that_many_coefficient_pairs():
    orders = set()
    for seed in range(12):
        world, drawn = load_spec("worlds-rich-seasonality").world(seed)
        order = world.seasonality.order
        orders.add(order)
        assert len(world.seasonality.coefficients) == order
        assert not any(k.startswith(f"seasonality.coefficients.{order}.") for k in drawn)
    assert orders == {3, 4, 5}


def test_each_key_draws_from_its_own_stream():
    data = scenario_dict()
    data["noise"]["scale"] = {"uniform": [300.0, 900.0]}
    one = parse_scenario(data, "t").world(5)[1]
    data["intercept"] = {"normal": [20000.0, 1000.0]}
    two = parse_scenario(data, "t").world(5)[1]
    assert one["noise.scale"] == two["noise.scale"]  # adding a drawn key leaves the others' draws be


def test_a_normal_is_truncated_at_three_sd():
    d = Distribution.parse({"normal": [1.0, 2.0]}, "x")
    rng = np.random.default_rng(0)
    x = np.array([d.draw(rng) for _ in range(5000)])
    assert x.min() >= -5.0 and x.max() <= 7.0
    assert abs(x.mean() - 1.0) < 0.1 and 1.8 < x.std() < 2.0
    assert d.support == (-5.0, 7.0)


def _channel(data, key, value):
    data["channels"][0][key] = value
    return data


BAD = [
    (lambda d: _channel(d, "adstock", {"alpha": {"uniform": [0.7, 0.3]}}),
     "uniform takes [low, high] with low < high", "channels.0.adstock.alpha"),
    (lambda d: _channel(d, "adstock", {"alpha": {"uniform": [0.3, 1.2]}}),
     "can draw 1.2", "channels.0.adstock.alpha"),
    (lambda d: _channel(d, "adstock", {"alpha": {"normal": [0.1, 0.1]}}),
     "{normal = [0.1, 0.1]} can draw -0.2", "channels.0.adstock.alpha"),
    (lambda d: d | {"noise": {"scale": {"loguniform": [0.0, 100.0]}}},
     "loguniform takes [low, high] with 0 < low < high", "noise.scale"),
    (lambda d: d | {"noise": {"scale": {"normal": [500.0, 0.0]}}}, "normal takes [mu, sd] with sd > 0", "noise.scale"),
    (lambda d: d | {"weeks": {"choice": []}}, "choice takes a non-empty list", "weeks"),
    (lambda d: d | {"weeks": {"uniform": [60, 80]}}, "fractional part; an integer key draws from a choice", "weeks"),
    (lambda d: d | {"weeks": {"choice": [60, 10]}}, "can draw 10", "weeks"),
    (lambda d: d | {"intercept": {"uniform": [1.0, 2.0], "normal": [1.0, 1.0]}}, "a table of one key", "intercept"),
    (lambda d: d | {"intercept": {"uniform": ["a", 2.0]}}, "uniform takes [low, high]", "intercept"),
    (lambda d: d | {"name": {"choice": ["a", "b"]}}, "'name' cannot be drawn", "name"),
]


@pytest.mark.parametrize(("change", "message", "key"), BAD)
def test_a_bad_distribution_is_one_line_naming_its_key(capsys, tmp_path, change, message, key):
    path = tmp_path / "scenario.toml"
    path.write_text(tomli_w.dumps(change(scenario_dict())))
    code, _, err = run(capsys, "simulate", "--scenario", str(path), "--out", str(tmp_path / "d"))
    assert_one_line_error(code, err, message, f"scenario.toml: {key})")
    assert not (tmp_path / "d").exists()


def test_a_world_invalid_only_in_combination_names_the_seed():
    data = scenario_dict(weeks=40)
    data["adstock"]["l_max"] = {"choice": [4, 18]}
    data["weeks"] = {"choice": [40, 32]}  # each alone is fine at the other's reference; 32 weeks and l_max 18 are not
    spec = parse_scenario(data, "t")
    failed = []
    for seed in range(20):
        try:
            spec.resolve(seed)
        except BayestuneError as exc:
            failed.append(str(exc))
    assert failed and "draws a world that is not valid: too few weeks" in failed[0] and "seed " in failed[0]


def test_key_names_are_dotted_locations():
    assert key_name(("channels", 0, "adstock", "alpha")) == "channels.0.adstock.alpha"


def test_the_readme_example_of_a_drawn_world_is_valid():
    import re
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = re.search(r"### Drawn worlds.*?```toml\n(.*?)```", readme, re.S).group(1)
    spec = parse_scenario(tomllib.loads('name = "readme"\n' + example), "README")
    assert {key_name(loc) for loc in spec.draws} >= {"weeks", "adstock.l_max", "seasonality.order",
                                                     "channels.0.adstock.alpha"}
    orders = {spec.resolve(seed).seasonality.order for seed in range(10)}
    assert orders == {3, 4}


def test_a_scenario_file_whose_top_level_looks_like_a_distribution_is_refused_in_one_line():
    with pytest.raises(BayestuneError, match="invalid scenario"):
        parse_scenario({"uniform": [1.0, 2.0]}, "t")
