"""Reconnection outcomes (Safe Connections toolkit, issue 18): whether a reconnection still holds
three months on ("Client still in accommodation and engaged after 3 months", Tool 4), by
destination area when grouped by destination (`GroupBy.DESTINATION`), and what the learning
log (Step 11) is about, counted by theme."""

from __future__ import annotations

from collections import Counter
from datetime import date

from services.outcomes.histories import CaseHistory, LearningEntry
from services.outcomes.measures.averages import rate
from services.outcomes.measures.base import Figure, Measure, MeasureQuery, ReportingData, Unit
from services.outcomes.measures.dates import months_after, within
from services.outcomes.measures.grouping import figures, grouped, grouped_cases
from shared.codes import LearningTheme


def _three_months_on(case: CaseHistory) -> date | None:
    return None if case.reconnected_on is None else months_after(case.reconnected_on, 3)


def _held(data: ReportingData, query: MeasureQuery) -> list[Figure]:
    last = min(query.end, query.as_of)
    followed = [
        case
        for case in data.cases
        if case.reconnection_held is not None and within(case.followed_up_on, query.start, last)
    ]
    # Reconnections whose three months were up in the period with no follow-up yet: shown
    # beside the figure so a missing follow-up is not mistaken for a good one.
    awaiting = [
        case
        for case in data.cases
        if case.followed_up_on is None and within(_three_months_on(case), query.start, last)
    ]
    groups = grouped_cases(followed, query, lambda case: case.followed_up_on)
    waiting = grouped_cases(awaiting, query, _three_months_on)

    def make(group: dict[str, str], cases: list[CaseHistory]) -> Figure:
        held = sum(1 for case in cases if case.reconnection_held)
        extra: dict[str, float | int | str | None] = {
            "returned_to_rough_sleeping": sum(1 for c in cases if c.returned_to_rough_sleeping),
            "awaiting_follow_up": len(waiting.get(tuple(sorted(group.items())), [])),
        }
        return Figure(group, rate(held, len(cases)), len(cases), held, extra=extra)

    return figures(groups, make)


RECONNECTION_HELD_3M = Measure(
    key="reconnection_held_3m",
    title="Reconnections still holding after 3 months",
    definition=(
        'Of the reconnections followed up in the period (Safe Connections Tool 4: "Client '
        'still in accommodation and engaged after 3 months"), the share where the person was '
        "still in accommodation and engaged. Beside it: how many had returned to rough "
        "sleeping, and how many reconnections reached their three months in the period "
        "without a follow-up yet (not counted). Grouped by destination, by the area the person "
        "went to. By month: the month of the follow-up."
    ),
    unit=Unit.PERCENT,
    compute=_held,
)


Logged = tuple[CaseHistory, LearningEntry]


def _themes(data: ReportingData, query: MeasureQuery) -> list[Figure]:
    last = min(query.end, query.as_of)
    entries = [
        (case, entry)
        for case in data.cases
        for entry in case.learning
        if within(entry.recorded_on, query.start, last)
    ]

    def make(group: dict[str, str], found: list[Logged]) -> Figure:
        themes = Counter(theme for _, entry in found for theme in set(entry.themes))
        extra: dict[str, float | int | str | None] = {
            "points": sum(entry.points for _, entry in found),
            **{theme.value: themes[theme.value] for theme in LearningTheme},
        }
        return Figure(group, float(len(found)) if found else None, len(found), extra=extra)

    return figures(grouped(entries, query, lambda e: e[0], lambda e: e[1].recorded_on), make)


LEARNING_LOG_THEMES = Measure(
    key="learning_log_themes",
    title="Learning log entries by theme",
    definition=(
        "The learning log's entries recorded in the period (Safe Connections Step 11), and for "
        "each theme how many entries touch it (an entry may touch several); the points the "
        "entries hold beside them. Entries not tied to a case count for the organisation only. "
        "By month: the month the entry was recorded."
    ),
    unit=Unit.CASES,
    compute=_themes,
)

MEASURES = (RECONNECTION_HELD_3M, LEARNING_LOG_THEMES)
