from __future__ import annotations

import pytest

from bayestune.simulator import simulate


@pytest.fixture(scope="session")
def quickstart():
    """The quickstart preset simulated with seed 1 (shared, never mutated)."""
    return simulate("quickstart", seed=1)
