"""The settlement workbook (``budget.report.consortium_report_xlsx``, written by XlsxWriter) reads back exactly as
the openpyxl workbook it replaced: the same sheets, cells, values, types, number formats, column widths and the
monthly chart; text is never a formula; the same bytes twice. The openpyxl writer is kept here as the oracle."""

from __future__ import annotations

import dataclasses
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from tests.integration.test_settle_example import example_folder
from tests.integration.test_settle_package import POLICY

from yigongti.budget import report as rp
from yigongti.budget.service import settle_year
from yigongti.core.labels import column_headers, labelled
from yigongti.datafolder.folder import neutralise_workbook


def _yuan(fen: int) -> Decimal:
    """The expected money cell: exact Decimal yuan of ``fen`` (the report writes it normalised, ``_plain``)."""
    return Decimal(int(fen)) / 100


def _oracle_xlsx(result: Any, s: Any) -> bytes:
    """The workbook as openpyxl wrote it before (main 8be199c), without the deterministic re-zip."""
    from openpyxl.chart import BarChart, Reference

    f = rp._figures(result, s)
    wb = Workbook()
    ws = wb.active
    ws.title = "summary 清算"
    for k, v in rp._summary_of(result, s):
        ws.append([k, _yuan(v) if isinstance(v, rp.Fen) else ("-" if v is None else v)])
        cell = ws.cell(row=ws.max_row, column=2)
        if isinstance(v, rp.Fen):
            cell.number_format = rp.MONEY_FORMAT
        elif isinstance(v, Decimal):
            cell.number_format = "#,##0.00##"
        elif isinstance(v, int):
            cell.number_format = rp.COUNT_FORMAT
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 20
    m = wb.create_sheet("monthly 按月")
    m.append(column_headers(("month", "prepayment", "in_network", "out_of_network")))
    for mo, p, i, o in zip(f["months"], f["prepaid"], f["in"], f["out"], strict=True):
        m.append([date(result.year, mo, 1), _yuan(p), _yuan(i), _yuan(o)])
        m.cell(row=m.max_row, column=1).number_format = "yyyy-mm"
    chart = BarChart()
    chart.add_data(Reference(m, min_col=2, max_col=4, min_row=1, max_row=len(f["months"]) + 1), titles_from_data=True)
    chart.set_categories(Reference(m, min_col=1, min_row=2, max_row=len(f["months"]) + 1))
    m.add_chart(chart, "F2")
    t = wb.create_sheet("tiers 资金去向")
    t.append(column_headers(("tier", "fund_paid", "claims")))
    for r in f["tiers"]:
        t.append([labelled("tier", r["tier"]), _yuan(r["fund_paid"]), int(r["claims"])])
    d = wb.create_sheet("top diagnoses 病种")
    d.append(column_headers(("rank", "diagnosis", "fund_paid", "claims")))
    for r in f["top"]:
        d.append([int(r["rank"]), r["diagnosis"], _yuan(r["fund_paid"]), int(r["claims"])])
    a = wb.create_sheet("split 分配")
    a.append(column_headers(("inst_id", "tier", "amount", "score", "public_health", "performance_pay_ceiling")))
    for al in f["alloc"]:
        a.append([al.inst_id, labelled("tier", al.tier), _yuan(al.amount),
                  None if al.score is None else al.score.normalize(), _yuan(al.public_health),
                  _yuan(al.performance_pay_ceiling)])
    pk = wb.create_sheet("package 包干")
    pk.append([" ".join(reversed(h.split(" / "))) for h in rp.PACKAGE_HEAD])
    for r in f["package"]:
        pk.append([_yuan(v) if isinstance(v, rp.Fen) else v for v in rp._package_cells(r)])
    if f["interim"]:
        q = wb.create_sheet("interim 季度")
        q.append([" ".join(reversed(h.split(" / "))) for h in rp.INTERIM_HEAD])
        for r in f["interim"]:
            q.append([_yuan(v) if isinstance(v, rp.Fen) else v for v in rp._interim_cells(r)])
    for sheet in wb.worksheets[1:]:
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, Decimal):
                    cell.number_format = rp.MONEY_FORMAT
                elif isinstance(cell.value, int) and cell.number_format == "General":
                    cell.number_format = rp.COUNT_FORMAT
        for col in "ABCD":
            sheet.column_dimensions[col].width = 22
    neutralise_workbook(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _read_back(data: bytes) -> dict[str, Any]:
    """Every sheet as openpyxl reads it: cells (value, its type, number format, data type), widths per column,
    the number of charts."""
    wb = load_workbook(io.BytesIO(data))
    out: dict[str, Any] = {}
    for ws in wb.worksheets:
        cells = [[(c.value, type(c.value).__name__, c.number_format, c.data_type) for c in row]
                 for row in ws.iter_rows()]
        widths = {i: d.width for d in ws.column_dimensions.values() if d.customWidth
                  for i in range(d.min, d.max + 1)}
        out[ws.title] = (cells, widths, len(ws._charts))
    return out


@pytest.fixture(scope="module", params=["example", "quarterly"])
def settled(request: pytest.FixtureRequest, example_input: Path, example_expected: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = example_folder(example_input, example_expected, tmp_path_factory.mktemp("county"))
    if request.param == "quarterly":  # the package, the reserve and the quarters' sheet
        (folder / "policy.toml").write_text(POLICY, encoding="utf-8")
    return settle_year(folder, 2026)


def test_the_workbook_reads_back_as_the_openpyxl_one(settled: Any) -> None:
    for s in settled.consortia:
        mine = _read_back(rp.consortium_report_xlsx(settled, s))
        assert mine == _read_back(_oracle_xlsx(settled, s)), s.consortium_id
        cells, widths, charts = mine["monthly 按月"]
        assert charts == 1 and widths == {1: 22, 2: 22, 3: 22, 4: 22}
        assert all(c[2] == "#,##0.00" and c[3] == "n" for row in cells[1:] for c in row[1:])
    assert any("interim 季度" in _read_back(rp.consortium_report_xlsx(settled, s)) for s in settled.consortia) == (
        bool(settled.interim))


def test_the_same_settlement_gives_the_same_bytes(settled: Any) -> None:
    s = settled.consortia[0]
    assert rp.consortium_report_xlsx(settled, s) == rp.consortium_report_xlsx(settled, s)


def test_text_that_looks_like_a_formula_stays_text(settled: Any) -> None:
    s = settled.consortia[0]
    top = pa.table({"consortium_id": [s.consortium_id] * 3, "rank": [1, 2, 3],
                    "diagnosis": ["=HYPERLINK(\"http://x\")", "+1+1", "-12.5"], "fund_paid": [100, 50, 1],
                    "claims": [1, 1, 1]})
    poisoned = dataclasses.replace(settled, top_diagnoses=top) if dataclasses.is_dataclass(settled) else None
    assert poisoned is not None
    cells, _, _ = _read_back(rp.consortium_report_xlsx(poisoned, s))["top diagnoses 病种"]
    assert [r[1][:2] for r in cells[1:]] == [("'=HYPERLINK(\"http://x\")", "str"), ("'+1+1", "str"),
                                             ("-12.5", "str")]
    assert all(r[1][3] == "s" for r in cells[1:])


@given(st.integers(min_value=-10**14, max_value=10**14), st.integers(min_value=0, max_value=4))
def test_a_decimal_cell_is_its_exact_value_as_openpyxl_wrote_it(units: int, places: int) -> None:
    # openpyxl wrote a Decimal as "%.16g" of its float (sometimes with the float's noise: 83962193068.39999); the
    # number cell now writes the Decimal itself: the same text where that was exact, never an exponent
    d = Decimal(units).scaleb(-places)
    for value in (d, d.normalize(), d.quantize(Decimal("0.01")) if places <= 2 else d):
        text = format(rp._plain(value), ".16G")
        assert Decimal(text) == value and "E" not in text and float(text) == float(value)
        if Decimal("%.16g" % value) == value:  # noqa: UP031
            assert text == "%.16g" % value  # noqa: UP031
