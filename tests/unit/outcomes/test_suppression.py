"""Small-number suppression where a figure leaves the organisation. Issue 18: "Small numbers are
suppressed (fewer than 5 people) where a figure leaves the organisation"."""

from __future__ import annotations

from datetime import date

from services.outcomes.measures.base import Figure, MeasureQuery, MeasureResult, Unit
from services.outcomes.measures.sustainment import TENANCY_SUSTAINED_3M
from services.outcomes.measures.turnover import TENANCY_TURNOVER
from services.outcomes.suppression import suppress, suppress_figure
from tests.unit.outcomes.history_builder import case, data, query, tenancy

QUERY = MeasureQuery("org", date(2026, 1, 1), date(2026, 3, 31), date(2026, 7, 1))


def test_three_people_are_withheld_whole() -> None:
    """Three tenancies followed up: the rate, the count and every count beside them go."""
    histories = data(
        *[
            case(f"c{n}", allocated="2025-10-01", tenancy=f"t{n}", closed="2026-01-10")
            for n in range(3)
        ],
        tenancies=[tenancy(f"t{n}", readings=[("2025-10-01", 0.0)]) for n in range(3)],
    )
    result = TENANCY_SUSTAINED_3M.run(histories, query("2026-01-01", "2026-03-31", "2026-07-15"))
    assert (result.figures[0].count, result.figures[0].value) == (3, 100.0)
    [figure] = suppress(result).figures
    assert (figure.value, figure.count, figure.numerator, figure.suppressed) == (
        None,
        0,
        None,
        True,
    )
    assert set(figure.extra.values()) == {None}
    assert result.figures[0].count == 3  # the organisation's own result is untouched


def test_a_rate_whose_complement_is_small_is_withheld_but_its_count_shown() -> None:
    """17 of 20: the three who did not could be worked back from the rate and the count."""
    figure = suppress_figure(Figure({}, 85.0, 20, 17), Unit.PERCENT)
    assert (figure.value, figure.count, figure.numerator, figure.suppressed) == (
        None,
        20,
        None,
        True,
    )


def test_a_rate_with_a_small_numerator_is_withheld() -> None:
    figure = suppress_figure(Figure({}, 10.0, 20, 2), Unit.PERCENT)
    assert (figure.value, figure.numerator, figure.suppressed) == (None, None, True)


def test_large_numbers_and_zero_are_shown() -> None:
    shown = Figure({}, 50.0, 20, 10, extra={"failed": 10, "not_yet_due": 0, "p90": 3.0})
    assert suppress_figure(shown, Unit.PERCENT) == shown
    nothing = Figure({}, None, 0, 0)
    assert suppress_figure(nothing, Unit.PERCENT) == nothing


def test_small_counts_beside_a_figure_are_withheld() -> None:
    """Of 7 escalated cases, 3 closed sustained, 2 otherwise, 2 still open: those go."""
    figure = suppress_figure(
        Figure(
            {},
            7.0,
            7,
            extra={
                "escalations": 9,
                "closed_sustained": 3,
                "evicted": 0,
                "closed_other": 2,
                "still_open": 2,
            },
        ),
        Unit.CASES,
    )
    assert figure.value == 7.0
    assert figure.suppressed
    assert figure.extra == {
        "escalations": 9,
        "closed_sustained": None,
        "evicted": 0,
        "closed_other": None,
        "still_open": None,
    }


def test_one_small_count_takes_the_next_smallest_with_it() -> None:
    """Else the 2 is the count less the 14 and the 6 shown beside it."""
    figure = suppress_figure(
        Figure({}, -120.0, 22, extra={"fell": 2, "rose": 14, "unchanged": 6, "median": 5.0}),
        Unit.POUNDS,
    )
    assert figure.extra == {"fell": None, "rose": 14, "unchanged": None, "median": 5.0}


def test_a_count_valued_figure_of_four_is_withheld() -> None:
    figure = suppress_figure(Figure({"team_id": "a"}, 4.0, 4), Unit.CASES)
    assert (figure.value, figure.count, figure.suppressed) == (None, 0, True)


def test_a_target_is_always_shown_and_met_goes_with_the_rate() -> None:
    """Derby's 10 % target stays; whether it was met would tell of a withheld rate."""
    cases = [case(f"s{n}", allocated="2025-06-01", tenancy=f"ts{n}") for n in range(1, 12)]
    tenancies = [tenancy(f"ts{n}", readings=[("2025-05-01", 0.0)]) for n in range(1, 11)]
    tenancies.append(tenancy("ts11", readings=[], ended=("2025-12-01", "surrender")))
    result = TENANCY_TURNOVER.run(
        data(*cases, tenancies=tenancies), query("2026-01-01", "2026-03-31", "2026-04-15")
    )
    [figure] = suppress(result).figures
    assert (figure.value, figure.count, figure.extra["target"], figure.extra["met"]) == (
        None,
        11,
        10.0,
        None,
    )


def test_suppress_keeps_the_result_s_words() -> None:
    result = MeasureResult("k", "t", "d", Unit.PEOPLE, QUERY, [Figure({}, 12.0, 12)])
    assert suppress(result) == result
