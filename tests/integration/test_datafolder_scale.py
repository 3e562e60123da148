"""Checking folders at scale: typed Parquet columns checked in their own type, tables read part by part,
duplicates found column-wise; the problems are the same as the text path's and the whole-table path's."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.core.problems import Problem
from yigongti.datafolder import folder as datafolder
from yigongti.datafolder.duplicates import duplicate_rows
from yigongti.datafolder.folder import check_folder, fen_to_yuan, read_folder, scan_folder
from yigongti.datafolder.service import check_data_folder


@pytest.fixture
def folder(tmp_path: Path, example_input: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(example_input, dst)
    return dst


def _claims_typed() -> pa.Table:
    n = 6
    return pa.table({
        "claim_id": [f"X{i}" for i in range(n)],
        "person_id": ["R0001"] * n,
        "inst_id": ["G2-H"] * n,
        "setting": ["outpatient"] * n,
        "emergency": pa.array([True, None, False, False, False, False]),
        "admit_date": pa.array([date(2026, 1, 2), None, date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 1),
                                date(2026, 3, 1)], pa.date32()),
        "discharge_date": pa.array([None] * n, pa.date32()),
        "total_cost": pa.array([12.3, 12.345, float("nan"), -1.0, None, 0.1 + 0.2]),
        "covered_cost": pa.array([Decimal("1.00"), Decimal("-2.50"), Decimal(3), None, Decimal("0.01"),
                                  Decimal(0)], pa.decimal128(10, 2)),
        "diagnosis": ["J06.9"] * n,
        "referral_from": pa.array([None] * n, pa.string()),
    })


def _choices_typed() -> pa.Table:
    return pa.table({
        "person_id": ["R0001", "R0002", "R0003"],
        "year": pa.array([2026.0, 2025.5, 1800.0]),
        "consortium_id": ["G1", "G1", None],
        "township_id": ["G1-T1", "G1-T1", None],
        "village_id": [None, None, None],
        "chosen_at": pa.array([datetime(2025, 10, 1, 8, 30, 15, 500000), None, datetime(2025, 10, 2)],
                              pa.timestamp("ms")),
    })


def _as_csv_text(table: pa.Table) -> pa.Table:
    """The same values as text, the way a person would have typed them (floats as Python prints them)."""
    cols = {}
    for name in table.column_names:
        values = table.column(name).to_pylist()
        texts = []
        for v in values:
            if v is None:
                texts.append("")
            elif isinstance(v, bool):
                texts.append("true" if v else "false")
            elif isinstance(v, datetime):
                texts.append(v.strftime("%Y-%m-%dT%H:%M:%S"))
            elif isinstance(v, date):
                texts.append(v.isoformat())
            else:
                texts.append(repr(v) if isinstance(v, float) else str(v))
        cols[name] = pa.array(texts, pa.string())
    return pa.table(cols)


def test_typed_parquet_columns_report_what_their_text_would(folder: Path, tmp_path: Path) -> None:
    text_folder = tmp_path / "as-text"
    shutil.copytree(folder, text_folder)
    for name, table in (("claims", _claims_typed()), ("choices", _choices_typed())):
        (folder / f"{name}.csv").unlink()
        pq.write_table(table, folder / f"{name}.parquet")
        pacsv.write_csv(_as_csv_text(table), text_folder / f"{name}.csv")
    _, typed = check_folder(folder)
    _, texts = check_folder(text_folder)
    assert typed, "the bad values must be reported"
    assert [Problem(p.file.replace(".parquet", ".csv"), p.row, p.column, p.message) for p in typed] == texts
    shown = {(p.file, p.row, p.column): p.message for p in typed}
    assert shown[("claims.parquet", 3, "total_cost")].startswith("'12.345' is not an amount")
    assert shown[("claims.parquet", 4, "total_cost")].startswith("'nan' is not an amount")
    assert shown[("claims.parquet", 7, "total_cost")].startswith("'0.30000000000000004' is not an amount")
    assert shown[("claims.parquet", 3, "covered_cost")].startswith("'-2.50' is below the minimum 0")
    assert shown[("claims.parquet", 3, "admit_date")].startswith("required value is empty")
    assert shown[("choices.parquet", 3, "year")].startswith("'2025.5' is not a whole number")
    assert shown[("choices.parquet", 4, "year")].startswith("'1800.0' is below the minimum 1900")
    assert scan_folder(folder).problems == typed


def test_typed_parquet_values_become_the_same_typed_columns(folder: Path) -> None:
    claims = read_folder(folder)["claims"]
    (folder / "claims.csv").unlink()
    as_float = claims.set_column(claims.column_names.index("total_cost"), "total_cost",
                                 pa.compute.divide(pa.compute.cast(claims.column("total_cost"), pa.float64()), 100.0))
    as_float = as_float.set_column(claims.column_names.index("covered_cost"), "covered_cost",
                                   fen_to_yuan(claims.column("covered_cost")))
    pq.write_table(as_float, folder / "claims.parquet")
    again = read_folder(folder)["claims"]
    assert again.column("total_cost").to_pylist() == claims.column("total_cost").to_pylist()
    assert again.column("covered_cost").to_pylist() == claims.column("covered_cost").to_pylist()
    assert again.column("emergency").to_pylist() == claims.column("emergency").to_pylist()
    assert again.column("admit_date").type == pa.date32()


def test_parquet_folder_is_checked_part_by_part(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = read_folder(folder)
    claims = whole["claims"]
    (folder / "claims.csv").unlink()
    parts = folder / "claims"
    parts.mkdir()
    bad = claims.to_pylist()
    bad[500]["claim_id"] = bad[10]["claim_id"]  # a duplicate key across parts
    bad[700]["person_id"] = "NOBODY"
    bad = pa.Table.from_pylist(bad, schema=claims.schema)
    for i, start in enumerate(range(0, bad.num_rows, 300)):
        pq.write_table(bad.slice(start, 300), parts / f"part-{i:05d}.parquet")
    monkeypatch.setattr(datafolder, "PART_ROWS", 128)  # large parts come in several pieces too
    _, problems = check_folder(folder)
    # one pass: the unknown person is reported beside the duplicate key (it used to wait for a second round)
    assert [(p.file, p.row, p.column) for p in problems] == [("claims/", 502, "claim_id"), ("claims/", 702,
                                                                                            "person_id")]
    assert problems[0].message == (f"duplicate key {bad.column('claim_id')[10]} (first on row 12) / 主键重复"
                                   " (part-00001.parquet record 201 / 第201条)")
    bad = bad.to_pylist()
    bad[500]["claim_id"] = "C-NEW"
    pq.write_table(pa.Table.from_pylist(bad[300:600], schema=claims.schema), parts / "part-00001.parquet")
    report = check_data_folder(folder)
    assert [str(p) for p in report.problems] == [
        "claims/:702:person_id: unknown person NOBODY / 参保人不存在 (part-00002.parquet record 101 / 第101条)"]
    assert report.rows["claims"] == claims.num_rows


def test_csv_read_in_parts_reports_the_same_rows(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = folder / "claims.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    for row in (3, 400, 1000):
        cells = lines[row - 1].split(",")
        cells[7] = "-1"
        lines[row - 1] = ",".join(cells)
    lines.append(lines[5])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, whole = check_folder(folder)
    monkeypatch.setattr(datafolder, "PART_ROWS", 100)
    _, parted = check_folder(folder)
    assert parted == whole
    assert [(p.row, p.column) for p in whole] == [(3, "total_cost"), (400, "total_cost"), (1000, "total_cost"),
                                                  (len(lines), "claim_id")]
    assert scan_folder(folder).problems == whole


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="abc", max_size=3)), max_size=60), st.booleans())
def test_duplicate_rows_agree_with_a_plain_loop(values: list[str | None], chunked: bool) -> None:
    first: dict[str, int] = {}
    rows, firsts = [], []
    for i, v in enumerate(values):
        if v is None:
            continue
        if v in first:
            rows.append(i)
            firsts.append(first[v])
        else:
            first[v] = i
    arr = pa.array(values, pa.string())
    column = pa.chunked_array([arr.slice(0, len(values) // 2), arr.slice(len(values) // 2)]) if chunked else arr
    got_rows, got_firsts = duplicate_rows(column)
    assert got_rows.tolist() == rows
    assert got_firsts.tolist() == firsts


def test_references_kept_encoded_find_the_same_unknown_persons(folder: Path) -> None:
    choices = read_folder(folder)["choices"]
    (folder / "choices.csv").unlink()
    (folder / "choices").mkdir()
    rows = choices.to_pylist()
    rows[5]["person_id"] = "GHOST"
    rows[70]["person_id"] = "GHOST2"
    table = pa.Table.from_pylist(rows, schema=choices.schema)
    pq.write_table(table.slice(0, 50), folder / "choices" / "part-0.parquet")
    pq.write_table(table.slice(50), folder / "choices" / "part-1.parquet")
    scanned = scan_folder(folder)
    assert scanned.problems == check_folder(folder)[1]
    assert [str(p) for p in scanned.problems] == [
        "choices/:7:person_id: unknown person GHOST / 参保人不存在 (part-0.parquet record 6 / 第6条)",
        "choices/:72:person_id: unknown person GHOST2 / 参保人不存在 (part-1.parquet record 21 / 第21条)"]
    assert scanned.rows["choices"] == choices.num_rows


def test_text_identifiers_and_date_times_are_still_checked(folder: Path) -> None:
    claims = folder / "claims.csv"
    lines = claims.read_text(encoding="utf-8").splitlines()
    lines[1] = "C 1" + lines[1][lines[1].index(","):]
    lines[2] = '"C,2"' + lines[2][lines[2].index(","):]
    claims.write_text("\n".join(lines) + "\n", encoding="utf-8")
    choices = folder / "choices.csv"
    lines = choices.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[5] = "2025-02-30T10:00"
    lines[1] = ",".join(cells)
    choices.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, problems = check_folder(folder)
    assert [str(p) for p in problems] == [
        "choices.csv:2:chosen_at: '2025-02-30T10:00' is not a valid date-time / 时间不存在",
        "claims.csv:2:claim_id: 'C 1' is not an identifier (no spaces, commas or semicolons) / 编码格式错误",
        "claims.csv:3:claim_id: 'C,2' is not an identifier (no spaces, commas or semicolons) / 编码格式错误"]
