"""Benchmark suites: scenarios × seeds × methodologies, run end to end and compared.

>>> from bayestune.bench import load_suite, run_suite          # doctest: +SKIP
>>> results = run_suite(load_suite("quick"), "bench-results/quick")

``bayestune bench --suite NAME`` runs a suite (``benchmarks/suites/NAME.toml``),
``bayestune bench compare BASE NEW`` compares two results files, and
``bayestune gate --suite NAME`` fails when tuning quality is below the suite's thresholds.
"""

from __future__ import annotations

from bayestune.bench.executor import DaskCluster, InProcess, ProcessPool, make_executor
from bayestune.bench.results import load_results, run_suite
from bayestune.bench.suite import Suite, load_suite

__all__ = ["DaskCluster", "InProcess", "ProcessPool", "Suite", "load_results", "load_suite",
           "make_executor", "run_suite"]
