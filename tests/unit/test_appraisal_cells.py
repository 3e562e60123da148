"""The appraisal workbook's cell writer (``report._fast_cells``) writes the very bytes openpyxl's own writer does."""

from __future__ import annotations

import io
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell import _writer as cells
from openpyxl.worksheet import _writer as sheets

from yigongti.appraisal.report import _fast_cells

values = st.one_of(
    st.none(),
    st.text(st.characters(min_codepoint=32, blacklist_categories=("Cs",)) | st.sampled_from("\t\n\r"),
            max_size=12),  # & < > quotes, surrounding whitespace, empty, formula-like "=..."
    st.sampled_from(["=1+1", " x", "x ", "a&b<c>d", "\"'", "医共体 consortium", "", "  "]),
    st.integers(min_value=-10**18, max_value=10**18),
    st.decimals(allow_nan=False, allow_infinity=True, places=4),
    st.sampled_from([Decimal("NaN"), Decimal("-0"), Decimal("1E+30"), Decimal("0.1000")]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)


def _saved(rows: list[list[object]], *, fast: bool, formats: bool) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if formats:
        for r in ws.iter_rows(min_row=1, min_col=2):
            for cell in r:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
    ws.freeze_panes = "B2"
    buf = io.BytesIO()
    if fast:
        with _fast_cells():
            wb.save(buf)
    else:
        wb.save(buf)
    return _sheet_xml(buf.getvalue())


def _sheet_xml(data: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("xl/worksheets/sheet1.xml")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(values, max_size=6), min_size=1, max_size=8), st.booleans())
def test_same_bytes_as_openpyxl(rows: list[list[object]], formats: bool) -> None:
    assert _saved(rows, fast=True, formats=formats) == _saved(rows, fast=False, formats=formats)


def test_openpyxl_writer_restored_and_used() -> None:
    before = sheets.write_cell
    written: list[str] = []
    wb = Workbook()
    wb.active.append(["a", Decimal("1.50"), None, True, " padded "])
    with _fast_cells():
        assert sheets.write_cell is not before or before is not cells.etree_write_cell
        wb.save(io.BytesIO())
    assert sheets.write_cell is before
    xml = _saved([["a", Decimal("1.50"), None, True, " padded "]], fast=True, formats=False).decode()
    written.append(xml)
    assert '<c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="n"><v>1.5</v></c>' in xml
    assert 'xml:space="preserve"' in xml  # the padded text went through openpyxl's own writer
