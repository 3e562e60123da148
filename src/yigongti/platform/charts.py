"""Charts drawn on the server as inline SVG (图表): no script, no style attribute (the CSP forbids both), no
external asset. Colours are SVG presentation attributes."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

__all__ = ["PALETTE", "bar_chart", "line_chart", "map_chart", "target_chart"]

PALETTE = ("#0b6e4f", "#b3261e", "#1f5fbf", "#a66300")


def _open(css: str, width: int, height: int, title: str) -> str:
    """The ``<svg>`` tag of a chart: an image named by ``title`` for a screen reader (the page gives the figures
    in a table beside it)."""
    return (f'<svg class="{css}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>')


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, width: int = 640,
               height: int = 260, unit: str = "", title: str = "", dashed: Sequence[int] = (),
               bands: Sequence[tuple[Sequence[float], Sequence[float]] | None] = (),
               lines: Sequence[tuple[str, float]] = ()) -> Markup:
    """Lines over ``labels`` (x) for each (name, values); a legend under the plot; the y axis starts at 0 (or at the
    lowest value, when one is below 0). ``dashed``: the indices of series drawn dashed (last year's, say: told apart
    by more than colour). ``bands``: for each series, (low, high) values shaded around its line (a band across
    replicates), or None. ``lines``: horizontal reference lines (label, value), dashed, labelled at the right."""
    every = [v for _, vals in series for v in vals] + [v for b in bands if b for side in b for v in side]
    every += [v for _, v in lines]
    top = max(every + [1.0])
    bottom = min(every + [0.0])
    # room for the longest y tick label (about 7 px a character at font-size 11)
    pad_l, pad_r, pad_t, pad_b = max(64, 7 * max(len(f"{top:,.0f}"), len(f"{bottom:,.0f}")) + 12), 12, 12, 48
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return pad_l + plot_w * i / n

    def y(v: float) -> float:
        return pad_t + plot_h * (top - v) / (top - bottom)

    parts = [_open("chart", width, height, title or " / ".join(name + unit for name, _ in series))]
    for k in range(5):
        v = bottom + (top - bottom) * k / 4
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#d9dee5"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#5c6878">'
                     f'{v:,.0f}</text>')
    for i, label in enumerate(labels):
        parts.append(f'<text x="{x(i):.1f}" y="{height - pad_b + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#5c6878">{escape(label)}</text>')
    for s, b in enumerate(bands):
        if b is None or s >= len(series):
            continue
        low, high = b
        outline = [(x(i), y(v)) for i, v in enumerate(high)] + [(x(i), y(v)) for i, v in reversed(list(
            enumerate(low)))]
        parts.append(f'<polygon points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in outline)}" '
                     f'fill="{PALETTE[s % len(PALETTE)]}" fill-opacity="0.15" stroke="none"/>')
    for label, v in lines:
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#1d2430" '
                     f'stroke-dasharray="3 3"/>')
        parts.append(f'<text x="{width - pad_r}" y="{y(v) - 3:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#1d2430">{escape(label)}</text>')
    for s, (name, vals) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals))
        dash = ' stroke-dasharray="7 4"' if s in dashed else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>')
        lx = pad_l + s * min(200, (width - pad_l) // len(series))
        if dash:
            parts.append(f'<line x1="{lx}" x2="{lx + 14}" y1="{height - 16}" y2="{height - 16}" stroke="{colour}" '
                         f'stroke-width="3" stroke-dasharray="4 2"/>')
        else:
            parts.append(f'<rect x="{lx}" y="{height - 18}" width="14" height="4" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 20}" y="{height - 12}" font-size="12" fill="#1d2430">{escape(name)}'
                     f'{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(bars: Sequence[tuple[str, float]], *, maximum: float = 100.0, lines: Sequence[tuple[str, float]] = (),
              width: int = 640, bar_height: int = 26, title: str = "") -> Markup:
    """Horizontal bars (label, value) from 0 to ``maximum``, with vertical reference ``lines`` (label, value)."""
    pad_l, pad_r, pad_t = 140, 48, 22
    height = pad_t + bar_height * len(bars) + 8
    plot_w = width - pad_l - pad_r

    def x(v: float) -> float:
        return pad_l + plot_w * max(0.0, min(v, maximum)) / maximum

    parts = [_open("chart", width, height, title or ", ".join(f"{label} {value:g}" for label, value in bars))]
    for i, (label, value) in enumerate(bars):
        y = pad_t + i * bar_height
        parts.append(f'<text x="{pad_l - 6}" y="{y + bar_height * 0.65:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#1d2430">{escape(label)}</text>')
        parts.append(f'<rect x="{pad_l}" y="{y + 4}" width="{x(value) - pad_l:.1f}" height="{bar_height - 8}" '
                     f'fill="{PALETTE[0]}"/>')
        parts.append(f'<text x="{x(value) + 4:.1f}" y="{y + bar_height * 0.65:.1f}" font-size="12" '
                     f'fill="#1d2430">{value:g}</text>')
    for label, value in lines:
        parts.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{pad_t - 4}" y2="{height - 4}" '
                     f'stroke="{PALETTE[1]}" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x(value):.1f}" y="{pad_t - 8}" text-anchor="middle" font-size="11" '
                     f'fill="{PALETTE[1]}">{escape(label)} {value:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def map_chart(points: Sequence[tuple[float, float, float, str, str]], cells: Sequence[tuple[float, float, int]], *,
              cell_deg: float, width: int = 640, title: str = "地图 map") -> Markup:
    """A locally drawn map (no tiles): enrollee density as grey squares (lon, lat of the cell's corner, persons) and
    institutions as circles (lon, lat, radius px, colour, title). Equirectangular, scaled by cos(latitude)."""
    lons = [p[0] for p in points] + [c[0] for c in cells] + [c[0] + cell_deg for c in cells]
    lats = [p[1] for p in points] + [c[1] for c in cells] + [c[1] + cell_deg for c in cells]
    if not lons:
        return Markup("")
    import math

    lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    k = math.cos(math.radians((lat0 + lat1) / 2))
    span_x, span_y = max((lon1 - lon0) * k, 1e-6), max(lat1 - lat0, 1e-6)
    pad = 16
    scale = (width - 2 * pad) / span_x
    height = int(span_y * scale + 2 * pad)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon - lon0) * k * scale, pad + (lat1 - lat) * scale

    top = max([c[2] for c in cells] + [1])
    parts = [_open("chart map", width, height, title),
             f'<rect width="{width}" height="{height}" fill="#f3f5f0"/>']
    side = cell_deg * k * scale
    for lon, lat, n in cells:
        x, y = xy(lon, lat + cell_deg)
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{side:.1f}" height="{cell_deg * scale:.1f}" '
                     f'fill="#5c6878" fill-opacity="{0.08 + 0.6 * n / top:.2f}"><title>{n}</title></rect>')
    for lon, lat, r, colour, title in sorted(points, key=lambda p: -p[2]):
        x, y = xy(lon, lat)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}" fill-opacity="0.75" '
                     f'stroke="#fff" stroke-width="1"><title>{escape(title)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def target_chart(bars: Sequence[tuple[str, float, float | None]], *, maximum: float = 100.0, width: int = 640,
                 bar_height: int = 34, title: str = "", target_word: str = "target") -> Markup:
    """Horizontal bars (label, value, target) from 0 to ``maximum``, each with its own target as a dark tick; a bar
    that reaches its target is green, one short of it amber (the value is written beside it, colour is not alone)."""
    pad_l, pad_r, pad_t = 200, 56, 8
    height = pad_t + bar_height * len(bars) + 8
    plot_w = width - pad_l - pad_r

    def x(v: float) -> float:
        return pad_l + plot_w * max(0.0, min(v, maximum)) / maximum

    parts = [_open("chart", width, height, title or ", ".join(f"{label} {value:g}" for label, value, _ in bars))]
    for i, (label, value, target) in enumerate(bars):
        y = pad_t + i * bar_height
        colour = PALETTE[0] if target is None or value >= target else PALETTE[3]
        parts.append(f'<text x="{pad_l - 6}" y="{y + bar_height * 0.6:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#1d2430">{escape(label)}</text>')
        parts.append(f'<rect x="{pad_l}" y="{y + 6}" width="{plot_w}" height="{bar_height - 12}" fill="#e9edf2"/>')
        parts.append(f'<rect x="{pad_l}" y="{y + 6}" width="{x(value) - pad_l:.1f}" height="{bar_height - 12}" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{x(value) + 4:.1f}" y="{y + bar_height * 0.6:.1f}" font-size="12" '
                     f'fill="#1d2430">{value:g}</text>')
        if target is not None:
            parts.append(f'<line x1="{x(target):.1f}" x2="{x(target):.1f}" y1="{y + 2}" y2="{y + bar_height - 2}" '
                         f'stroke="#1d2430" stroke-width="3"><title>{escape(target_word)} {target:g}</title></line>')
    parts.append("</svg>")
    return Markup("".join(parts))
