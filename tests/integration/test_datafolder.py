"""Reading and validating data folders from real files (CSV with and without BOM, Excel, Parquet)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.datafolder.folder import check_folder, read_folder, read_raw_table


@pytest.fixture
def folder(tmp_path: Path, example_input: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(example_input, dst)
    return dst


def test_example_county_is_valid_and_typed(example_input: Path) -> None:
    data = read_folder(example_input)
    claims = data["claims"]
    assert str(claims.schema.field("total_cost").type) == "int64"
    assert claims.column("total_cost")[0].as_py() == 3730  # 37.30 yuan
    assert str(claims.schema.field("admit_date").type) == "date32[day]"


def test_every_problem_is_reported_with_file_row_column(folder: Path) -> None:
    p = folder / "persons.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[3] = "1990-02-30"  # birth_date: not a calendar date
    lines[1] = ",".join(cells)
    cells = lines[2].split(",")
    cells[1] = cells[1][:-1] + ("0" if cells[1][-1] != "0" else "1")  # id_number: wrong check digit
    cells[5] = "retired"  # insurance: not an allowed value
    lines[2] = ",".join(cells)
    lines.append(lines[3])  # duplicate person_id
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    c = folder / "claims.csv"
    cl = c.read_text(encoding="utf-8").splitlines()
    cells = cl[1].split(",")
    cells[7] = "12.345"
    cl[1] = ",".join(cells)
    c.write_text("\n".join(cl) + "\n", encoding="utf-8")

    _, problems = check_folder(folder)
    where = {(x.file, x.row, x.column) for x in problems}
    assert ("persons.csv", 2, "birth_date") in where
    assert ("persons.csv", 3, "insurance") in where
    assert ("claims.csv", 2, "total_cost") in where
    assert any(x.file == "persons.csv" and x.row == len(lines) and "duplicate" in x.message for x in problems)

    result = CliRunner().invoke(app, ["check", str(folder)])
    assert result.exit_code == 2
    assert "persons.csv:2:birth_date:" in result.stderr


def test_id_number_check_digit(folder: Path) -> None:
    p = folder / "persons.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    last = cells[1][-1]
    cells[1] = cells[1][:-1] + ("1" if last != "1" else "2")
    lines[1] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, problems = check_folder(folder)
    assert [(x.row, x.column) for x in problems] == [(2, "id_number")]


def test_bom_excel_and_parquet_load_the_same(folder: Path, tmp_path: Path) -> None:
    base = read_raw_table(folder / "institutions.csv")
    bom = folder / "institutions.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes())
    assert read_raw_table(bom).equals(base)

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    rows = read_raw_table(folder / "consortia.csv").to_pylist()
    ws.append(list(rows[0]))
    for r in rows:
        ws.append(list(r.values()))
    wb.save(folder / "consortia.xlsx")
    (folder / "consortia.csv").unlink()

    persons = read_folder(folder)["persons"]
    (folder / "persons.csv").unlink()
    pdir = folder / "persons"
    pdir.mkdir()
    pq.write_table(persons.slice(0, 100), pdir / "part-0.parquet")
    pq.write_table(persons.slice(100), pdir / "part-1.parquet")
    again = read_folder(folder)
    assert again["persons"].num_rows == persons.num_rows
    assert again["consortia"].column("lead_inst_id").to_pylist() == [r["lead_inst_id"] for r in rows]


def test_registry_rule_is_enforced_on_load(folder: Path) -> None:
    c = folder / "consortia.csv"
    lines = c.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[3] = "G1-T1"  # a township centre cannot lead
    lines[1] = ",".join(cells)
    c.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, problems = check_folder(folder)
    assert problems and all(x.file == "consortia.csv" and x.column == "lead_inst_id" for x in problems)


def test_missing_required_table(folder: Path) -> None:
    (folder / "persons.csv").unlink()
    _, problems = check_folder(folder)
    assert [str(x) for x in problems] == ["persons.csv:0:: required table is missing / 缺少必需的表"]


def test_parquet_written_by_write_table_reads_back_to_the_same_fen(folder: Path) -> None:
    from yigongti.datafolder.folder import write_table

    claims = read_folder(folder)["claims"]
    (folder / "claims.csv").unlink()
    write_table(claims, folder, "claims", fmt="parquet")
    assert str(pq.read_schema(folder / "claims.parquet").field("total_cost").type) == "decimal128(20, 2)"
    again = read_folder(folder)["claims"]
    assert again.column("total_cost").to_pylist() == claims.column("total_cost").to_pylist()
    assert again.column("covered_cost").to_pylist() == claims.column("covered_cost").to_pylist()


def _set_claim_cells(folder: Path, column: int, value: str, rows: Iterable[int] | None = None) -> int:
    """claims.csv with ``value`` in ``column`` of the data rows ``rows`` (0-based; None: every row); the claim count."""
    c = folder / "claims.csv"
    lines = c.read_text(encoding="utf-8").splitlines()
    for i in range(len(lines) - 1) if rows is None else rows:
        cells = lines[i + 1].split(",")
        cells[column] = value
        lines[i + 1] = ",".join(cells)
    c.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


TOTAL_COST, SETTING = 7, 3  # columns of claims.csv


def test_a_wholly_bad_column_lists_the_first_problems_and_counts_them_all(folder: Path) -> None:
    n = _set_claim_cells(folder, TOTAL_COST, "abc")
    _set_claim_cells(folder, SETTING, "bogus", range(3))
    _, problems = check_folder(folder, limit=50)
    total = [p for p in problems if p.file == "claims.csv" and p.column == "total_cost"]
    assert [p.row for p in total] == [0, *range(2, 52)]  # the count first, then the first 50 rows
    assert f"{n:,} problems in this column, the first 50 listed" in total[0].message
    assert [p.row for p in problems if p.column == "setting"] == [2, 3, 4]  # under the limit: all, no count line
    _, every = check_folder(folder, limit=None)
    assert len([p for p in every if p.column == "total_cost"]) == n

    result = CliRunner().invoke(app, ["check", str(folder)])
    assert result.exit_code == 2
    assert f"claims.csv:0:total_cost: {n:,} problems in this column, the first 1,000 listed" in result.stderr
    assert "claims.csv:1001:total_cost:" in result.stderr and "claims.csv:1002:total_cost:" not in result.stderr
    result = CliRunner().invoke(app, ["check", str(folder), "--all"])
    assert f"claims.csv:{n + 1}:total_cost:" in result.stderr and "first 1,000 listed" not in result.stderr


def test_the_limit_holds_across_the_parts_of_a_parquet_folder(folder: Path) -> None:
    n = _set_claim_cells(folder, TOTAL_COST, "abc")
    raw = read_raw_table(folder / "claims.csv")
    (folder / "claims.csv").unlink()
    (folder / "claims").mkdir()
    third = raw.num_rows // 3
    for i, (lo, k) in enumerate(((0, third), (third, third), (2 * third, raw.num_rows - 2 * third))):
        pq.write_table(raw.slice(lo, k), folder / "claims" / f"part-{i}.parquet")
    limit = third + 10  # the first part's problems, then 10 of the second's
    _, problems = check_folder(folder, limit=limit)
    total = [p for p in problems if p.column == "total_cost"]
    assert len(total) == limit + 1 and total[0].row == 0 and f"{n:,} problems" in total[0].message
    assert "part-1.parquet record 10 " in total[-1].message


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.sets(st.integers(min_value=0, max_value=1056), max_size=60), limit=st.integers(min_value=1, max_value=40))
def test_the_limit_lists_the_first_problems_and_counts_every_one(folder: Path, bad: set[int], limit: int) -> None:
    original = (folder / "claims.csv").read_text(encoding="utf-8")
    _set_claim_cells(folder, TOTAL_COST, "x", bad)
    try:
        _, problems = check_folder(folder, limit=limit)
    finally:
        (folder / "claims.csv").write_text(original, encoding="utf-8")
    rows = [p.row for p in problems if p.column == "total_cost"]
    expected = sorted(i + 2 for i in bad)
    if len(bad) > limit:
        assert rows == [0, *expected[:limit]]
        assert f"{len(bad):,} problems in this column, the first {limit:,} listed" in problems[0].message
    else:
        assert rows == expected


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell of a CSV file (``row`` as the file shows it: the first data row is 2); no quoted commas."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_one_pass_reports_row_and_cross_table_checks_beside_format_errors(folder: Path) -> None:
    """A format error in one column does not silence the other checks: the ID number's check digit, an unknown
    institution, a village under another consortium's township all come in the same pass, and the row with the
    bad cell gets no follow-up problem of its own."""
    _edit_csv(folder / "persons.csv", 2, "birth_date", "1990-02-30")  # format: not a calendar date
    persons = (folder / "persons.csv").read_text(encoding="utf-8").splitlines()
    header = persons[0].split(",")
    cells = persons[2].split(",")
    id_number = cells[header.index("id_number")]
    _edit_csv(folder / "persons.csv", 3, "id_number", id_number[:-1] + ("1" if id_number[-1] != "1" else "2"))
    _edit_csv(folder / "claims.csv", 2, "inst_id", "NO-SUCH-INST")
    _edit_csv(folder / "claims.csv", 3, "total_cost", "abc")  # format error in claims too
    _edit_csv(folder / "institutions.csv", 5, "parent_id", "G2-T1")  # G1-T1-V2 under G2's township
    _edit_csv(folder / "institutions.csv", 3, "lon", "east")  # an institution with a format error: left out
    _, problems = check_folder(folder)
    where = {(p.file, p.row, p.column) for p in problems}
    assert ("persons.csv", 2, "birth_date") in where
    assert ("persons.csv", 3, "id_number") in where
    assert ("claims.csv", 2, "inst_id") in where
    assert ("claims.csv", 3, "total_cost") in where
    assert ("institutions.csv", 5, "parent_id") in where
    assert ("institutions.csv", 3, "lon") in where
    # the bad cells are skipped by the checks that would need them: one problem each
    assert [p for p in problems if p.file == "persons.csv" and p.row == 2] == \
        [p for p in problems if (p.file, p.row, p.column) == ("persons.csv", 2, "birth_date")]
    assert len([p for p in problems if p.file == "institutions.csv" and p.row == 3]) == 1
    assert len([p for p in problems if p.file == "claims.csv" and p.row == 3]) == 1

    result = CliRunner().invoke(app, ["check", str(folder)])
    assert result.exit_code == 2
    for line in ("persons.csv:3:id_number:", "claims.csv:2:inst_id:", "institutions.csv:5:parent_id:"):
        assert line in result.stderr
