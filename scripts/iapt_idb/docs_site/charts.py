"""Charts as inline SVG, drawn here in Python: no script, no web font, nothing fetched."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from .render import phrase

# Colours chosen to be told apart by people with common colour-vision deficiencies.
BLUE, DARK_BLUE, ORANGE, RED, GREY, GREEN, YELLOW = (
    "#005eb8", "#003087", "#ed8b00", "#d5281b", "#768692", "#007f3b", "#ffb81c",
)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    href: str | None = None
    colour: str = BLUE
    tooltip: str = ""


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _fmt(n: float) -> str:
    return f"{int(n):,}" if float(n).is_integer() else f"{n:,.1f}"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def bar_chart(bars: list[Bar], title: str, unit: str, width: int = 720, label_width: int = 250) -> str:
    """Horizontal bars, largest first as given; each bar names its value and may link somewhere."""
    row, top, bottom = 26, 8, 28
    height = top + row * len(bars) + bottom
    plot = width - label_width - 70
    vmax = _nice_max(max((b.value for b in bars), default=0))
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        x = label_width + plot * i / 4
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" class="grid"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" class="tick" text-anchor="middle">{_fmt(vmax * i / 4)}</text>'
        )
    for i, b in enumerate(bars):
        y = top + i * row
        w = max(plot * b.value / vmax, 1.5 if b.value else 0)
        label = escape(_truncate(b.label, 34))
        bar = (
            f'<rect x="{label_width}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{b.colour}" class="bar">'
            f"<title>{escape(b.tooltip or b.label)}: {_fmt(b.value)} {escape(unit)}</title></rect>"
        )
        text = f'<text x="{label_width - 8}" y="{y + row / 2 + 4}" text-anchor="end" class="label">{label}</text>'
        if b.href:
            text = f'<a href="{escape(b.href)}">{text}</a>'
            bar = f'<a href="{escape(b.href)}">{bar}</a>'
        parts += [text, bar]
        parts.append(f'<text x="{label_width + w + 6:.1f}" y="{y + row / 2 + 4}" class="value">{_fmt(b.value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: tuple[float, ...]


def line_chart(labels: list[str], series: list[Series], title: str, width: int = 720, height: int = 260) -> str:
    """One line per series across the months in labels, with a point and value at each month."""
    left, right, top, bottom = 56, 150, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = _nice_max(max((v for s in series for v in s.values), default=0))
    n = len(labels)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / vmax)

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        v = vmax * i / 4
        parts.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + plot_w}" y2="{y(v):.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">{_fmt(v)}</text>')
    for i, lab in enumerate(labels):
        parts.append(f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle" class="tick">{escape(lab)}</text>')
    for k, s in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{s.colour}" stroke-width="2.5" class="line"/>')
        for i, v in enumerate(s.values):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" fill="{s.colour}">'
                f"<title>{escape(s.name)}, {escape(labels[i])}: {_fmt(v)}</title></circle>"
            )
        ly = top + 10 + k * 20
        parts.append(f'<rect x="{left + plot_w + 14}" y="{ly - 9}" width="14" height="10" fill="{s.colour}"/>')
        parts.append(f'<text x="{left + plot_w + 34}" y="{ly}" class="label">{escape(s.name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar(parts: list[tuple[str, int, str]], total: int, width: int = 140, height: int = 14) -> str:
    """A small 100% bar: parts are (label, count, colour); an empty grey bar when total is 0."""
    title = "; ".join(f"{label} {count:,}" for label, count, _ in parts) if total else phrase("no_rows")
    out = [
        f'<svg class="mini" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#e8edee"/>',
    ]
    x = 0.0
    for label, count, colour in parts:
        if not total or not count:
            continue
        w = width * count / total
        out.append(f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{colour}"/>')
        x += w
    out.append("</svg>")
    return "".join(out)
