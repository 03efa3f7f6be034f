"""Shared benchmark fixtures: figures that are not timings go into one JSON file.

pytest-benchmark keeps the timings (``--benchmark-json``); ratios, memory and quality figures
measured side by side go through ``benchmark_record`` into
``$BAYESTUNE_BENCH_OUT/records.json`` (default ``bench-results/``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def _out() -> Path:
    return Path(os.environ.get("BAYESTUNE_BENCH_OUT", "bench-results"))


@pytest.fixture(scope="session")
def _records():
    records: dict[str, object] = {}
    yield records
    if records:
        out = _out()
        out.mkdir(parents=True, exist_ok=True)
        path = out / "records.json"
        old = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps(old | records, indent=2) + "\n")


@pytest.fixture
def benchmark_record(_records):
    """``benchmark_record(name, figures)`` stores a dict of figures under ``name``."""

    def record(name: str, figures: dict) -> None:
        _records[name] = figures

    return record
