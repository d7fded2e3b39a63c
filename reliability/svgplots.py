"""Small, dependency-free SVG charts for the self-contained HTML report.

Every chart is one ``<svg class="chart" data-chart=KIND>`` element; each plotted datum is one
element with ``class="mark"`` (a point, an interval's dot or a bar), so the report can be checked
by counting marks. All text is escaped.

>>> svg = histogram([0.5, 1.5], kind="pit", title="PIT", x_label="PIT", reference=1.0)
>>> svg.count('class="mark"')
2
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


@dataclass(frozen=True)
class ForestRow:
    """One interval of a forest plot; rows sharing ``section`` are drawn under one heading."""

    label: str
    estimate: float
    lo: float
    hi: float
    section: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    series: str = ""


@dataclass(frozen=True)
class _Scale:
    lo: float
    hi: float
    px_lo: float
    px_hi: float

    def __call__(self, value: float) -> float:
        share = (value - self.lo) / (self.hi - self.lo)
        return self.px_lo + share * (self.px_hi - self.px_lo)


def _span(values: Sequence[float], *, include: Sequence[float] = ()) -> tuple[float, float]:
    finite = [v for v in (*values, *include) if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick positions covering ``[lo, hi]``.

    >>> nice_ticks(0.0, 1.0)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _text(x: float, y: float, content: str, *, anchor: str = "middle", extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="11"{extra}>'
        f"{escape(content)}</text>"
    )


def _open(kind: str, title: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(kind)}" '
        f'width="{WIDTH}" height="{height:.0f}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
        _text(WIDTH / 2, 16, title, extra=' font-weight="bold"'),
    ]


def _x_axis(parts: list[str], scale: _Scale, y: float, top: float, label: str) -> None:
    parts.append(
        f'<line x1="{scale.px_lo:.1f}" y1="{y:.1f}" x2="{scale.px_hi:.1f}" y2="{y:.1f}" '
        'stroke="#444"/>'
    )
    for tick in nice_ticks(scale.lo, scale.hi):
        x = scale(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(_text(x, y + 14, _fmt(tick)))
    parts.append(_text((scale.px_lo + scale.px_hi) / 2, y + 30, label))


def _y_axis(parts: list[str], scale: _Scale, x: float, right: float, label: str) -> None:
    parts.append(
        f'<line x1="{x:.1f}" y1="{scale.px_lo:.1f}" x2="{x:.1f}" y2="{scale.px_hi:.1f}" '
        'stroke="#444"/>'
    )
    for tick in nice_ticks(scale.lo, scale.hi):
        y = scale(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="#eee"/>'
        )
        parts.append(_text(x - 4, y + 4, _fmt(tick), anchor="end"))
    middle = (scale.px_lo + scale.px_hi) / 2
    parts.append(_text(14, middle, label, extra=f' transform="rotate(-90 14 {middle:.1f})"'))


def _vertical(parts: list[str], x: float, top: float, bottom: float) -> None:
    parts.append(
        f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="#888" '
        'stroke-dasharray="4 3"/>'
    )


def forest_plot(
    rows: Sequence[ForestRow], *, kind: str, title: str, x_label: str, reference: float = 0.0
) -> str:
    """Intervals with their estimate, one line each, under a heading per section."""
    row_height, left, right, top = 16.0, 230.0, WIDTH - 20.0, 32.0
    sections = list(dict.fromkeys(row.section for row in rows))
    height = top + row_height * (len(rows) + len(sections)) + 50
    scale = _Scale(
        *_span([r.lo for r in rows] + [r.hi for r in rows], include=[reference]), left, right
    )
    bottom = height - 44
    parts = _open(kind, title, height)
    _x_axis(parts, scale, bottom, top, x_label)
    _vertical(parts, scale(reference), top, bottom)
    y = top
    for index, section in enumerate(sections):
        y += row_height
        parts.append(_text(8, y, section, anchor="start", extra=' font-weight="bold"'))
        colour = PALETTE[index % len(PALETTE)]
        for row in (r for r in rows if r.section == section):
            y += row_height
            label = f"{row.label}: {_fmt(row.estimate)} [{_fmt(row.lo)}, {_fmt(row.hi)}]"
            parts.append(_text(left - 6, y + 4, row.label, anchor="end"))
            parts.append(
                f'<line x1="{scale(row.lo):.1f}" y1="{y:.1f}" x2="{scale(row.hi):.1f}" '
                f'y2="{y:.1f}" stroke="{colour}" stroke-width="2"/>'
            )
            parts.append(
                f'<circle class="mark" cx="{scale(row.estimate):.1f}" cy="{y:.1f}" r="3.5" '
                f'fill="{colour}"><title>{escape(label)}</title></circle>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def scatter_plot(
    points: Sequence[Point],
    *,
    kind: str,
    title: str,
    x_label: str,
    y_label: str,
    diagonal: bool = False,
    bounds: tuple[float, float] | None = None,
) -> str:
    """Points coloured by series; ``diagonal`` draws y = x (for nominal against empirical)."""
    height, left, right, top, bottom = 380.0, 60.0, WIDTH - 150.0, 30.0, 330.0
    x_span = bounds or _span([p.x for p in points])
    y_span = bounds or _span([p.y for p in points])
    xs = _Scale(*x_span, left, right)
    ys = _Scale(*y_span, bottom, top)
    parts = _open(kind, title, height)
    _x_axis(parts, xs, bottom, top, x_label)
    _y_axis(parts, ys, left, right, y_label)
    if diagonal:
        parts.append(
            f'<line x1="{xs(x_span[0]):.1f}" y1="{ys(x_span[0]):.1f}" x2="{xs(x_span[1]):.1f}" '
            f'y2="{ys(x_span[1]):.1f}" stroke="#888" stroke-dasharray="4 3"/>'
        )
    series = list(dict.fromkeys(p.series for p in points))
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    for point in points:
        parts.append(
            f'<circle class="mark" cx="{xs(point.x):.1f}" cy="{ys(point.y):.1f}" r="3.5" '
            f'fill="{colours[point.series]}" fill-opacity="0.75">'
            f"<title>{escape(point.label)}</title></circle>"
        )
    for i, name in enumerate(s for s in series if s):
        y = top + 14 * i + 6
        parts.append(f'<circle cx="{right + 16:.1f}" cy="{y:.1f}" r="4" fill="{colours[name]}"/>')
        parts.append(_text(right + 24, y + 4, name, anchor="start"))
    parts.append("</svg>")
    return "\n".join(parts)


def histogram(
    densities: Sequence[float],
    *,
    kind: str,
    title: str,
    x_label: str,
    reference: float | None = None,
) -> str:
    """Equal-width bars over [0, 1]; ``reference`` draws the density a flat histogram has."""
    height, left, right, top, bottom = 260.0, 60.0, WIDTH - 20.0, 30.0, 210.0
    xs = _Scale(0.0, 1.0, left, right)
    ys = _Scale(0.0, max([*densities, reference or 0.0, 1e-9]) * 1.1, bottom, top)
    parts = _open(kind, title, height)
    _x_axis(parts, xs, bottom, top, x_label)
    _y_axis(parts, ys, left, right, "density")
    width = 1.0 / max(len(densities), 1)
    for i, density in enumerate(densities):
        x0, x1 = xs(i * width), xs((i + 1) * width)
        label = f"{i * width:.2f}-{(i + 1) * width:.2f}: {density:.3f}"
        parts.append(
            f'<rect class="mark" x="{x0 + 1:.1f}" y="{ys(density):.1f}" width="{x1 - x0 - 2:.1f}" '
            f'height="{bottom - ys(density):.1f}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}</title></rect>"
        )
    if reference is not None:
        parts.append(
            f'<line x1="{left:.1f}" y1="{ys(reference):.1f}" x2="{right:.1f}" '
            f'y2="{ys(reference):.1f}" stroke="{PALETTE[1]}" stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def band_plot(
    x: Sequence[float],
    y: Sequence[float],
    lo: Sequence[float],
    hi: Sequence[float],
    *,
    kind: str,
    title: str,
    x_label: str,
    y_label: str,
) -> str:
    """A curve with a shaded interval band, a mark at each tabulated point."""
    height, left, right, top, bottom = 300.0, 60.0, WIDTH - 20.0, 30.0, 250.0
    xs = _Scale(*_span(x), left, right)
    ys = _Scale(*_span([*lo, *hi], include=[0.0]), bottom, top)
    parts = _open(kind, title, height)
    _x_axis(parts, xs, bottom, top, x_label)
    _y_axis(parts, ys, left, right, y_label)
    outline = [(xs(a), ys(b)) for a, b in zip(x, hi, strict=True)]
    outline += [(xs(a), ys(b)) for a, b in reversed(list(zip(x, lo, strict=True)))]
    parts.append(
        '<polygon points="'
        + " ".join(f"{px:.1f},{py:.1f}" for px, py in outline)
        + f'" fill="{PALETTE[0]}" fill-opacity="0.2"/>'
    )
    curve = " ".join(f"{xs(a):.1f},{ys(b):.1f}" for a, b in zip(x, y, strict=True))
    parts.append(f'<polyline points="{curve}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
    parts.append(
        f'<line x1="{left:.1f}" y1="{ys(0.0):.1f}" x2="{right:.1f}" y2="{ys(0.0):.1f}" '
        'stroke="#888" stroke-dasharray="4 3"/>'
    )
    for a, b, low, high in zip(x, y, lo, hi, strict=True):
        label = f"{_fmt(a)}: {_fmt(b)} [{_fmt(low)}, {_fmt(high)}]"
        parts.append(
            f'<circle class="mark" cx="{xs(a):.1f}" cy="{ys(b):.1f}" r="3" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}</title></circle>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
