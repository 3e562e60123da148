"""Charts as inline SVG (矢量图表), written directly: columns and bars drawn from integer fen on integer coordinates,
text as text (Chinese first, English under it: the reader's browser draws it in its own fonts, so a machine without a
Chinese font writes the same page), a ``<title>`` and a ``<desc>`` for screen readers (the values are in the table
the page puts under each chart). No matplotlib, no script, no CDN; the same data give the same bytes.

A chart is :data:`WIDTH` CSS pixels wide (the text width of an A4 page with 2 cm margins at 96 dpi: it prints at
100 %, as vectors) and scales down with ``max-width:100%`` on a narrow screen. Money axes are in 万元 (10,000 yuan)
with thousands separators, never ``1e6``; a hover title on each bar gives its exact amount in yuan.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from yigongti.core.labels import format_money

__all__ = ["FONT", "WIDTH", "Bar", "Series", "Text", "bars_svg", "columns_svg", "nice_ticks", "text_width",
           "wan_label"]

WIDTH = 640
"""A chart's width in CSS pixels: A4's text width (6.7 in) at 96 dpi is 643 px."""
FONT = 11
"""The size of tick labels, bar labels and the legend (px); titles are larger."""
WAN = 1_000_000
"""Fen in one 万元 (10,000 yuan)."""
INK, GRID, MUTED = "#222", "#d8d8d8", "#555"
_WIDE_FROM = 0x2E80  # CJK radicals onward: a character a full em wide


@dataclass(frozen=True)
class Text:
    """A label: Chinese first, English under it (``en`` empty: one line, e.g. a code)."""

    zh: str
    en: str = ""

    def lines(self) -> tuple[str, ...]:
        return tuple(t for t in (self.zh, self.en) if t)


@dataclass(frozen=True)
class Series:
    """One series of a column chart: its name (the legend), colour and one value in fen per category."""

    name: Text
    colour: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class Bar:
    """One bar of a bar chart: its label, value in fen and colour."""

    label: Text
    value: int
    colour: str


def text_width(text: str, size: int = FONT) -> int:
    """An estimate of ``text``'s width in px at ``size`` (a CJK character is an em, anything else 0.6 em): enough to
    lay out labels without measuring fonts."""
    tenths = sum(10 if ord(ch) >= _WIDE_FROM else 6 for ch in text)
    return (tenths * size + 9) // 10


def nice_ticks(lo: int, hi: int, *, most: int = 6) -> list[int]:
    """Ticks in fen covering ``[min(lo, 0), max(hi, 0)]`` at a step of 1, 2 or 5 x 10^k fen, at most ``most``
    intervals; an empty range (all zero) is one 万元 tall."""
    lo, hi = min(lo, 0), max(hi, 0)
    if lo == hi:
        hi = WAN
    step = 1
    while True:
        for m in (1, 2, 5):
            s = step * m
            first, last = lo // s, -(-hi // s)  # floor(lo / s), ceil(hi / s)
            if last - first <= most:
                return [k * s for k in range(first, last + 1)]
        step *= 10


def wan_label(fen: int, step: int) -> str:
    """``fen`` as 万元 with thousands separators and as many decimals as ``step`` (fen) needs: 1,234.5."""
    decimals = 0
    while step % WAN and decimals < 6:
        step *= 10
        decimals += 1
    value = (Decimal(fen) / WAN).quantize(Decimal(1).scaleb(-decimals))
    return f"{value:,.{decimals}f}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _text(x: int, y: int, text: str, *, size: int = FONT, anchor: str = "start", weight: str = "",
          fill: str = INK, extra: str = "") -> str:
    bold = ' font-weight="bold"' if weight else ""
    return (f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{bold}{extra}>'
            f"{_e(text)}</text>")


def _open(chart_id: str, height: int, title: Text, desc: str) -> list[str]:
    """The ``<svg>`` element (inline in HTML: no namespace attribute, the page has no address in it), its accessible
    name and description, and the title drawn on two lines."""
    name = " / ".join(title.lines())
    return [f'<svg id="{_e(chart_id)}" class="chart" role="img" '
            f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
            f'aria-labelledby="{_e(chart_id)}-t {_e(chart_id)}-d" font-family="sans-serif">',
            f'<title id="{_e(chart_id)}-t">{_e(name)}</title>', f'<desc id="{_e(chart_id)}-d">{_e(desc)}</desc>',
            _text(WIDTH // 2, 17, title.zh, size=14, anchor="middle", weight="bold"),
            *([_text(WIDTH // 2, 34, title.en, size=12, anchor="middle", fill=MUTED)] if title.en else [])]


def _tip(name: str, fen: int) -> str:
    return f"<title>{_e(name)}: {format_money(fen)} 元 yuan</title>"


def _label(x: int, y: int, label: Text, *, anchor: str, size: int = FONT, room: int | None = None) -> str:
    """A label of one or two lines centred on ``y`` (the English line smaller and grey), cut to ``room`` px."""
    lines = label.lines()
    top = y - (len(lines) - 1) * (size + 1) // 2 + size * 7 // 20
    out = []
    for i, line in enumerate(lines):
        if room is not None and text_width(line, size) > room:
            while line and text_width(line + "…", size) > room:
                line = line[:-1]
            line += "…"
        out.append(_text(x, top + i * (size + 1), line, size=size if i == 0 else size - 1, anchor=anchor,
                         fill=INK if i == 0 else MUTED))
    return "".join(out)


def _legend(series: Sequence[Series], y: int) -> tuple[list[str], int]:
    """The legend under the plot, centred, wrapped into rows; returns its elements and the y under it."""
    items = [(s, 14 + max(text_width(t) for t in s.name.lines()) + 18) for s in series]
    rows: list[list[tuple[Series, int]]] = [[]]
    for item in items:
        if rows[-1] and sum(w for _, w in rows[-1]) + item[1] > WIDTH - 40:
            rows.append([])
        rows[-1].append(item)
    two = any(s.name.en for s in series)
    height = 2 * FONT + 6 if two else FONT + 8
    out: list[str] = []
    for row in rows:
        x = (WIDTH - sum(w for _, w in row)) // 2
        for s, w in row:
            out.append(f'<rect x="{x}" y="{y + height // 2 - 5}" width="10" height="10" fill="{s.colour}"/>')
            out.append(_label(x + 14, y + height // 2, s.name, anchor="start"))
            x += w
        y += height
    return out, y


def columns_svg(chart_id: str, title: Text, desc: str, categories: Sequence[str], stacks: Sequence[Sequence[Series]],
                *, axis: Text, x_axis: Text) -> str:
    """A column chart: per category, one column per stack side by side, each stack's series drawn bottom up
    (values in fen, the axis in 万元); the legend under the plot."""
    n = max(len(categories), 1)
    sums = [0]
    for stack in stacks:
        for k in range(len(categories)):
            total = 0
            for s in stack:
                total += s.values[k]
                sums.append(total)
    ticks = nice_ticks(min(sums), max(sums))
    lo, hi, step = ticks[0], ticks[-1], ticks[1] - ticks[0]
    left = 30 + max(text_width(wan_label(t, step)) for t in ticks) + 6
    right, top, plot_h = WIDTH - 12, 48, 200
    bottom = top + plot_h

    def y(v: int) -> int:
        return top + (hi - v) * plot_h // (hi - lo)

    out = []
    for t in ticks:
        out.append(f'<line x1="{left}" y1="{y(t)}" x2="{right}" y2="{y(t)}" stroke="{INK if t == 0 else GRID}" '
                   f'stroke-width="1"/>')
        out.append(_text(left - 4, y(t) + 4, wan_label(t, step), anchor="end"))
    slot = (right - left) // n
    width = max(1, slot * 8 // 10 // max(len(stacks), 1))
    for k, cat in enumerate(categories):
        x0 = left + k * slot + (slot - width * len(stacks)) // 2
        for j, stack in enumerate(stacks):
            base = 0
            for s in stack:
                v = s.values[k]
                if v:
                    y1, y2 = y(max(base, base + v)), y(min(base, base + v))
                    out.append(f'<rect x="{x0 + j * width}" y="{y1}" width="{width}" height="{max(y2 - y1, 1)}" '
                               f'fill="{s.colour}">{_tip(f"{cat} {s.name.zh} {s.name.en}", v)}</rect>')
                base += v
        out.append(_text(left + k * slot + slot // 2, bottom + FONT + 4, cat, anchor="middle"))
    out.append(_label((left + right) // 2, bottom + 2 * FONT + 14, Text(" ".join(x_axis.lines())), anchor="middle"))
    mid = (top + bottom) // 2
    out.append(_text(12, mid, " ".join(axis.lines()), anchor="middle", extra=f' transform="rotate(-90 12 {mid})"'))
    legend, end = _legend([s for stack in stacks for s in stack], bottom + 3 * FONT + 18)
    return "".join([*_open(chart_id, end + 6, title, desc), *out, *legend, "</svg>"])


def bars_svg(chart_id: str, title: Text, desc: str, bars: Sequence[Bar], *, axis: Text) -> str:
    """A bar chart: one horizontal bar per item, the first at the top (values in fen, the axis in 万元, a line at
    zero when a value is negative), each label left of the plot."""
    ticks = nice_ticks(min((b.value for b in bars), default=0), max((b.value for b in bars), default=0))
    lo, hi, step = ticks[0], ticks[-1], ticks[1] - ticks[0]
    two = any(b.label.en for b in bars)
    row = 30 if two else 20
    room = WIDTH * 45 // 100
    label_w = min(max((text_width(t) for b in bars for t in b.label.lines()), default=0), room)
    left, right, top = label_w + 14, WIDTH - 8 - text_width(wan_label(hi, step)) // 2, 48
    bottom = top + row * max(len(bars), 1) + 4

    def x(v: int) -> int:
        return left + (v - lo) * (right - left) // (hi - lo)

    out = []
    for t in ticks:
        out.append(f'<line x1="{x(t)}" y1="{top}" x2="{x(t)}" y2="{bottom}" stroke="{INK if t == 0 else GRID}" '
                   f'stroke-width="1"/>')
        out.append(_text(x(t), bottom + FONT + 4, wan_label(t, step), anchor="middle"))
    for i, b in enumerate(bars):
        yc = top + 2 + i * row + row // 2
        x1, x2 = x(min(0, b.value)), x(max(0, b.value))
        tip = _tip(" ".join(b.label.lines()), b.value)
        out.append(f'<rect x="{x1}" y="{yc - row * 3 // 10}" width="{max(x2 - x1, 1)}" height="{row * 6 // 10}" '
                   f'fill="{b.colour}">{tip}</rect>')
        out.append(_label(left - 6, yc, b.label, anchor="end", room=label_w))
    out.append(_text((left + right) // 2, bottom + 2 * FONT + 12, " ".join(axis.lines()), anchor="middle"))
    return "".join([*_open(chart_id, bottom + 2 * FONT + 20, title, desc), *out, "</svg>"])
