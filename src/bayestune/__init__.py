"""bayestune: a benchmark and validation suite for tuning Bayesian media mix models."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
