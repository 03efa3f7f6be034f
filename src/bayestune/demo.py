"""The main job in one command: simulate ``quickstart``, tune, evaluate, write the report.

The settings are small enough to finish in minutes on a 2-core machine (about 5 minutes
measured; see the README) and large enough to show a real result: the search covers the
true structure, the oracle trial scores it, and the report compares the two.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

DEMO_SETTINGS: dict[str, Any] = {
    "trials": 8,
    "draws": 300,
    "tune": 300,
    "chains": 2,
    "folds": 2,
    "horizon": 8,
    "space": {"yearly_seasonality": [1, 4], "l_max": [3, 9]},
    "final": {"test_weeks": 16, "draws": 1000, "tune": 700, "chains": 4},
}


def run_demo(out: str | Path, seed: int = 0, quiet: bool = False, settings: dict[str, Any] | None = None):
    """Write ``out/dataset``, ``out/run`` (with ``report.md``); returns the report.

    A previous demo's run dir is replaced only once the new run is complete.
    """
    from bayestune import simulator
    from bayestune.evaluation import evaluate
    from bayestune.progress import reporter
    from bayestune.simulator.plot import plot_overview
    from bayestune.tuning import load_config, tune

    say = reporter(quiet)  # tune reports its own trials and stages
    out = Path(out)
    data_dir = out / "dataset"
    ours = (data_dir / simulator.dataset.TRUTH_FILE).exists()
    start = time.perf_counter()
    sim = simulator.simulate("quickstart", seed=seed)
    written = simulator.write_dataset(
        sim, data_dir, force=ours, extra=lambda d: plot_overview(sim, d / simulator.dataset.OVERVIEW_FILE)
    )
    if say:
        say(f"dataset in {time.perf_counter() - start:.0f} s: {written} ('quickstart', seed {seed}, {len(sim.data)} weeks)")
    config = load_config(None, (settings or DEMO_SETTINGS) | {"seed": seed, "quiet": quiet})
    staging, final = out / "run.new", out / "run"
    shutil.rmtree(staging, ignore_errors=True)
    tune(simulator.read_dataset(written), config, staging)
    start = time.perf_counter()
    report = evaluate(staging, written, named_as=final)
    if say:
        say(f"evaluation in {time.perf_counter() - start:.0f} s: {report.markdown_path.name} and "
            f"{len(report.figures)} figures")
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    return final, report.moved(staging, final)
