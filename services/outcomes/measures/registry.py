"""Every measure, by key, in the order they are published: tenancy outcomes first (sustained,
arrears, turnover), then returns, timeliness, stages, reconnection, demand and escalations."""

from __future__ import annotations

from services.outcomes.measures import (
    arrears,
    demand,
    escalations,
    reconnection,
    repeats,
    stages,
    sustainment,
    timeliness,
    turnover,
)
from services.outcomes.measures.base import Measure, MeasureQuery, MeasureResult, ReportingData

MEASURES: dict[str, Measure] = {
    measure.key: measure
    for family in (
        sustainment,
        arrears,
        turnover,
        repeats,
        timeliness,
        stages,
        reconnection,
        demand,
        escalations,
    )
    for measure in family.MEASURES
}


def compute_all(data: ReportingData, query: MeasureQuery) -> list[MeasureResult]:
    """Every measure's result for one query, in `MEASURES` order."""
    return [measure.run(data, query) for measure in MEASURES.values()]
