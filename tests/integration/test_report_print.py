"""Reports legible at print size (A4, 150 dpi), Chinese first: charts at the page's width, money axes in 万元 with
thousands separators (never ``1e6``), the legend under the plot, a split chart of names or tiers; Excel summary
cells are numbers with number formats, months are dates, money is never text."""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_settle_example import example_folder  # noqa: I001
from typer.testing import CliRunner

from yigongti.budget.report import SPLIT_BARS, split_bars
from yigongti.cli import app
from yigongti.core.reports import PRINT_DPI, PRINT_WIDTH_IN, chart_png, legend_outside, plain_axis, pyplot


@pytest.fixture(scope="module")
def reports(example_input: Path, example_expected: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = example_folder(example_input, example_expected, tmp_path_factory.mktemp("county"))
    target = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(app, ["settle", "--data", str(folder), "--year", "2026", "--out", str(target)])
    assert result.exit_code == 0, result.output
    return target / "reports"


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_every_chart_is_drawn_for_an_a4_page_at_150_dpi(reports: Path) -> None:
    page = (reports / "settlement-G2.html").read_text(encoding="utf-8")
    pngs = [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)]
    assert len(pngs) == 4
    for png in pngs:
        width, _ = _png_size(png)
        assert 0.8 * PRINT_WIDTH_IN * PRINT_DPI <= width <= 1.05 * PRINT_WIDTH_IN * PRINT_DPI, width


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
    assert [b[0] for b in split_bars(few)][0] == f"V{SPLIT_BARS - 1}"
    many = few + [_Alloc(f"T{i}", "township", -7) for i in range(5)] + [_Alloc("H", "county", 10**9)]
    bars = split_bars(many)
    assert len(bars) == 3
    assert sum(b[1] for b in bars) == sum(a.amount for a in many)
    assert any("(5" in b[0] for b in bars)


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
