"""Charts drawn on the server as inline SVG (图表): no script, no style attribute (the CSP forbids both), no
external asset. Colours are SVG presentation attributes."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

__all__ = ["PALETTE", "line_chart"]

PALETTE = ("#0b6e4f", "#b3261e", "#1f5fbf", "#a66300")


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, width: int = 640,
               height: int = 260, unit: str = "") -> Markup:
    """Lines over ``labels`` (x) for each (name, values); a legend under the plot; the y axis starts at 0."""
    pad_l, pad_r, pad_t, pad_b = 64, 12, 12, 48
    top = max([v for _, vals in series for v in vals] + [1.0])
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return pad_l + plot_w * i / n

    def y(v: float) -> float:
        return pad_t + plot_h * (1 - v / top)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for k in range(5):
        v = top * k / 4
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#d9dee5"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#5c6878">'
                     f'{v:,.0f}</text>')
    for i, label in enumerate(labels):
        parts.append(f'<text x="{x(i):.1f}" y="{height - pad_b + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#5c6878">{escape(label)}</text>')
    for s, (name, vals) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        lx = pad_l + s * 200
        parts.append(f'<rect x="{lx}" y="{height - 18}" width="14" height="4" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 20}" y="{height - 12}" font-size="12" fill="#1d2430">{escape(name)}'
                     f'{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
