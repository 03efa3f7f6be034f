"""The one command, ``bayestune``, with a subcommand per job.

Each subcommand is a small function that calls the library and returns an exit code.
Bad input ends in one line, ``bayestune: error: <what> (<where>)``, and exit status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bayestune import __version__
from bayestune.errors import BayestuneError, RunFailed

EXIT_USAGE = 2
EXIT_INTERNAL = 1
EXIT_WORSE = 1
"""A gate or a comparison found worse quality, or a suite cell failed."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BayestuneError(message, f"see '{self.prog} --help'")


class _SubParser(_Parser):
    """A subcommand's parser: an unknown flag is its own error, pointing to its own help.

    argparse hands a subcommand's leftover arguments back to the top-level parser, whose
    error would name ``bayestune --help``, where the misspelt flag is not listed.
    """

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        try:
            namespace, extras = super().parse_known_args(args, namespace)
        except BayestuneError as exc:
            # A misspelt flag also leaves its option missing: name the typo, the cause, first.
            unknown = [a for a in args or [] if a.startswith("--") and not self._known(a)]
            if unknown and exc.where == f"see '{self.prog} --help'" and "required" in exc.what:
                self._unrecognized(unknown)
            raise
        if extras:
            self._unrecognized(extras)
        return namespace, extras

    def _flags(self) -> list[str]:
        return [s for a in self._actions for s in a.option_strings if s.startswith("--")]

    def _known(self, arg: str) -> bool:
        name = arg.split("=", 1)[0]
        return name == "--" or any(flag.startswith(name) for flag in self._flags())

    def _unrecognized(self, extras: list[str]) -> None:
        hint = ""
        for arg in extras:
            near = difflib.get_close_matches(arg.split("=", 1)[0], self._flags(), n=1)
            if arg.startswith("--") and near:
                hint = f"; did you mean {near[0]}?"
                break
        self.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


# ------------------------------------------------------------------------ simulate
def _cmd_simulate(args: argparse.Namespace) -> int:
    from bayestune import simulator
    from bayestune.simulator.plot import plot_overview

    if args.list:
        rows = simulator.describe_presets()
        width = max(len(name) for name, _ in rows)
        for name, description in rows:
            print(f"{name:<{width}}  {description}")
        return 0
    if (args.preset is None) == (args.scenario is None):
        raise BayestuneError("give exactly one of --preset NAME or --scenario FILE", "bayestune simulate")
    if args.out is None:
        raise BayestuneError("the output directory is required", "--out")
    scenario = (
        simulator.load_preset(args.preset) if args.preset else simulator.load_scenario(args.scenario)
    )
    sim = simulator.simulate(scenario, seed=args.seed)
    extra = (lambda d: plot_overview(sim, d / simulator.dataset.OVERVIEW_FILE)) if args.plot else None
    out = simulator.write_dataset(sim, args.out, force=args.force, extra=extra)
    _report_dataset(out, sim)
    return 0


def _report_dataset(out: Path, sim: simulator.SimulatedDataset) -> None:  # noqa: F821
    truth = sim.truth
    s = truth["structure"]
    print(f"Simulated {truth['scenario']['name']!r} (seed {truth['scenario']['seed']}): "
          f"{len(sim.data)} weeks, {len(truth['columns']['channels'])} channels, "
          f"{'well-specified' if s['well_specified'] else 'misspecified'}"
          + (f", regime {truth['scenario']['regime']!r}." if truth["scenario"].get("regime") else "."))
    drawn = truth["scenario"].get("drawn") or {}
    if drawn:
        print(f"Drawn for seed {truth['scenario']['seed']} (truth.json: scenario.drawn):")
        for key, d in drawn.items():
            v = d["value"]
            value = (f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}") if isinstance(v, float) else repr(v)
            (kind, args), = d["distribution"].items()
            print(f"  {key} = {value}  ({kind} {args})")
    for name in sorted(p.name for p in out.iterdir()):
        print(f"  {out / name}")


# ------------------------------------------------------------------------ validate
def _roles(args: argparse.Namespace):
    from bayestune import simulator

    if args.channels is None:
        return None
    return simulator.parse_columns(args.date_column, args.target_column, args.channels, args.controls)


def _add_column_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date-column", default="date", help="date column (default: date)")
    p.add_argument("--target-column", default="y", help="target column (default: y)")
    p.add_argument("--channels", metavar="A,B", help="comma-separated spend columns (needed without truth.json)")
    p.add_argument("--controls", metavar="C,D", default="", help="comma-separated control columns")


def _cmd_validate(args: argparse.Namespace) -> int:
    from bayestune import simulator

    roles = _roles(args)
    need = simulator.required_weeks(args.max_l_max, args.holdout) if args.max_l_max else None
    ds = simulator.read_dataset(args.data, roles, min_weeks=need)
    dates = ds.data[ds.columns.date]
    print(f"{ds.path}: valid. {ds.weeks} weeks, {dates.iloc[0]:%Y-%m-%d} to {dates.iloc[-1]:%Y-%m-%d}.")
    print(f"  target {ds.columns.target!r}; channels {', '.join(ds.columns.channels)}; "
          f"controls {', '.join(ds.columns.controls) or 'none'}")
    if not ds.has_truth:
        print("  truth: none (truth scores will be reported as not available)")
        return 0
    scenario = ds.truth.get("scenario")
    named = f" ({scenario.get('name')}, seed {scenario.get('seed')})" if isinstance(scenario, dict) else ""
    problems = ds.truth_check().problems
    print(f"  truth: yes{named}" + (f"; {len(problems)} problem(s), the rest is scored:" if problems else ""))
    for line in problems:
        print(f"    truth.json: {line}")
    return 0


# ---------------------------------------------------------------------------- tune
TUNE_FLAGS = ("trials", "sampler", "draws", "tune", "chains", "validation", "folds", "horizon", "step",
              "seed", "storage", "workers", "quiet", "oracle", "selection", "score", "fitter", "replicates",
              "replicate_top")


def _cmd_tune(args: argparse.Namespace) -> int:
    from bayestune.rundir import read_best
    from bayestune.simulator import read_dataset
    from bayestune.tuning import load_config, tune

    overrides = {k: getattr(args, k) for k in TUNE_FLAGS}
    config = load_config(args.config, overrides)
    dataset = read_dataset(args.data, _roles(args))
    result = tune(dataset, config, args.out, final=not args.no_final)
    print(f"Run dir: {result.run}")
    print(f"Best: {result.best} with CV CRPS {result.best_crps:.2f} (target units per week)")
    best, _ = read_best(result.run)
    rep = best.selection_rule.get("replicates")
    if rep:
        sd = rep["mcmc_sd_median"]
        print(f"Replicate refits: {rep['fits']} more trial(s), {len(rep['candidates'])} candidate(s) x "
              f"{rep['replicates']} seed(s), in {rep['seconds'] / 60:.1f} min; the choice's CRPS over its fits "
              f"{best.crps_replicate_mean:.2f}"
              + (f"; MCMC noise of a candidate's CRPS (median SD over its fits) {sd:.2f}" if sd is not None else ""))
    if result.final:
        tt = result.final["train_test"]
        print(f"Final: train CRPS {tt['train_crps']:.2f}, test CRPS {tt['test_crps']:.2f} "
              f"on {tt['test_weeks']} weeks never seen by the fit or the search")
        full = result.final["full_fit"]
        verdict = "passed" if full["strict_gate_passed"] else "FAILED: " + "; ".join(full["strict_gate_failures"])
        print(f"Full-data refit, strict convergence gate: {verdict}")
    return 0


# ------------------------------------------------------------------------ evaluate
def _print_headline(lines: list[str]) -> None:
    for line in lines:
        print(f"  {line}")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from bayestune.evaluation import evaluate

    if args.max_gap_ratio is not None and args.max_gap_ratio <= 0:
        raise BayestuneError("must be positive", "--max-gap-ratio")
    kwargs = {} if args.max_gap_ratio is None else {"max_gap_ratio": args.max_gap_ratio}
    report = evaluate(args.run, args.data, args.out, **kwargs)
    _print_headline(report.headline)
    print(f"Report: {report.markdown_path} (and {report.json_path.name}, {len(report.figures)} figures "
          f"in {report.json_path.parent / 'figures'})")
    return 0


# ---------------------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace) -> int:
    from bayestune.demo import run_demo

    print(f"bayestune demo: simulate 'quickstart', tune, evaluate into {args.out}/ (a few minutes)", flush=True)
    run, report = run_demo(args.out, seed=args.seed, quiet=args.quiet)
    print()
    _print_headline(report.headline)
    print(f"\nDataset: {Path(args.out) / 'dataset'} (overview.png shows the truth)")
    print(f"Report:  {run / 'report.md'} (figures in {run / 'figures'})")
    return 0


# --------------------------------------------------------------------------- bench
def _seeds(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise BayestuneError("seeds must be comma-separated integers, e.g. 0,1,2", "--seeds") from None
    if not seeds or min(seeds) < 0:
        raise BayestuneError("give at least one non-negative seed", "--seeds")
    return seeds


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if not names:
        raise BayestuneError("give at least one methodology name", "--methodologies")
    return names


def _run_suite(args: argparse.Namespace):
    from bayestune.bench import load_suite, run_suite
    from bayestune.bench.executor import opened

    suite = load_suite(args.suite)
    if getattr(args, "reruns", None) is not None and not args.mutants:
        raise BayestuneError("--reruns goes with --mutants", "bayestune bench")
    if getattr(args, "mutants", False):
        from bayestune.bench.suite import MutantsTable, with_mutants

        if args.reruns is not None and args.reruns < 0:
            raise BayestuneError("must be 0 or more", "--reruns")
        suite = with_mutants(suite, MutantsTable(), reruns=args.reruns)
    seeds = _seeds(args.seeds)
    out = Path(args.out) if args.out else Path("bench-results") / suite.name
    with opened(args.workers, args.scheduler) as executor:
        payload = run_suite(suite, out, executor, seeds=seeds, methodologies=_names(args.methodologies),
                            progress=None if args.quiet else _say)
    return suite, out, payload


def _say(line: str) -> None:
    print(line, flush=True)


def _detect(items: Sequence[str] | None) -> dict[str, float]:
    """``METRIC=DELTA`` pairs of ``--detect``."""
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        try:
            delta = float(value) if sep else float("nan")
        except ValueError:
            delta = float("nan")
        if not name.strip() or delta != delta or delta == 0:
            raise BayestuneError(f"expected METRIC=DELTA with a non-zero number, e.g. kernel_l1_max=0.05, not {item!r}",
                                 "--detect")
        out[name.strip()] = delta
    return out


def _compare(base_path: Path, new_path: Path, noise_z: float | None, tolerance: float | None, show_all: bool,
             alpha: float | None = None, detect: Sequence[str] | None = None) -> int:
    from bayestune.bench import load_results
    from bayestune.bench.compare import compare_files, detect_lines, render
    from bayestune.bench.paired import quality_metrics

    wanted = _detect(detect)
    base, new = load_results(base_path), load_results(new_path)
    rules = new["suite"].get("compare", {})
    z = noise_z if noise_z is not None else rules.get("noise_z", 2.0)
    tol = tolerance if tolerance is not None else rules.get("runtime_tolerance", 1.5)
    a = alpha if alpha is not None else rules.get("alpha", 0.05)
    power = rules.get("power", 0.8)
    if z <= 0:
        raise BayestuneError("must be positive", "--noise-z")
    if tol <= 1:
        raise BayestuneError("must be above 1", "--runtime-tolerance")
    if not 0 < a < 1:
        raise BayestuneError("must lie strictly between 0 and 1", "--alpha")
    known = quality_metrics(base, new)
    for name in wanted:
        if name not in known:
            raise BayestuneError(f"unknown quality metric {name!r} (known: {', '.join(known)})", "--detect")
    result = compare_files(base, new, alpha=a, power=power, noise_z=z, runtime_tolerance=tol)
    print(f"bench compare: BASE {base_path} -> NEW {new_path}")
    print(f"  {result.mode_line()}")
    for line in render(result.changes, result.notes, show_all=show_all):
        print(f"  {line}")
    for line in detect_lines(result, wanted, power=power):
        print(f"  {line}")
    return EXIT_WORSE if result.worse else 0


def _replay(results: Path, rules: list[str] | None, methodology: str | None) -> int:
    from bayestune.bench.replay import DEFAULT_RULES, replay, to_markdown

    rows, summary = replay(results, rules or DEFAULT_RULES, methodology)
    print(f"bench replay: {len(rows)} cell(s) of {results}, no fit")
    print(to_markdown(rows, summary), end="")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.bench_command == "compare":
        return _compare(args.base, args.new, args.noise_z, args.runtime_tolerance, args.all, args.alpha, args.detect)
    if args.bench_command == "replay":
        return _replay(args.results, args.selection, args.methodology)
    if args.suite is None:
        raise BayestuneError("give --suite NAME (or FILE), or use 'bayestune bench compare BASE NEW'", "bayestune bench")
    if args.baseline is not None:
        from bayestune.bench import load_results

        load_results(args.baseline)  # bad baseline: say so before hours of work
    suite, out, payload = _run_suite(args)
    print(f"\nResults: {out / 'results.json'}\nSummary: {out / 'summary.md'}")
    failed = sum(c["status"] != "ok" for c in payload["cells"])
    status = 0
    if failed:
        print(f"{failed} cell(s) failed; their errors are in the summary", file=sys.stderr)
        status = EXIT_WORSE
    if args.baseline is not None:
        print()
        status = max(status, _compare(args.baseline, out / "results.json", None, None, False))
    return status


# ---------------------------------------------------------------------------- gate
def _cmd_gate(args: argparse.Namespace) -> int:
    from bayestune.bench import load_results, load_suite
    from bayestune.bench.gate import gate_checks

    suite = load_suite(args.suite)
    if args.results is not None:
        payload = load_results(args.results)
    else:
        _, _, payload = _run_suite(args)
    checks = gate_checks(payload, suite.spec.gate)
    print(f"bayestune gate: suite {suite.name!r} ({suite.path.name})")
    if payload["suite"].get("name") != suite.name:
        print(f"  note: the results come from suite {payload['suite'].get('name')!r}; "
              f"checked against {suite.name!r}'s thresholds")
    for check in checks:
        print(f"  {check.line()}")
    blind = _gate_on_mutants(payload, suite.spec.gate)
    failed = [c for c in checks if not c.passed]
    if failed:
        print(f"gate FAILED: {len(failed)} of {len(checks)} checks", file=sys.stderr)
        return EXIT_WORSE
    if blind:
        said = (f"it passes the planted mutant(s) {', '.join(blind)} as it passes the default, so its passing "
                "the default says little")
        if args.require_catch:
            print(f"gate FAILED: {said}", file=sys.stderr)
            return EXIT_WORSE
        print(f"gate WARNING: {said} (--require-catch makes this a failure)", file=sys.stderr)
    print(f"gate passed: {len(checks)} checks")
    return 0


def _gate_on_mutants(payload: dict[str, Any], rules: Any) -> list[str]:
    """The gate's thresholds on each planted mutant in the results (reruns excluded): it must fail them.

    A mutant's draws (``[mutants] draws``) are judged together, their cells pooled as one
    methodology's. Prints a line per mutant; returns the mutants the gate passes (it cannot
    tell them from the default).
    """
    from bayestune.bench.catch import as_methodology, failing_checks, planted_methodologies
    from bayestune.bench.mutants import RERUN
    from bayestune.bench.results import group_results

    families: dict[str, list[str]] = {}
    for name, mutant in planted_methodologies(payload).items():
        if mutant != RERUN:
            families.setdefault(mutant, []).append(name)
    blind = []
    for mutant, names in families.items():
        cells = [as_methodology(c, mutant) for c in payload["cells"] if c["cell"]["methodology"] in names]
        pooled = {"cells": cells, "groups": group_results(cells)}
        failing = failing_checks(pooled, rules, mutant)
        label = mutant if len(names) == 1 else f"{mutant} ({len(names)} draws pooled)"
        if failing:
            print(f"  planted {label}: the gate fails it, as it must")
            for check in failing:
                print(f"    {check.line()}")
        else:
            print(f"  planted {label}: PASSES the gate")
            blind.append(mutant)
    return blind


def _add_executor_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help="where the cells and results go (default: bench-results/SUITE)")
    p.add_argument("--seeds", metavar="0,1", help="run only these seeds (default: the suite's)")
    p.add_argument("--methodologies", metavar="A,B", help="run only these methodologies (default: all the suite's)")
    _add_where_flags(p, "cell")


def _add_where_flags(p: argparse.ArgumentParser, unit: str) -> None:
    """Where the work runs (``--workers`` or ``--scheduler``) and ``--quiet``."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help=f"run {unit}s in N local processes (default: in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS", help=f"run {unit}s on a Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--quiet", action="store_true", help=f"no line per finished {unit}")


# ----------------------------------------------------------------------- calibrate
def _cmd_calibrate(args: argparse.Namespace) -> int:
    from bayestune import simulator
    from bayestune.bench.executor import opened
    from bayestune.calibration import CalibrationSettings, run_calibration

    if (args.preset is None) == (args.scenario is None):
        raise BayestuneError("give exactly one of --preset NAME or --scenario FILE", "bayestune calibrate")
    if args.preset is not None:
        simulator.load_preset(args.preset)  # an unknown name fails here, with the known ones
        scenario = args.preset
    else:
        simulator.load_scenario(args.scenario)
        scenario = str(Path(args.scenario).resolve())
    settings = CalibrationSettings(
        sims=args.sims, seed=args.seed, design_seed=args.design_seed, sampler=args.sampler,
        draws=args.draws, tune=args.tune, chains=args.chains, thin=args.thin, level=args.level)
    settings.check()
    out = Path(args.out) if args.out else Path("calibration-results") / Path(scenario).stem
    with opened(args.workers, args.scheduler) as executor:
        payload = run_calibration(scenario, out, settings, executor, progress=None if args.quiet else _say)
    q = payload.get("quantities") or {}
    failing = [n for n, r in q.items() if not r["uniform"]]
    sims = payload["simulations"]
    print(f"\n{sims['ok']} of {sims['requested']} simulations finished; "
          f"{len(failing)} of {len(q)} quantities leave the {settings.level:.0%} band"
          + (f": {', '.join(failing)}" if failing else ""))
    print(f"Results: {out / 'calibration.json'}\nReport: {out / 'calibration.md'}")
    if sims["failed"]:
        print(f"{sims['failed']} simulation(s) failed; their errors are in the report", file=sys.stderr)
        return EXIT_WORSE
    return 0


# ---------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bayestune",
        description="Benchmark and validate the tuning of Bayesian media mix models against known truth.",
    )
    parser.add_argument("--version", action="version", version=f"bayestune {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of any error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_SubParser)

    p = sub.add_parser(
        "simulate", help="simulate a dataset whose truth is known",
        description="Simulate weekly marketing data from a preset or a scenario file and write "
        "a dataset dir: data.csv, truth.json, contributions.csv, components.csv.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", help="a named scenario (see --list)")
    src.add_argument("--scenario", metavar="FILE", type=Path, help="a scenario TOML file")
    src.add_argument("--list", action="store_true", help="list the presets and exit")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", metavar="DIR", type=Path, help="the dataset dir to write")
    p.add_argument("--plot", action="store_true", help="also write overview.png")
    p.add_argument("--force", action="store_true", help="replace a non-empty output dir")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "validate", help="check a dataset dir (simulated or your own)",
        description="Read a dataset dir and report every problem with its column or CSV lines. "
        "Without truth.json, name the columns with --channels (and --controls).",
    )
    p.add_argument("--data", metavar="DIR", type=Path, required=True, help="the dataset dir")
    _add_column_flags(p)
    p.add_argument("--max-l-max", type=int, default=12, metavar="N",
                   help="largest adstock l_max to be tried (default: 12)")
    p.add_argument("--holdout", type=int, default=24, metavar="WEEKS",
                   help="weeks held out for testing (default: 24)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "tune", help="pick MMM structure by held-out CRPS",
        description="Search MMM structure (Fourier order, l_max, adstock and saturation forms) with "
        "Optuna by rolling-origin CRPS of PyMC-Marketing fits, then refit the best. Running it "
        "again on the same --out resumes the study. Every flag is also a config key.",
    )
    p.add_argument("--data", metavar="DIR", type=Path, required=True, help="the dataset dir")
    p.add_argument("--out", metavar="RUN", type=Path, required=True, help="the run dir")
    p.add_argument("--config", metavar="FILE", type=Path, help="a tuning config TOML")
    p.add_argument("--trials", type=int, help="total number of trials (default: 20)")
    p.add_argument("--sampler", choices=("numpyro", "pymc", "nutpie", "blackjax"), help="NUTS backend (default: numpyro)")
    p.add_argument("--draws", type=int, help="draws per chain in the search (default: 500)")
    p.add_argument("--tune", type=int, help="tuning steps per chain in the search (default: 500)")
    p.add_argument("--chains", type=int, help="chains in the search (default: 2)")
    p.add_argument("--validation", metavar="rolling|tail|lfo|PATH",
                   help="rolling-origin folds, one tail holdout, PSIS leave-future-out (needs --fitter "
                        "pymc-marketing-nutpie) or a fold plan's import path (default: rolling)")
    p.add_argument("--folds", type=int, help="rolling-origin folds (default: 3)")
    p.add_argument("--horizon", type=int, help="weeks predicted per fold (default: 8)")
    p.add_argument("--step", type=int,
                   help="weeks between rolling folds' origins (default: the horizon; smaller gives more folds)")
    p.add_argument("--seed", type=int, help="seed of the study and every fit (default: 0)")
    p.add_argument("--storage", metavar="URL", help="an Optuna storage URL (default: SQLite in the run dir)")
    p.add_argument("--workers", type=int, help="processes sharing the study (default: 1)")
    p.add_argument("--quiet", action="store_const", const=True,
                   help="no progress (a bar on a terminal, else a line per finished trial or stage)")
    p.add_argument("--no-oracle", dest="oracle", action="store_const", const=False,
                   help="do not score the true configuration (only runs when the data has a truth)")
    p.add_argument("--selection", metavar="NAME|PATH",
                   help="the selection rule: lowest (mean CRPS), one-se (the simplest structure within one paired "
                   "SE of it), an installed plug-in's name or package.module:object (default: lowest)")
    p.add_argument("--score", metavar="NAME|PATH",
                   help="the per-week score that ranks the trials: crps, interval, log, a plug-in's name or "
                   "package.module:object (default: crps; the final train/test pair stays in CRPS)")
    p.add_argument("--fitter", metavar="NAME|PATH",
                   help="what fits a structure: pymc-marketing, a plug-in's name or package.module:object "
                   "(default: pymc-marketing)")
    p.add_argument("--replicates", type=int, metavar="R",
                   help="refit the top candidates R more times with other seeds and choose on the averaged CRPS "
                   "(default: 0, none)")
    p.add_argument("--replicate-top", type=int, metavar="K", help="how many top candidates to replicate (default: 3)")
    p.add_argument("--no-final", action="store_true", help="skip the final refits")
    _add_column_flags(p)
    p.set_defaults(func=_cmd_tune)

    p = sub.add_parser(
        "evaluate", help="score a run against the truth and write the report",
        description="Read a run dir (and its dataset dir) and write report.json, report.md and "
        "figures/: the choice against the truth, recovery, the train/test gap, runtime. Without "
        "truth.json the truth sections say so.",
    )
    p.add_argument("--run", metavar="RUN", type=Path, required=True, help="the run dir (from bayestune tune)")
    p.add_argument("--data", metavar="DIR", type=Path, help="the dataset dir (default: the one the run used)")
    p.add_argument("--out", metavar="DIR", type=Path, help="where to write the report (default: the run dir)")
    p.add_argument("--max-gap-ratio", type=float, metavar="R",
                   help="warn when test CRPS / train CRPS exceeds R (default: 2)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "demo", help="the main job: simulate, tune, evaluate, report",
        description="Simulate the quickstart preset, tune with small settings, evaluate against "
        "the truth and write the report (a few minutes on 2 cores).",
    )
    p.add_argument("--out", metavar="DIR", default="bayestune-demo", help="output dir (default: bayestune-demo)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress (a bar on a terminal, else a line per finished trial or stage)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "bench", help="run a benchmark suite, or compare two suite results",
        description="Run a suite (benchmarks/suites/NAME.toml): every scenario x seed x methodology "
        "end to end (simulate, tune, refit, evaluate), into results.json and summary.md. Running it "
        "again on the same --out runs only the cells not yet done. 'bayestune bench compare BASE NEW' "
        "compares two results files. Exit status 1 when a cell failed or the comparison found worse figures.",
    )
    p.add_argument("--suite", metavar="NAME|FILE", help="a suite name (benchmarks/suites/NAME.toml) or file")
    p.add_argument("--baseline", metavar="FILE", type=Path, help="compare the results with this results file at the end")
    p.add_argument("--mutants", action="store_true",
                   help="also run the planted mutants of the default and reruns of it; summary.md says which the "
                   "judges flag (catch and false-alarm rates)")
    p.add_argument("--reruns", type=int, metavar="N", help="with --mutants: reruns of the default with other study "
                   "seeds (default: 2)")
    _add_executor_flags(p)
    p.set_defaults(func=_cmd_bench, bench_command=None)
    bench_sub = p.add_subparsers(dest="bench_command", metavar="compare|replay", parser_class=_SubParser)
    c = bench_sub.add_parser(
        "compare", help="compare two suite results",
        description="Print what changed between two results files. Quality is compared cell by cell (paired "
        "differences, paired t-tests Holm-adjusted over every metric) for a methodology both files ran on at "
        "least 2 of the same scenario and seed; otherwise as two independent means (noise bands of z standard "
        "errors from the replicate seeds), and the output says which. Exit status 1 when a quality figure "
        "worsened beyond noise or a runtime ratio beyond the tolerance (same machine only).",
    )
    c.add_argument("base", metavar="BASE", type=Path, help="baseline results.json (or its dir)")
    c.add_argument("new", metavar="NEW", type=Path, help="new results.json (or its dir)")
    c.add_argument("--noise-z", type=float,
                   help="unpaired only: standard errors a quality change must exceed (default: the suite's, 2)")
    c.add_argument("--runtime-tolerance", type=float, metavar="R", help="worst acceptable runtime ratio (default: the suite's, 1.5)")
    c.add_argument("--alpha", type=float, help="two-sided level of the paired tests, Holm-adjusted (default: the suite's, 0.05)")
    c.add_argument("--detect", action="append", metavar="METRIC=DELTA",
                   help="also print how many paired cells detect a difference DELTA in METRIC (repeatable)")
    c.add_argument("--all", action="store_true", help="also list the figures that did not change beyond noise")
    r = bench_sub.add_parser(
        "replay", help="re-choose on a suite's stored searches with other selection rules, no fit",
        description="Apply selection rules to the completed trials every finished cell of a suite run "
        "stored, and print each rule's truth figures side by side (exact Fourier order and l_max, their "
        "mean absolute errors, regret against the true structure on the same folds).",
    )
    r.add_argument("results", metavar="RESULTS_DIR", type=Path,
                   help="the --out dir of a suite run (holds cells/), or a results folder that kept its searches/")
    r.add_argument("--selection", metavar="NAME|PATH", action="append",
                   help="a rule to apply (repeatable): a built-in, a plug-in's name or package.module:object "
                   "(default: lowest and one-se)")
    r.add_argument("--methodology", metavar="NAME", help="only this methodology's cells")

    p = sub.add_parser(
        "gate", help="fail when tuning quality is below a suite's thresholds",
        description="Run a suite (or read its results with --results) and check the thresholds in its "
        "[gate] table, and apply them to any planted mutant in the results: the gate should fail those. "
        "Exit status 1 when a check fails (or, with --require-catch, when a mutant passes).",
    )
    p.add_argument("--suite", metavar="NAME|FILE", required=True, help="a suite name or file")
    p.add_argument("--results", metavar="FILE", type=Path, help="check these results instead of running the suite")
    p.add_argument("--require-catch", action="store_true",
                   help="fail when the thresholds pass a planted mutant in the results as they pass the default "
                   "(default: a warning)")
    _add_executor_flags(p)
    p.set_defaults(func=_cmd_gate)

    p = sub.add_parser(
        "calibrate", help="simulation-based calibration of the MMM fit (SBC)",
        description="Draw every parameter and a target from the prior of a scenario's true structure "
        "(PyMC-Marketing's default priors, the scenario's spend and controls), fit each simulated target, "
        "and rank the truth among the thinned posterior draws of every scalar parameter and each channel's "
        "ROAS. Writes calibration.json, calibration.md and figures/sbc_ecdf.png. Running it again on the "
        "same --out runs only the simulations not yet done. Exit status 1 when a simulation failed.",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--preset", metavar="NAME", help="a preset (bayestune simulate --list)")
    where.add_argument("--scenario", metavar="FILE", type=Path, help="a scenario TOML file")
    p.add_argument("--sims", type=int, default=100, help="simulations (default: 100)")
    p.add_argument("--out", metavar="DIR", help="output dir (default: calibration-results/SCENARIO)")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior draws and the fits (default: 0)")
    p.add_argument("--design-seed", type=int, default=0, help="seed of the scenario's spend and controls (default: 0)")
    p.add_argument("--sampler", choices=("numpyro", "pymc", "nutpie", "blackjax"), default="numpyro",
                   help="NUTS backend (default: numpyro)")
    p.add_argument("--draws", type=int, default=500, help="draws per chain (default: 500)")
    p.add_argument("--tune", type=int, default=500, help="tuning steps per chain (default: 500)")
    p.add_argument("--chains", type=int, default=2, help="chains (default: 2)")
    p.add_argument("--thin", type=int, help="rank among every THIN-th draw (default: keep about 100 draws)")
    p.add_argument("--level", type=float, default=0.95, help="simultaneous level of the uniformity band (default: 0.95)")
    _add_where_flags(p, "simulation")
    p.set_defaults(func=_cmd_calibrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bayestune``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return EXIT_USAGE
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except BayestuneError as exc:
        if debug:
            traceback.print_exc()
        print(f"bayestune: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunFailed as exc:
        if debug:
            raise
        print(f"bayestune: error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("bayestune: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
