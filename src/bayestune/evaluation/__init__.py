"""Evaluation: scores that compare posterior predictions with what was observed."""

from __future__ import annotations
