"""Line charts as inline SVG, drawn on the server: no chart library, no script.

A chart is a set of named series of (time, value) points over a fixed
window; each series is one polyline, in the colour of its name's position.
Values and labels are written through markupsafe, so nothing read from the
database reaches the page unescaped.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 140
_PAD_LEFT, _PAD_BOTTOM, _PAD_TOP = 44, 18, 8
# Distinguishable in light and dark, and for the common colour blindnesses.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00")


@dataclass(frozen=True)
class Chart:
    """A chart's title, window and series (name → points, oldest first).

    `names` fixes each series' colour by its place, so one queue keeps its
    colour across charts that lack some queues; others follow, sorted.
    """

    title: str
    start: datetime
    end: datetime
    series: Mapping[str, Sequence[tuple[datetime, float]]]
    names: Sequence[str] = ()


def series_by(
    points: Iterable[object], *, key: str, at: str, value: str
) -> dict[str, list[tuple[datetime, float]]]:
    """Group rows into series: `key` names the series, `at` and `value` the point."""
    grouped: dict[str, list[tuple[datetime, float]]] = {}
    for point in points:
        grouped.setdefault(str(getattr(point, key)), []).append(
            (getattr(point, at), float(getattr(point, value)))
        )
    return grouped


def svg(chart: Chart) -> Markup:
    """Return the chart as an SVG element with a legend and a y-axis maximum."""
    span = (chart.end - chart.start) / timedelta(seconds=1) or 1.0
    top = max((v for pts in chart.series.values() for _, v in pts), default=0.0)
    top = top or 1.0
    plot_w, plot_h = WIDTH - _PAD_LEFT, HEIGHT - _PAD_BOTTOM - _PAD_TOP

    def x(at: datetime) -> float:
        return _PAD_LEFT + plot_w * ((at - chart.start) / timedelta(seconds=1)) / span

    def y(value: float) -> float:
        return _PAD_TOP + plot_h * (1 - value / top)

    lines = []
    legend = []
    order = [*chart.names, *sorted(set(chart.series) - set(chart.names))]
    for name in order:
        if name not in chart.series:
            continue
        points = chart.series[name]
        colour = PALETTE[order.index(name) % len(PALETTE)]
        coords = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in points)
        lines.append(
            Markup(
                '<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>'
            ).format(colour, coords)
        )
        legend.append(
            Markup(
                '<li><span class="swatch" style="background:{}"></span>{}</li>'
            ).format(colour, name)
        )
    axis = Markup(
        '<text x="{x}" y="{top}" class="axis">{max}</text>'
        '<text x="{x}" y="{bottom}" class="axis">0</text>'
        '<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" class="axis-line"/>'
    ).format(
        x=2,
        top=_PAD_TOP + 8,
        bottom=HEIGHT - _PAD_BOTTOM,
        max=_short(top),
        left=_PAD_LEFT,
        right=WIDTH,
        base=HEIGHT - _PAD_BOTTOM,
    )
    empty = (
        Markup('<text x="{}" y="{}" class="axis">no data in this window</text>').format(
            _PAD_LEFT + 8, HEIGHT / 2
        )
        if not lines
        else Markup("")
    )
    return Markup(
        '<figure class="chart"><figcaption>{title}</figcaption>'
        '<svg viewBox="0 0 {w} {h}" role="img" aria-label="{title}">{axis}{lines}{empty}</svg>'
        '<ul class="legend">{legend}</ul></figure>'
    ).format(
        title=escape(chart.title),
        w=WIDTH,
        h=HEIGHT,
        axis=axis,
        lines=Markup("").join(lines),
        empty=empty,
        legend=Markup("").join(legend),
    )


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:g}"
