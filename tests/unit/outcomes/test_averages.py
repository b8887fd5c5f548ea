"""Median, 90th percentile (nearest rank), mean and rate as they are published."""

from __future__ import annotations

from services.outcomes.measures.averages import mean, median, p90, rate


def test_nothing_to_measure_is_none() -> None:
    assert (median([]), p90([]), mean([]), rate(0, 0)) == (None, None, None, None)


def test_p90_is_the_nearest_rank() -> None:
    """Of ten waits, the 9th shortest; of eleven, the 10th."""
    assert p90([float(d) for d in range(1, 11)]) == 9.0
    assert p90([float(d) for d in range(1, 12)]) == 10.0
    assert p90([7.0]) == 7.0


def test_rounding() -> None:
    assert median([1.0, 2.0]) == 1.5
    assert mean([1.0, 1.0, 2.0]) == 1.33
    assert rate(2, 3) == 66.7
    assert rate(0, 5) == 0.0
