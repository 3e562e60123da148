"""Charts written as SVG (core/svg.py): axes of round 万元 steps that cover every value, exact tick labels, an
accessible name and description, hostile labels escaped, and the same bytes for the same data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.svg import WIDTH, Bar, Series, Text, bars_svg, columns_svg, nice_ticks, text_width, wan_label

SVG = ""  # inline in HTML: no namespace attribute
fen = st.integers(min_value=-10**13, max_value=10**13)


@given(fen, fen)
def test_ticks_cover_the_values_and_zero_at_a_round_step(a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= min(lo, 0) and ticks[-1] >= max(hi, 0) and 0 in ticks
    assert 2 <= len(ticks) <= 7
    step = ticks[1] - ticks[0]
    assert all(y - x == step for x, y in zip(ticks, ticks[1:], strict=False))
    assert re.fullmatch(r"[125]0*", str(step))
    assert nice_ticks(lo, hi) == ticks  # same data, same axis


def test_tick_labels_are_exact_wan_yuan_with_separators() -> None:
    assert wan_label(12_345_000_000, 1_000_000_000) == "12,345"
    assert wan_label(1_500_000, 500_000) == "1.5"
    assert wan_label(-20_000, 10_000) == "-0.02"
    assert wan_label(0, 2) == "0.000000"
    assert nice_ticks(0, 0)[::5] == [0, 1_000_000]  # an empty chart: one 万元 tall, at 0.2


def test_a_bar_chart_has_an_accessible_name_and_escapes_its_labels() -> None:
    bars = [Bar(Text("乡镇卫生院", "township <b>"), 123_456_789, "#2e7d32"), Bar(Text("A&B"), -5_000_000, "#c62828")]
    svg = bars_svg("chart-x", Text("结余分配", "Split"), "条形图 bar chart", bars, axis=Text("万元", "10,000 yuan"))
    root = ET.fromstring(svg)  # well-formed XML: the labels are escaped
    assert root.get("role") == "img" and root.get("aria-labelledby") == "chart-x-t chart-x-d"
    assert root.find(f"{SVG}title").text == "结余分配 / Split"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "条形图 bar chart"  # type: ignore[union-attr]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "乡镇卫生院" in texts and "township <b>" in texts and "A&B" in texts
    rects = list(root.iter(f"{SVG}rect"))
    assert len(rects) == 2 and all(0 <= int(r.get("x", "")) and int(r.get("x", "")) + int(r.get("width", ""))
                                   <= WIDTH for r in rects)
    assert "1,234,567.89 元" in svg  # the exact amount on hover, never a float
    assert bars_svg("chart-x", Text("结余分配", "Split"), "条形图 bar chart", bars,
                    axis=Text("万元", "10,000 yuan")) == svg


def test_stacked_columns_reach_the_sum_of_their_series() -> None:
    prepaid = Series(Text("预付", "prepayment"), "#8fb8de", (3_000_000, 3_000_000))
    inside = Series(Text("医共体内", "in-network"), "#2e7d32", (1_000_000, 2_000_000))
    outside = Series(Text("医共体外", "out-of-network"), "#c62828", (1_000_000, 2_000_000))
    svg = columns_svg("chart-m", Text("逐月", "monthly"), "d", ["1", "2"], [[prepaid], [inside, outside]],
                      axis=Text("万元", "10,000 yuan"), x_axis=Text("月份", "month"))
    root = ET.fromstring(svg)
    rects = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(rects) == 6
    height = {(r.get("x"), r.get("fill")): int(r.get("height", "")) for r in rects}
    month2 = [h for (x, fill), h in height.items() if fill != "#8fb8de" and int(x or 0) > WIDTH // 2]
    prepaid2 = [h for (x, fill), h in height.items() if fill == "#8fb8de" and int(x or 0) > WIDTH // 2]
    assert abs(sum(month2) - 4 * prepaid2[0] // 3) <= 2  # 4 万元 stacked against 3 万元 prepaid
    legend = [t.text for t in root.iter(f"{SVG}text")]
    assert {"预付", "prepayment", "医共体外", "out-of-network"} <= set(legend)


def test_chinese_text_is_measured_wider_than_latin() -> None:
    assert text_width("医共体") == 3 * 11 and text_width("abc") < text_width("医共体")
