"""Charts drawn on the server as accessible SVG: no script, no inline style (the CSP allows
neither), a `<title>` and `<desc>` read out by screen readers, and the same figures always
shown in a table beside the chart, so nothing is known only from a picture.

Pure: data in, geometry and markup out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup, escape

# GOV.UK colours: text and bars pass WCAG 2.2 AA against white (text 4.5:1, shapes 3:1).
TEXT = "#0b0c0c"
BAR = "#1d70b8"
AXIS = "#505a5f"
GRID = "#b1b4b6"

WIDTH = 640
LABEL_WIDTH = 200  # bar charts: the category names on the left
VALUE_ROOM = 70  # bar charts: room for the figure after the longest bar
ROW = 32
BAR_HEIGHT = 20
PAD = 10
LINE_HEIGHT = 240
LINE_LEFT = 48  # line charts: room for the y axis figures
LINE_BOTTOM = 40  # line charts: room for the x axis labels
LINE_TOP = 24
LINE_RIGHT = 24
MAX_LABEL = 30


@dataclass(frozen=True)
class Datum:
    label: str
    value: float


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Point:
    label: str
    value_text: str
    x: float
    y: float


@dataclass(frozen=True)
class Chart:
    """One chart and its table: `key` makes the element ids (`<key>-title`, `<key>-table`)."""

    key: str
    title: str
    description: str
    data: tuple[Datum, ...]
    label_heading: str = "Category"
    value_heading: str = "Number"
    kind: Literal["bar", "line"] = "bar"
    notes: tuple[str, ...] = field(default=())

    @property
    def total(self) -> float:
        return sum(d.value for d in self.data)

    def rows(self) -> list[tuple[str, str]]:
        return [(d.label, figure(d.value)) for d in self.data]

    def svg(self) -> Markup:
        return bar_svg(self) if self.kind == "bar" else line_svg(self)


def figure(value: float) -> str:
    """A figure as people write it: whole numbers without decimals, others to one place."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def nice_maximum(value: float) -> float:
    """The axis' top: the data's maximum rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def bar_geometry(data: tuple[Datum, ...], width: int = WIDTH) -> list[Bar]:
    """Horizontal bars, one row each, scaled to the largest figure (never below zero)."""
    top = nice_maximum(max((d.value for d in data), default=0.0))
    room = width - LABEL_WIDTH - VALUE_ROOM
    return [
        Bar(
            label=short(d.label),
            value_text=figure(d.value),
            x=float(LABEL_WIDTH),
            y=float(PAD + i * ROW + (ROW - BAR_HEIGHT) / 2),
            width=round(max(0.0, d.value) / top * room, 1),
            height=float(BAR_HEIGHT),
        )
        for i, d in enumerate(data)
    ]


def bar_height(count: int) -> int:
    return 2 * PAD + max(count, 1) * ROW


def line_geometry(data: tuple[Datum, ...], width: int = WIDTH) -> tuple[list[Point], float]:
    """Points evenly spaced left to right, scaled to the axis' top; returns (points, top)."""
    top = nice_maximum(max((d.value for d in data), default=0.0))
    plot_width = width - LINE_LEFT - LINE_RIGHT
    plot_height = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM
    step = plot_width / (len(data) - 1) if len(data) > 1 else 0.0
    points = [
        Point(
            label=short(d.label),
            value_text=figure(d.value),
            x=round(LINE_LEFT + (i * step if len(data) > 1 else plot_width / 2), 1),
            y=round(LINE_TOP + (1 - max(0.0, d.value) / top) * plot_height, 1),
        )
        for i, d in enumerate(data)
    ]
    return points, top


def _open(chart: Chart, height: int) -> list[str]:
    key = escape(chart.key)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hearth-chart" id="{key}-svg" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{key}-title {key}-desc" focusable="false">',
        f'<title id="{key}-title">{escape(chart.title)}</title>',
        f'<desc id="{key}-desc">{escape(describe(chart))}</desc>',
    ]


def describe(chart: Chart) -> str:
    """The description read out: what the chart shows, then every figure in words."""
    if not chart.data:
        return f"{chart.description} There are no figures yet."
    figures = "; ".join(f"{d.label}: {figure(d.value)}" for d in chart.data)
    return f"{chart.description} {figures}."


def bar_svg(chart: Chart) -> Markup:
    height = bar_height(len(chart.data))
    parts = _open(chart, height)
    if not chart.data:
        parts.append(
            f'<text x="{PAD}" y="{PAD + ROW / 2}" class="hearth-chart__text" fill="{TEXT}">'
            "No figures yet</text>"
        )
    for bar in bar_geometry(chart.data):
        middle = bar.y + bar.height / 2
        parts += [
            f'<text x="{LABEL_WIDTH - 8}" y="{middle}" text-anchor="end" '
            f'dominant-baseline="middle" class="hearth-chart__text" fill="{TEXT}">'
            f"{escape(bar.label)}</text>",
            f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}" '
            f'class="hearth-chart__bar" fill="{BAR}"/>',
            f'<text x="{bar.x + bar.width + 6}" y="{middle}" dominant-baseline="middle" '
            f'class="hearth-chart__text hearth-chart__figure" fill="{TEXT}">'
            f"{escape(bar.value_text)}</text>",
        ]
    parts.append(
        f'<line x1="{LABEL_WIDTH}" y1="{PAD / 2}" x2="{LABEL_WIDTH}" y2="{height - PAD / 2}" '
        f'class="hearth-chart__axis" stroke="{AXIS}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_svg(chart: Chart) -> Markup:
    points, top = line_geometry(chart.data)
    parts = _open(chart, LINE_HEIGHT)
    bottom = LINE_HEIGHT - LINE_BOTTOM
    right = WIDTH - LINE_RIGHT
    for fraction in (0.0, 0.5, 1.0):  # gridlines with their figures on the y axis
        y = round(LINE_TOP + (1 - fraction) * (bottom - LINE_TOP), 1)
        parts += [
            f'<line x1="{LINE_LEFT}" y1="{y}" x2="{right}" y2="{y}" '
            f'class="hearth-chart__grid" stroke="{GRID}"/>',
            f'<text x="{LINE_LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle" '
            f'class="hearth-chart__text" fill="{TEXT}">{escape(figure(top * fraction))}</text>',
        ]
    if points:
        path = " ".join(f"{p.x},{p.y}" for p in points)
        parts.append(
            f'<polyline points="{path}" fill="none" class="hearth-chart__line" stroke="{BAR}" '
            'stroke-width="3"/>'
        )
    for point in points:
        parts += [
            f'<circle cx="{point.x}" cy="{point.y}" r="4" class="hearth-chart__dot" fill="{BAR}"/>',
            f'<text x="{point.x}" y="{point.y - 10}" text-anchor="middle" '
            f'class="hearth-chart__text hearth-chart__figure" fill="{TEXT}">'
            f"{escape(point.value_text)}</text>",
            f'<text x="{point.x}" y="{bottom + 20}" text-anchor="middle" '
            f'class="hearth-chart__text" fill="{TEXT}">{escape(point.label)}</text>',
        ]
    if not points:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{LINE_HEIGHT / 2}" text-anchor="middle" '
            f'class="hearth-chart__text" fill="{TEXT}">No figures yet</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
