"""Median, 90th percentile, mean and rate, rounded as they are published. Every function
answers None for no values, so a figure with nothing to measure shows no number."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 2) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The nearest-rank 90th percentile: the smallest value at least 90 % of values are at or
    below (of 10 waits, the 9th shortest)."""
    if not values:
        return None
    ranked = sorted(values)
    return round(float(ranked[math.ceil(0.9 * len(ranked)) - 1]), 2)


def mean(values: Sequence[float]) -> float | None:
    return round(float(statistics.fmean(values)), 2) if values else None


def rate(numerator: int, count: int) -> float | None:
    """`numerator` of `count` as a percentage to one decimal place."""
    return round(100.0 * numerator / count, 1) if count else None
