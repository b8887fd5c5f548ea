"""Charts of one measure, rendered by matplotlib (Agg, no display): a line by month over the
period when the figures are by month, else a bar per group. Pure: a result in, SVG or PNG
bytes out.

Charts leave the service (the web app shows them, reports embed them), so they are drawn
from suppressed results only: a withheld figure is a gap marked "*", never a number. The same
result gives the same SVG byte for byte (fixed hash salt, no date in the metadata, text kept
as text), so a chart can be cached and compared.
"""

from __future__ import annotations

import calendar
import io
import threading
from typing import Any

import matplotlib
from matplotlib.figure import Figure as Canvas
from matplotlib.ticker import FuncFormatter

from services.outcomes.measures.base import Figure, GroupBy, MeasureResult, Unit

matplotlib.use("Agg")  # never a display, whatever the environment says

# rcParams are process-wide: each drawing sets its own under one lock, so two requests
# rendering at once (in threads) can never mix their settings.
_LOCK = threading.Lock()
STYLE: dict[str, Any] = {
    "svg.hashsalt": "hearth-outcomes",  # clip-path ids from a fixed salt, not a random one
    "svg.fonttype": "none",  # text as text: smaller, searchable, the same every time
    "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs everywhere
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
}
COLOUR = "#1d70b8"  # GOV.UK blue, as the web app
WITHHELD = "#6f777b"
SIZE = (7.0, 3.4)  # inches
SUPPRESSED_NOTE = "* fewer than 5 people: the figure is withheld"


def svg(result: MeasureResult) -> bytes:
    return _render(result, "svg", dpi=100)


def png(result: MeasureResult, dpi: int = 100) -> bytes:
    return _render(result, "png", dpi=dpi)


def by_month(result: MeasureResult) -> bool:
    return result.query.group_by is GroupBy.MONTH


def label(group: dict[str, str]) -> str:
    """A group's name on an axis: a month as "Oct 2026", anything else its values."""
    if not group:
        return "All"
    text = " / ".join(str(value) for value in group.values())
    if len(group) == 1 and len(text) == 7 and text[4] == "-" and text[:4].isdigit():
        month = int(text[5:]) if text[5:].isdigit() else 0
        if 1 <= month <= 12:
            return f"{calendar.month_abbr[month]} {text[:4]}"
    return text


def value_text(value: float | None, unit: Unit) -> str:
    """A figure as people read it: 12.5 %, 41 days, £1,250.00, 7 people."""
    if value is None:
        return "-"
    if unit is Unit.PERCENT:
        return f"{value:.1f} %"
    if unit is Unit.POUNDS:
        sign = "-" if value < 0 else ""
        return f"{sign}£{abs(value):,.2f}"
    if unit in (Unit.PEOPLE, Unit.CASES) and float(value).is_integer():
        return f"{int(value):,} {unit.value}"
    return f"{value:,.1f} {unit.value}"


def _ordered(result: MeasureResult) -> list[Figure]:
    if by_month(result):
        return sorted(result.figures, key=lambda f: tuple(f.group.values()))
    return list(result.figures)


def _render(result: MeasureResult, fmt: str, dpi: int) -> bytes:
    figures = _ordered(result)
    buffer = io.BytesIO()
    with _LOCK, matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        canvas = Canvas(figsize=SIZE, dpi=dpi)
        axes = canvas.add_subplot()
        _draw(axes, result, figures)
        canvas.suptitle(result.title, fontsize=11, fontweight="bold", x=0.01, ha="left")
        period = f"{result.query.start.isoformat()} to {result.query.end.isoformat()}"
        axes.set_title(period, fontsize=8, fontweight="normal", loc="left", color=WITHHELD)
        if any(f.suppressed for f in figures):
            canvas.text(0.01, 0.01, SUPPRESSED_NOTE, fontsize=7, color=WITHHELD)
        canvas.tight_layout(rect=(0, 0.04, 1, 1))
        # No date, no software version that differs between machines: the same bytes.
        metadata: dict[str, Any] = (
            {"Date": None, "Creator": "Hearth outcomes"}
            if fmt == "svg"
            else {"Software": "Hearth outcomes"}
        )
        canvas.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


def _draw(axes: Any, result: MeasureResult, figures: list[Figure]) -> None:
    if not figures:
        axes.text(0.5, 0.5, "No figures for this period", ha="center", va="center")
        axes.set_axis_off()
        return
    names = [label(f.group) for f in figures]
    shown = [None if f.suppressed or f.value is None else float(f.value) for f in figures]
    positions = list(range(len(figures)))
    if by_month(result):
        values = [float("nan") if v is None else v for v in shown]
        axes.plot(positions, values, color=COLOUR, marker="o", markersize=3, linewidth=1.6)
    else:
        axes.bar(positions, [v or 0.0 for v in shown], color=COLOUR, width=0.6)
    for x, figure, value in zip(positions, figures, shown, strict=True):
        if value is None:
            mark = "*" if figure.suppressed else "-"
            axes.annotate(
                mark, (x, 0), xycoords=("data", "axes fraction"), ha="center", va="bottom",
                color=WITHHELD, fontsize=10,
            )  # fmt: skip
    step = max(1, len(names) // 12)  # at most a dozen labels on the axis
    axes.set_xticks(positions[::step], names[::step], rotation=0 if len(names) <= 6 else 45)
    axes.tick_params(axis="x", labelsize=7)
    axes.set_ylabel(result.unit.value)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _tick(v, result.unit)))
    known = [v for v in shown if v is not None]
    low, high = min([0.0, *known]), max([0.0, *known])
    axes.set_ylim(low * 1.1, high * 1.15 if high > 0 else 1.0)  # from zero: honest heights
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)


def _tick(value: float, unit: Unit) -> str:
    if unit is Unit.PERCENT:
        return f"{value:g} %"
    if unit is Unit.POUNDS:
        return f"£{value:,.0f}"
    return f"{value:g}"
