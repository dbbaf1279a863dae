"""Charts of the financing plan as static SVG markup, the same drawing for the page and the PDF.

Pure functions from plain values to an SVG string: no JavaScript, no CSS, no style attribute (the
Content-Security-Policy blocks them and WeasyPrint needs none). Each series has a colour AND a hatching
pattern, and every bar carries its value as text, so nothing is read from colour alone. Each chart has a
<title> and a <desc> referenced by aria-labelledby; the page puts the data table next to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from babel.numbers import format_decimal

FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
TEXT_COLOUR = "#212529"
# Colour-blind-safe palette (Okabe–Ito), each paired with a distinct pattern.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999", "#000000")
PATTERNS = ("solid", "diagonal", "dots", "horizontal", "cross", "vertical", "back-diagonal", "grid", "solid")
MAX_LABEL = 34  # characters of a label before it is cut with « … »


@dataclass(frozen=True)
class Series:
    """One coloured and patterned series of a chart: a category, a funder, expenses or resources."""

    code: str
    label: str


def short_amount(amount: Decimal) -> str:
    """An amount short enough for a bar: « 1,23 M€ », « 456 k€ », « 980 € »."""
    if abs(amount) >= 1_000_000:
        value, unit, pattern = amount / 1_000_000, "M€", "#,##0.00"
    elif abs(amount) >= 1_000:
        value, unit, pattern = amount / 1_000, "k€", "#,##0"
    else:
        value, unit, pattern = amount, "€", "#,##0"
    rounded = value.quantize(Decimal("0.01") if unit == "M€" else Decimal("1"), ROUND_HALF_UP)
    return format_decimal(rounded, format=pattern, locale="fr_FR") + "\u00a0" + unit


def _cut(label: str, limit: int = MAX_LABEL) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _text(
    x: float, y: float, content: str, *, anchor: str = "start", size: int = 12, bold: bool = False
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" fill="{TEXT_COLOUR}" '
        f'text-anchor="{anchor}"{weight}>{escape(content)}</text>'
    )


def _pattern_defs(ident: str, count: int) -> str:
    """One <pattern> per series: white hatching on a transparent background, laid over the series colour.

    The colour is a plain rectangle under it: PDF renderers leave hairline seams between pattern tiles,
    which only show on a transparent overlay as nothing at all."""
    shapes = {
        "solid": "",
        "diagonal": '<path d="M0,8 L8,0" stroke="#fff" stroke-width="1.5"/>',
        "back-diagonal": '<path d="M0,0 L8,8" stroke="#fff" stroke-width="1.5"/>',
        "dots": '<circle cx="4" cy="4" r="1.5" fill="#fff"/>',
        "horizontal": '<path d="M0,4 L8,4" stroke="#fff" stroke-width="1.5"/>',
        "vertical": '<path d="M4,0 L4,8" stroke="#fff" stroke-width="1.5"/>',
        "cross": '<path d="M0,8 L8,0 M0,0 L8,8" stroke="#fff" stroke-width="1"/>',
        "grid": '<path d="M0,4 L8,4 M4,0 L4,8" stroke="#fff" stroke-width="1"/>',
    }
    patterns = []
    for index in range(count):
        shape = shapes[PATTERNS[index % len(PATTERNS)]]
        patterns.append(
            f'<pattern id="{ident}-p{index}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f"{shape}</pattern>"
        )
    return "<defs>" + "".join(patterns) + "</defs>"


def _area(
    ident: str, index: int, x: float, y: float, width: float, height: float, stroke: str, tooltip: str = ""
) -> str:
    """A rectangle of a series: its colour, its hatching over it, and an optional tooltip."""
    colour = COLOURS[index % len(COLOURS)]
    title = f"<title>{escape(tooltip)}</title>" if tooltip else ""
    box = f'x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}"'
    return (
        f'<g>{title}<rect {box} fill="{colour}" stroke="{stroke}" stroke-width="0.5"/>'
        f'<rect {box} fill="url(#{ident}-p{index})"/></g>'
    )


def _open(ident: str, width: int, height: int, title: str, description: str, count: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="{ident}-title {ident}-desc" class="chart">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        _pattern_defs(ident, count),
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
    ]


def _legend(
    ident: str, series: Sequence[Series], x: float, y: float, width: float
) -> tuple[list[str], float]:
    """A legend wrapping over lines; returns the markup and the height it takes."""
    parts, cx, cy = [], x, y
    for index, item in enumerate(series):
        label = _cut(item.label, 60)
        item_width = 22 + 7 * len(label) + 16
        if cx + item_width > x + width and cx > x:
            cx, cy = x, cy + 20
        parts.append(_area(ident, index, cx, cy, 14, 14, TEXT_COLOUR))
        parts.append(_text(cx + 20, cy + 11, label, size=11))
        cx += item_width
    return parts, cy + 20 - y


def _scale(maximum: Decimal, span: float) -> float:
    return span / float(maximum) if maximum > 0 else 0.0


def stacked_bars(
    ident: str,
    title: str,
    description: str,
    series: Sequence[Series],
    rows: Sequence[tuple[str, Mapping[str, Decimal]]],
    width: int = 900,
) -> str:
    """Horizontal stacked bars: one bar per row (a partner), one segment per series, the total at its end."""
    label_width, bar_height, gap, top = 270, 20, 8, 10
    legend, legend_height = _legend(ident, series, 10, top, width - 20)
    first = top + legend_height + 10
    height = int(first + len(rows) * (bar_height + gap) + 10)
    totals = [sum((values.get(s.code, Decimal(0)) for s in series), Decimal(0)) for _label, values in rows]
    span = width - label_width - 100
    scale = _scale(max(totals, default=Decimal(0)), span)
    parts = _open(ident, width, max(height, int(first) + 20), title, description, len(series))
    parts.extend(legend)
    for row_index, ((label, values), total) in enumerate(zip(rows, totals, strict=True)):
        y = first + row_index * (bar_height + gap)
        parts.append(_text(label_width - 8, y + 14, _cut(label), anchor="end"))
        x = float(label_width)
        for index, item in enumerate(series):
            amount = values.get(item.code, Decimal(0))
            if amount <= 0:
                continue
            segment = float(amount) * scale
            tooltip = f"{label} — {item.label} : {short_amount(amount)}"
            parts.append(_area(ident, index, x, y, segment, bar_height, "#fff", tooltip))
            x += segment
        parts.append(_text(x + 6, y + 14, short_amount(total), size=11, bold=True))
    parts.append("</svg>")
    return "".join(parts)


def bars(
    ident: str, title: str, description: str, items: Sequence[tuple[str, Decimal]], width: int = 900
) -> str:
    """Horizontal bars, one per item (a funder), each with its own pattern and its value written after it."""
    label_width, bar_height, gap, top = 300, 20, 8, 10
    height = int(top + len(items) * (bar_height + gap) + 10)
    span = width - label_width - 110
    scale = _scale(max((amount for _label, amount in items), default=Decimal(0)), span)
    parts = _open(ident, width, max(height, 40), title, description, len(items))
    for index, (label, amount) in enumerate(items):
        y = top + index * (bar_height + gap)
        parts.append(_text(label_width - 8, y + 14, _cut(label), anchor="end"))
        length = max(float(amount) * scale, 0.0)
        if length > 0:
            parts.append(_area(ident, index, label_width, y, length, bar_height, TEXT_COLOUR))
        parts.append(_text(label_width + length + 6, y + 14, short_amount(amount), size=11, bold=True))
    parts.append("</svg>")
    return "".join(parts)


def grouped_columns(
    ident: str,
    title: str,
    description: str,
    series: Sequence[Series],
    groups: Sequence[tuple[str, Mapping[str, Decimal]]],
    width: int = 900,
    height: int = 300,
) -> str:
    """Vertical columns side by side per group (a year), one per series, each with its value above it."""
    legend, legend_height = _legend(ident, series, 10, 10, width - 20)
    top, bottom = 10 + legend_height + 24, height - 30
    maximum = max((v for _label, values in groups for v in values.values()), default=Decimal(0))
    scale = _scale(maximum, bottom - top)
    group_width = (width - 40) / max(len(groups), 1)
    column = min(70.0, (group_width - 30) / max(len(series), 1))
    parts = _open(ident, width, height, title, description, len(series))
    parts.extend(legend)
    parts.append(f'<line x1="20" y1="{bottom}" x2="{width - 20}" y2="{bottom}" stroke="{TEXT_COLOUR}"/>')
    for group_index, (label, values) in enumerate(groups):
        start = 20 + group_index * group_width + (group_width - column * len(series)) / 2
        for index, item in enumerate(series):
            amount = values.get(item.code, Decimal(0))
            length = max(float(amount) * scale, 0.0)
            x = start + index * column
            parts.append(_area(ident, index, x + 2, bottom - length, column - 4, length, TEXT_COLOUR))
            parts.append(
                _text(x + column / 2, bottom - length - 5, short_amount(amount), anchor="middle", size=10)
            )
        parts.append(
            _text(20 + group_index * group_width + group_width / 2, bottom + 18, label, anchor="middle")
        )
    parts.append("</svg>")
    return "".join(parts)
