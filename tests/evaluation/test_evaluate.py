"""The demo path end to end (real sampling, tiny settings), and a dataset without truth."""

from __future__ import annotations

import json
import math
import shutil

import pandas as pd
import pytest

import bayestune.demo
from bayestune.bench.cell import _environment as cell_environment
from bayestune.cli import main
from bayestune.errors import BayestuneError
from bayestune.evaluation import evaluate
from bayestune.evaluation.report import Report

SECTIONS = ("run", "truth", "recovery", "train_test", "convergence", "runtime", "warnings", "figures", "headline")
FIGURES = {"history.png", "by_hyperparameter.png", "grid.png", "predictive.png", "roas.png", "kernels.png"}


def _numbers(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from _numbers(v)
    elif isinstance(x, list):
        for v in x:
            yield from _numbers(v)
    elif isinstance(x, float):
        yield x


@pytest.fixture
def demo(tiny_demo):
    return tiny_demo


@pytest.mark.slow
def test_the_demo_path_writes_a_complete_report(demo):
    out, run, printed = demo
    assert (out / "dataset" / "overview.png").stat().st_size > 10_000
    assert f"Report:  {run / 'report.md'}" in printed and "Chosen: Fourier order" in printed
    assert not (out / "run.new").exists()
    data = json.loads((run / "report.json").read_text())
    # the report names the run dir by its final path, not the staging dir it was written in
    assert data["run"]["path"] == str(run)
    assert (run / "report.md").read_text().startswith(f"# bayestune report: {run}\n")
    assert data["schema"] == "bayestune.report/1"
    assert all(s in data for s in SECTIONS)
    assert {p.name for p in (run / "figures").iterdir()} == FIGURES
    assert all((run / f).stat().st_size > 10_000 for f in data["figures"])
    t = data["truth"]
    assert t["available"] and t["oracle"]["available"] and not t["oracle"]["selectable"]
    assert set(t["hyperparameters"]) >= {"yearly_seasonality", "l_max", "adstock", "saturation"}
    assert math.isfinite(t["regret"]["regret"]) and t["regret"]["se"] > 0
    assert 1 <= t["oracle"]["rank"]["rank"] <= 4
    assert set(t["adstock_kernels"]["channels"]) == {"tv", "search"}
    rec = data["recovery"]
    assert rec["available"] and set(rec["channels"]) == {"tv", "search"}
    assert rec["parameters"]["parameters"]  # the forms match the truth: parameters are shared
    tt = data["train_test"]
    assert tt["available"] and not tt["in_sample_test"] and tt["recomputed_from_draws_matches_run"]
    assert tt["fit_range"] == [0, 70] and tt["test_range"] == [70, 78]
    assert len(data["runtime"]["trials"]) == 3
    # every number the report holds is finite (NaN would have been written as null)
    assert all(math.isfinite(x) for x in _numbers(data))
    md = (run / "report.md").read_text()
    assert "## The choice against the truth" in md and "Regret" in md and "![figures/grid.png]" in md
    # the oracle never entered the study: 3 trials, none of them the oracle
    assert json.loads((run / "oracle.json").read_text())["state"] == "COMPLETE"
    assert len(data["runtime"]["trials"]) == data["run"]["trials"] == 3


@pytest.mark.slow
def test_without_truth_the_report_says_so(demo, tmp_path, capsys):
    out, run, _ = demo
    own = tmp_path / "own"
    shutil.copytree(out / "dataset", own)
    for name in ("truth.json", "contributions.csv", "components.csv"):
        (own / name).unlink()
    code = main(["evaluate", "--run", str(run), "--data", str(own), "--out", str(tmp_path / "report")])
    assert code == 0
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    for section in ("truth", "recovery"):
        assert data[section] == {"available": False, "reason": "no ground truth: the dataset dir has no truth.json"}
    assert data["train_test"]["available"] and data["runtime"]["trials"]
    assert "no ground truth" in (tmp_path / "report" / "report.md").read_text()
    assert "truth scores are not available" in capsys.readouterr().out
    # the figures that need no truth are still drawn
    assert {"history.png", "grid.png", "predictive.png", "kernels.png"} <= {p.name for p in (tmp_path / "report" / "figures").iterdir()}


@pytest.mark.slow
def test_a_failed_evaluation_keeps_the_previous_report(demo, tmp_path, capsys):
    _, run, _ = demo
    before = (run / "report.json").read_text()
    code = main(["evaluate", "--run", str(run), "--data", str(tmp_path / "missing")])
    assert code == 2
    assert capsys.readouterr().err.startswith("bayestune: error: ")
    assert (run / "report.json").read_text() == before


def test_evaluate_refuses_what_is_not_a_run(tmp_path, capsys):
    assert main(["evaluate", "--run", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"bayestune: error: no such run dir ({tmp_path / 'nope'})"
    assert main(["evaluate", "--run", str(tmp_path)]) == 2
    assert "not a run dir (no trials.csv)" in capsys.readouterr().err
    with pytest.raises(BayestuneError, match="no such run dir"):
        evaluate(tmp_path / "nope")


def _seed_of(run):
    import tomllib

    return tomllib.loads((run / "config.toml").read_text())["seed"]


def test_a_failed_demo_keeps_the_previous_run(tmp_path, monkeypatch):
    """Fits are faked through the fitter seam (the study runs for real); evaluate is faked."""
    import bayestune.evaluation
    from tests.tuning.test_study import TINY

    named = []

    def fake_evaluate(run, data, *, named_as):
        assert (run / "best.json").exists() and run != named_as  # evaluated while staged ...
        named.append(named_as)  # ... under the name it gets once complete
        return Report({}, run / "report.json", run / "report.md", [run / "figures" / "grid.png"])

    monkeypatch.setattr(bayestune.evaluation, "evaluate", fake_evaluate)
    settings = TINY | {"trials": 2, "oracle": False, "fitter": "tests.tuning.fakes:FakeFitter"}
    out = tmp_path / "demo"
    run, report = bayestune.demo.run_demo(out, seed=0, quiet=True, settings=settings)
    assert run == out / "run"
    assert (report.markdown_path, report.figures) == (run / "report.md", [run / "figures" / "grid.png"])
    assert _seed_of(bayestune.demo.run_demo(out, seed=1, quiet=True, settings=settings)[0]) == 1
    every_fit_fails = settings | {"fitter": "tests.tuning.fakes:FailsOnLMax3",
                                  "space": {"yearly_seasonality": [1, 2], "l_max": [3, 3]}}
    with pytest.raises(BayestuneError, match="no trial completed"):
        bayestune.demo.run_demo(out, seed=2, quiet=True, settings=every_fit_fails)
    assert _seed_of(out / "run") == 1  # the last complete run is kept
    assert named == [out / "run", out / "run"]


@pytest.mark.slow
def test_a_truth_from_another_generator_is_scored_where_it_can_be(demo, tmp_path, capsys):
    out, run, _ = demo
    own = tmp_path / "foreign"
    shutil.copytree(out / "dataset", own)
    (own / "components.csv").unlink()
    ours = json.loads((own / "truth.json").read_text())
    # what another generator writes: the documented fields the report needs, no parameters
    keep = ("schema", "columns", "structure", "roas", "contribution_share", "adstock_kernel", "effective_l_max")
    foreign = {k: ours[k] for k in keep}
    (own / "truth.json").write_text(json.dumps(foreign))
    assert main(["evaluate", "--run", str(run), "--data", str(own), "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "a" / "report.json").read_text())
    t, rec = data["truth"], data["recovery"]
    assert t["problems"] == ["parameters.scaled is missing: parameter recovery is not available"]
    assert t["hyperparameters"]["l_max"]["true"] == ours["structure"]["l_max"] and t["regret"]["se"] > 0
    assert set(t["adstock_kernels"]["channels"]) == {"tv", "search"}
    assert rec["available"] and set(rec["channels"]) == {"tv", "search"}
    assert rec["parameters"] == {"available": False, "parameters": {},
                                 "reason": "parameters.scaled is missing in the truth"}
    assert "Not scored: parameter recovery (parameters.scaled is missing in the truth)." in printed
    md = (tmp_path / "a" / "report.md").read_text()
    assert "Not available: parameter recovery (parameters.scaled is missing in the truth)." in md
    assert "- parameters.scaled is missing: parameter recovery is not available" in md

    # Hill saturation from another simulator, its parameters under its form's names: the
    # model fitted logistic saturation, so only the saturation parameters are left out; and
    # ROAS under another name, so the per-channel recovery is left out, not the parameters
    scaled = {k: v for k, v in ours["parameters"]["scaled"].items() if not k.startswith("saturation_")}
    scaled |= {"saturation_slope": {"tv": 1.5, "search": 2.0}, "saturation_kappa": {"tv": 0.4, "search": 0.6}}
    foreign |= {"structure": ours["structure"] | {"saturation": "hill"},
                "parameters": {"scaled": scaled, "scales": ours["parameters"]["scales"]}}
    foreign["return_on_ad_spend"] = foreign.pop("roas")
    (own / "truth.json").write_text(json.dumps(foreign))
    assert main(["evaluate", "--run", str(run), "--data", str(own), "--out", str(tmp_path / "b")]) == 0
    data = json.loads((tmp_path / "b" / "report.json").read_text())
    assert data["recovery"]["available"] and "channels" not in data["recovery"]
    assert data["recovery"]["channels_unavailable"] == "roas is missing in the truth"
    assert "figures/roas.png" not in data["figures"] and "figures/kernels.png" in data["figures"]
    params = data["recovery"]["parameters"]
    assert params["skipped"] == {"saturation_*": "the truth's saturation form is hill, the fit's logistic: "
                                                 "their saturation_* parameters mean different things"}
    assert {"adstock_alpha[tv]", "adstock_alpha[search]", "y_sigma"} <= set(params["parameters"])
    assert not any(k.startswith("saturation_") for k in params["parameters"])
    assert data["truth"]["hyperparameters"]["saturation"] == {"chosen": "logistic", "true": "hill",
                                                              "abs_error": None, "exact": False}
    assert "Left out: the saturation_* parameters (the truth's saturation form is hill" in (
        tmp_path / "b" / "report.md").read_text()


NAMED_SAMPLER = "tests.tuning.fakes:NamedSampler"
"""The fake fitter, saying it runs the sampler ``fake-nuts``."""


@pytest.fixture(scope="module")
def fake_fitted(tmp_path_factory):
    """A dataset with truth, and a tiny study through the fake fitter (its ``save`` writes JSON,
    not ArviZ netCDF) scored with ``score``: a function of the score, each run tuned once."""
    from bayestune.simulator import simulate
    from bayestune.simulator.dataset import write_dataset
    from bayestune.tuning import tune
    from tests.tuning.test_study import config

    root = tmp_path_factory.mktemp("fake-fitted")
    data = write_dataset(simulate("quickstart", seed=1), root / "data")
    runs = {}

    def run(score: str = "crps"):
        if score not in runs:
            runs[score] = root / f"run-{score}"
            tune(data, config(trials=3, fitter=NAMED_SAMPLER, score=score), runs[score])
        return data, runs[score]

    return run


def test_a_fit_that_is_not_arviz_netcdf_is_evaluated_on_everything_else(fake_fitted, tmp_path, capsys):
    data, run = fake_fitted()
    assert main(["evaluate", "--run", str(run), "--out", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert set(SECTIONS) <= set(report)
    reason = "the fitter's saved fit is not an ArviZ netCDF ("
    rec, kernels = report["recovery"], report["truth"]["adstock_kernels"]
    assert rec["available"] is False and rec["reason"].startswith(reason)
    assert kernels["available"] is False and kernels["reason"] == rec["reason"]
    # the rest is scored: the choice against the truth, the regret, the train/test pair, convergence
    t = report["truth"]
    assert t["available"] and "hyperparameters" in t and "regret" in t
    assert report["train_test"]["available"] and report["convergence"]["available"]
    assert any(line.startswith("Not scored: ") and reason in line for line in report["headline"])
    assert reason in (tmp_path / "r" / "report.md").read_text()
    assert "kernels.png" not in {f.rsplit("/", 1)[-1] for f in report["figures"]}
    # the fitter that ran and its own sampler, not --sampler: in trials.csv, environment.json, the report, a suite cell
    trials = pd.read_csv(run / "trials.csv")
    assert set(trials["fitter"]) == {NAMED_SAMPLER} and set(trials["sampler"]) == {"fake-nuts"}
    env = json.loads((run / "environment.json").read_text())
    assert (env["fitter"], env["sampler"], env["device"]) == (NAMED_SAMPLER, "fake-nuts", "cpu")
    assert (report["runtime"]["fitter"], report["runtime"]["sampler"], report["run"]["sampler"]) == \
        (NAMED_SAMPLER, "fake-nuts", "fake-nuts")
    assert f"Fitter {NAMED_SAMPLER}, sampler fake-nuts on cpu" in (tmp_path / "r" / "report.md").read_text()
    assert cell_environment(report) == {"fitter": NAMED_SAMPLER, "sampler": "fake-nuts", "device": "cpu",
                                        "cores": report["runtime"]["cores"]}


def test_the_report_names_the_searchs_score_where_it_is_not_crps(fake_fitted, tmp_path):
    data, run = fake_fitted("log")
    best = json.loads((run / "best.json").read_text())
    report = evaluate(run, out=tmp_path / "log").data
    assert (report["run"]["score"], report["run"]["crps_units"]) == ("log", best["crps_units"])
    assert "nats" in best["crps_units"]
    chosen, regret = report["headline"][0], next(h for h in report["headline"] if h.startswith("Regret: "))
    assert "cross-validated log score" in chosen and best["crps_units"] in chosen and "CRPS" not in chosen
    assert "log score (chosen minus true structure" in regret and "CRPS" not in regret
    md = (tmp_path / "log" / "report.md").read_text()
    assert "The search ranked the trials by the log score: " in md and "CRPS is in" not in md
    assert "Regret log score(chosen) − log score(true)" in md and "CV log score" in md
    # the default keeps its CRPS wording
    data, run = fake_fitted()
    report = evaluate(run, out=tmp_path / "crps").data
    assert report["run"]["score"] == "crps"
    assert "cross-validated CRPS" in report["headline"][0] and "(target units; " in report["headline"][0]
    assert "CRPS is in " in (tmp_path / "crps" / "report.md").read_text()


def test_both_regrets_are_reported_and_an_old_final_json_is_still_evaluated(fake_fitted, tmp_path):
    data, run = fake_fitted()
    report = evaluate(run, out=tmp_path / "new").data
    final = json.loads((run / "final.json").read_text())
    t = report["truth"]
    assert "winner's curse" in t["regret"]["window"] and t["regret"]["weeks"] > 0
    g = t["final_regret"]
    chosen, true = final["train_test"]["test_week_crps"], final["oracle_test"]["test_week_crps"]
    assert g["available"] and g["weeks"] == len(chosen) == len(true)
    assert g["regret"] == pytest.approx(sum(c - o for c, o in zip(chosen, true)) / len(chosen))
    honest = next(h for h in report["headline"] if h.startswith("Honest regret: "))
    assert "never-searched test weeks" in honest and "Only this regret is free of the winner's curse" in honest
    md = (tmp_path / "new" / "report.md").read_text()
    assert "Honest regret CRPS(chosen) − CRPS(true) = " in md and "free of the winner's curse" in md
    assert not g["same_structure"] and g["regret"] != 0  # the fake's shift: Fourier 2 (the truth) is not chosen
    assert "true structure (honest regret)" in md and report["runtime"]["final_oracle"]["seconds_sample"] > 0

    old = tmp_path / "old-run"
    shutil.copytree(run, old)
    del final["oracle_test"]  # a final.json from before the true structure was refitted
    (old / "final.json").write_text(json.dumps(final))
    report = evaluate(old, out=tmp_path / "old").data
    g = report["truth"]["final_regret"]
    assert not g["available"] and "did not refit the true structure" in g["reason"]
    assert report["truth"]["regret"]["weeks"] > 0 and report["train_test"]["available"]
    assert any(h.startswith("Honest regret: not available (") for h in report["headline"])
