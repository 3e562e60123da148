"""Reports legible at print size (A4), Chinese first: the settlement report's charts are inline SVG at the page's
width (vectors: they print sharp), each with a title and a description for screen readers and its table; money axes
in 万元 with thousands separators (never ``1e6``); a split chart of names or tiers; Excel summary cells are numbers
with number formats, months are dates, money is never text. The other reports' matplotlib charts (PNG at 150 dpi)
keep the legend under the plot and plain axes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_settle_example import example_folder  # noqa: I001
from typer.testing import CliRunner

from yigongti.budget.report import SPLIT_BARS, split_bars
from yigongti.cli import app
from yigongti.core.reports import chart_png, legend_outside, plain_axis, pyplot
from yigongti.core.svg import WIDTH


@pytest.fixture(scope="module")
def reports(example_input: Path, example_expected: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = example_folder(example_input, example_expected, tmp_path_factory.mktemp("county"))
    target = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(app, ["settle", "--data", str(folder), "--year", "2026", "--out", str(target)])
    assert result.exit_code == 0, result.output
    return target / "reports"


def test_every_chart_is_inline_svg_at_the_a4_text_width_with_its_name_and_table(reports: Path) -> None:
    page = (reports / "settlement-G2.html").read_text(encoding="utf-8")
    assert "data:image/png" not in page and "<script" not in page and "http" not in page
    figures = re.findall(r"<figure>(<svg.*?</svg>)</figure>\s*(<table)?", page)
    assert len(figures) == 4
    names = []
    for svg, table in figures:
        root = ET.fromstring(svg)
        assert int(root.get("width", "")) == WIDTH and 0.95 * 6.7 * 96 <= WIDTH <= 6.7 * 96  # A4 text width, 96 dpi
        assert root.get("role") == "img"
        title, desc = (root.find(t) for t in ("title", "desc"))
        assert title is not None and desc is not None and title.text and desc.text
        assert re.match(r"^[\u4e00-\u9fff]", title.text) and " / " in title.text  # Chinese first, then English
        assert "下表" in desc.text and "table below" in desc.text and table  # the values, for a screen reader
        names.append(title.text)
    assert names[0] == "逐月预算与支出 / Budget vs spending by month"
    ticks = re.findall(r'text-anchor="end" fill="#222">([^<]*)</text>', figures[0][0])
    assert ticks and all(re.fullmatch(r"-?[\d,]+(\.\d+)?", t) and "e" not in t for t in ticks)


def test_money_axes_have_no_exponent_and_the_legend_is_outside() -> None:
    plt = pyplot()
    fig, ax = plt.subplots()
    try:
        ax.bar([1, 2], [12_345_678.0, 98_765_432.0], label="x")
        plain_axis(ax, "y")
        legend_outside(ax)
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels and all("e" not in t.lower() for t in labels)
        assert any("," in t for t in labels)
        assert ax.yaxis.get_offset_text().get_text() == ""
        legend = ax.get_legend().get_window_extent()
        assert legend.y1 <= ax.get_window_extent().y0  # under the plot, not over the bars
    finally:
        plt.close(fig)
    assert chart_png(lambda a: a.plot([0, 1], [0, 1]))[:4] == b"\x89PNG"


@dataclass
class _Alloc:
    inst_id: str
    tier: str
    amount: int


def test_a_large_split_is_drawn_by_tier_with_exact_sums() -> None:
    few = [_Alloc(f"V{i}", "village", 100 * i) for i in range(SPLIT_BARS)]
    assert [b[0].zh for b in split_bars(few)][0] == f"V{SPLIT_BARS - 1}"
    many = few + [_Alloc(f"T{i}", "township", -7) for i in range(5)] + [_Alloc("H", "county", 10**9)]
    bars = split_bars(many)
    assert len(bars) == 3
    assert sum(b[1] for b in bars) == sum(a.amount for a in many)
    assert any("（5 家）" in b[0].zh and "(5 institutions)" in b[0].en for b in bars)


def test_excel_summary_cells_are_numbers_with_formats(reports: Path) -> None:
    wb = load_workbook(reports / "settlement-G2.xlsx")
    summary = {r[0].value: r[1] for r in wb["summary 清算"].iter_rows() if r[0].value}
    for key, cell in summary.items():
        if key.startswith(("考核等级", "预算来源")):  # text rows: the grade, where the budget came from
            assert isinstance(cell.value, str)
            continue
        assert cell.data_type == "n" and cell.value is not None, key
        assert cell.number_format.startswith("#,##0"), (key, cell.number_format)
    assert summary["结余(超支) / balance"].value == pytest.approx(-22661.97)
    monthly = wb["monthly 按月"]
    first = monthly.cell(row=2, column=1)
    assert isinstance(first.value, datetime) and first.number_format == "yyyy-mm"
    for row in monthly.iter_rows(min_row=2, min_col=2):
        assert all(c.data_type == "n" and c.number_format == "#,##0.00" for c in row)
    tiers = [r[0].value for r in wb["tiers 资金去向"].iter_rows(min_row=2)]
    assert tiers and all(re.match(r"^[\u4e00-\u9fff]", t) for t in tiers)  # 乡镇卫生院… township, not "township"
