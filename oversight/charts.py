"""Charts drawn on the server as inline SVG: no JavaScript, nothing the CSP blocks.

A chart is computed here as plain shapes (rectangles, lines, text) with SVG presentation
attributes (`fill`, `stroke`), never `style`, and drawn by one template
(`oversight/includes/chart.html`), which escapes every label. Each chart carries a text
alternative (`description`); the page puts a table of the same figures beneath it. The
shapes are written here (`Chart.lines_svg`, `rects_svg`, `texts_svg`), with the template's
own escaping and number format: a chart has a hundred shapes or more, and one template
loop per shape cost more than the rest of the reports page.
"""

import math
from dataclasses import dataclass, field

from django.template.defaultfilters import floatformat
from django.utils.html import format_html_join
from django.utils.safestring import SafeString


def _at(value: float) -> str:
    """A coordinate as the template wrote it (`floatformat:"1u"`)."""
    return floatformat(value, "1u")


# Each shape is followed by the new line and indent the template put after it.
_LINE = '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>\n  '
_RECT = '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>\n  '
_TEXT = (
    '<text x="{}" y="{}" text-anchor="{}" font-size="{}" font-weight="{}" fill="{}">{}</text>\n  '
)

# GOV.UK Design System colours, distinguishable and with labels beside every bar.
SERIES_COLOURS = ["#1d70b8", "#00703c", "#d4351c", "#4c2c92", "#f47738"]
TEXT = "#0b0c0c"
GRID = "#b1b4b6"
FONT = "GDS Transport, arial, sans-serif"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str  # read out as the bar's <title>


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = GRID


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    content: str
    anchor: str = "start"  # SVG text-anchor
    size: int = 14
    weight: str = "normal"
    fill: str = TEXT


@dataclass
class Chart:
    chart_id: str
    title: str
    description: str
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    font: str = FONT

    @property
    def is_empty(self) -> bool:
        return not self.rects

    def lines_svg(self) -> SafeString:
        return format_html_join(
            "",
            _LINE,
            ((_at(s.x1), _at(s.y1), _at(s.x2), _at(s.y2), s.stroke) for s in self.lines),
        )

    def rects_svg(self) -> SafeString:
        return format_html_join(
            "",
            _RECT,
            (
                (_at(s.x), _at(s.y), _at(s.width), _at(s.height), s.fill, s.label)
                for s in self.rects
            ),
        )

    def texts_svg(self) -> SafeString:
        return format_html_join(
            "",
            _TEXT,
            (
                (_at(s.x), _at(s.y), s.anchor, s.size, s.weight, s.fill, s.content)
                for s in self.texts
            ),
        )


def nice_maximum(value: float) -> float:
    """The axis's end: the value rounded up to 1, 2 or 5 × a power of ten."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def _axis(values) -> tuple[float, int]:
    """The axis's end and how many intervals to mark on it (whole steps for counts)."""
    values = list(values)
    maximum = nice_maximum(max(values, default=0))
    if all(float(v).is_integer() for v in values):
        maximum = max(maximum, 5)
    leading = round(maximum / 10 ** math.floor(math.log10(maximum)))
    return maximum, 4 if leading == 2 else 5


def _format(value: float, unit: str = "", prefix: str = "") -> str:
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{prefix}{text}{unit}"


def _describe(
    title: str, categories: list[str], series: dict[str, list[float]], unit: str, prefix: str = ""
):
    parts = []
    for index, category in enumerate(categories):
        values = ", ".join(
            f"{name} {_format(values[index], unit, prefix)}"
            if len(series) > 1
            else _format(values[index], unit, prefix)
            for name, values in series.items()
        )
        parts.append(f"{category}: {values}")
    return f"{title}. " + ("; ".join(parts) if parts else "No data.") + "."


def _legend(chart: Chart, names: list[str], y: float, x: float) -> None:
    if len(names) < 2:
        return
    for index, name in enumerate(names):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        chart.rects.append(Rect(x, y - 11, 14, 14, colour, name))
        chart.texts.append(Text(x + 20, y, name, size=14))
        x += 30 + 8 * len(name)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    categories: list[str],
    series: dict[str, list[float]],
    unit: str = "",
    prefix: str = "",
    width: int = 760,
    label_width: int = 260,
) -> Chart:
    """Horizontal bars: one group per category, one bar per series, values at the ends."""
    names = list(series)
    bar_height = 18
    group_gap = 14
    top = 40 if len(names) > 1 else 12
    group_height = bar_height * len(names) + group_gap
    plot_left = label_width
    plot_width = width - label_width - 70
    height = top + group_height * max(len(categories), 1) + 30
    chart = Chart(
        chart_id, title, _describe(title, categories, series, unit, prefix), width, height
    )
    _legend(chart, names, 20, plot_left)
    maximum, intervals = _axis(v for values in series.values() for v in values)
    for tick in range(intervals + 1):
        value = maximum * tick / intervals
        x = plot_left + plot_width * tick / intervals
        chart.lines.append(Line(x, top - 4, x, height - 26))
        chart.texts.append(
            Text(x, height - 8, _format(value, unit, prefix), anchor="middle", size=12)
        )
    for row, category in enumerate(categories):
        y = top + row * group_height
        chart.texts.append(
            Text(plot_left - 8, y + bar_height * len(names) / 2 + 5, category, anchor="end")
        )
        for index, name in enumerate(names):
            value = series[name][row]
            bar_width = plot_width * value / maximum if maximum else 0
            bar_y = y + index * bar_height
            colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
            shown = _format(value, unit, prefix)
            label = f"{category}, {name}: {shown}"
            chart.rects.append(Rect(plot_left, bar_y, bar_width, bar_height - 3, colour, label))
            chart.texts.append(
                Text(plot_left + bar_width + 4, bar_y + bar_height - 6, shown, size=12)
            )
    return chart


def column_chart(
    *,
    chart_id: str,
    title: str,
    categories: list[str],
    series: dict[str, list[float]],
    width: int = 760,
    height: int = 300,
) -> Chart:
    """Vertical columns grouped by category (months along the bottom)."""
    names = list(series)
    chart = Chart(chart_id, title, _describe(title, categories, series, ""), width, height)
    left, right, top, bottom = 50, 10, 40, 40
    plot_width = width - left - right
    plot_height = height - top - bottom
    _legend(chart, names, 20, left)
    maximum, intervals = _axis(v for values in series.values() for v in values)
    for tick in range(intervals + 1):
        value = maximum * tick / intervals
        y = top + plot_height - plot_height * tick / intervals
        chart.lines.append(Line(left, y, width - right, y))
        chart.texts.append(Text(left - 6, y + 4, _format(value), anchor="end", size=12))
    slot = plot_width / max(len(categories), 1)
    bar_width = max((slot - 8) / max(len(names), 1), 2)
    for column, category in enumerate(categories):
        x0 = left + column * slot + 4
        chart.texts.append(
            Text(x0 + (slot - 8) / 2, height - bottom + 18, category, anchor="middle", size=12)
        )
        for index, name in enumerate(names):
            value = series[name][column]
            bar_height = plot_height * value / maximum if maximum else 0
            colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
            chart.rects.append(
                Rect(
                    x0 + index * bar_width,
                    top + plot_height - bar_height,
                    bar_width - 1,
                    bar_height,
                    colour,
                    f"{category}, {name}: {_format(value)}",
                )
            )
    return chart
