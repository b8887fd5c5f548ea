"""Small-number suppression for figures that leave the organisation (issue 18: "Small numbers
are suppressed (fewer than 5 people) where a figure leaves the organisation"). Pure.

The rule, per figure:
- a count of 1 to 4 (the figure's count, a count-valued figure's value, or a whole number in
  `extra`) is withheld; 0 is shown, since it identifies no one;
- a figure whose count is 1 to 4 is withheld whole: its value, numerator and `extra` become
  None, its count 0, `suppressed` true (a real count of 0 is never suppressed, so count 0 with
  `suppressed` reads "fewer than 5");
- a rate (a figure with a numerator) is withheld when its numerator, or its count minus its
  numerator, is 1 to 4, so the small group cannot be worked back from the rate and the count:
  its value and numerator become None and `suppressed` is true; the count stays;
- in `extra`, whole numbers are counts and floats are amounts, days or rates. A count whose
  own value or whose difference from the figure's count is 1 to 4 is withheld; when exactly
  one count is withheld, the smallest other non-zero count is withheld too, so the one cannot
  be found by taking the others from the total. Keys starting "target" are the measure's fixed
  targets and are always shown; a true/false (e.g. `met`) is withheld with the value.
"""

from __future__ import annotations

from dataclasses import replace

from services.outcomes.measures.base import Figure, MeasureResult, Unit

SMALL = range(1, 5)  # 1 to 4 people
COUNT_UNITS = frozenset({Unit.PEOPLE, Unit.CASES})

Extra = dict[str, float | int | str | None]


def suppress(result: MeasureResult) -> MeasureResult:
    """The result as it may leave the organisation."""
    return replace(result, figures=[suppress_figure(f, result.unit) for f in result.figures])


def suppress_figure(figure: Figure, unit: Unit) -> Figure:
    if figure.count in SMALL:
        extra = {k: v if k.startswith("target") else None for k, v in figure.extra.items()}
        return replace(figure, value=None, count=0, numerator=None, suppressed=True, extra=extra)
    value, numerator, suppressed = figure.value, figure.numerator, figure.suppressed
    if numerator is not None and (numerator in SMALL or figure.count - numerator in SMALL):
        value, numerator, suppressed = None, None, True
    if unit in COUNT_UNITS and value is not None and value in SMALL:
        value, suppressed = None, True
    extra = _suppress_extra(figure.extra, figure.count)
    if value is None and figure.value is not None:  # a withheld rate: its yes/no goes too
        extra = {k: None if isinstance(v, bool) else v for k, v in extra.items()}
    if extra != figure.extra:
        suppressed = True
    return replace(figure, value=value, numerator=numerator, suppressed=suppressed, extra=extra)


def _suppress_extra(extra: Extra, count: int) -> Extra:
    counts = {
        key: value
        for key, value in extra.items()
        if isinstance(value, int) and not isinstance(value, bool) and not key.startswith("target")
    }
    withheld = {k for k, n in counts.items() if n in SMALL or (n and count - n in SMALL)}
    if len(withheld) == 1:
        others = sorted((n, k) for k, n in counts.items() if n and k not in withheld)
        if others:
            withheld.add(others[0][1])
    return {k: None if k in withheld else v for k, v in extra.items()}
