"""Import messages name the file (or part), row and column, and echo at most ~60 characters of a bad value."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.datafolder.folder import check_folder, read_folder


@pytest.fixture
def folder(tmp_path: Path, example_input: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(example_input, dst)
    return dst


def _set(path: Path, row: int, column: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _parquet_folder(folder: Path) -> None:
    claims = pacsv.read_csv(folder / "claims.csv")
    (folder / "claims.csv").unlink()
    (folder / "claims").mkdir()
    pq.write_table(claims.slice(0, 500), folder / "claims" / "part-0.parquet")
    (folder / "claims" / "part-1.parquet").write_bytes(b"PAR1 this is not parquet PAR1")


def test_an_unreadable_part_is_named_and_no_command_crashes(folder: Path, tmp_path: Path) -> None:
    _parquet_folder(folder)
    _, problems = check_folder(folder)
    assert [(p.file, p.row) for p in problems] == [("claims/part-1.parquet", 0)]
    for args in (["check", str(folder)],
                 ["adjudicate", "--data", str(folder), "--year", "2026", "--out", str(tmp_path / "a")],
                 ["settle", "--data", str(folder), "--year", "2026", "--out", str(tmp_path / "s")]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.stderr, result.exception)
        assert "claims/part-1.parquet:0::" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_huge_cell_and_a_huge_amount_get_row_and_column(folder: Path) -> None:
    _set(folder / "claims.csv", 2, "total_cost", "9" * 10_000_000)
    _set(folder / "claims.csv", 3, "covered_cost", "99999999999999999999.00")
    _, problems = check_folder(folder)
    by_place = {(p.row, p.column): p for p in problems if p.file == "claims.csv"}
    assert "too large" in by_place[(3, "covered_cost")].message
    assert (2, "total_cost") in by_place
    assert all(len(str(p)) < 300 for p in problems)
    result = CliRunner().invoke(app, ["check", str(folder)])
    assert result.exit_code == 2
    assert len(result.stderr) < 5_000


def test_two_formats_of_one_table_is_an_error(folder: Path) -> None:
    pq.write_table(pacsv.read_csv(folder / "claims.csv"), folder / "claims.parquet")
    _, problems = check_folder(folder)
    assert [(p.file, p.row) for p in problems] == [("claims.csv", 0)]
    assert "claims.parquet" in problems[0].message
    assert CliRunner().invoke(app, ["check", str(folder)]).exit_code == 2


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07"])
def test_control_characters_in_text_are_refused(folder: Path, char: str) -> None:
    _set(folder / "claims.csv", 4, "diagnosis", f"J06{char}.9")
    _, problems = check_folder(folder)
    assert [(p.file, p.row, p.column) for p in problems] == [("claims.csv", 4, "diagnosis")]
    assert "control character" in problems[0].message
    assert char not in str(problems[0])


def test_formula_cells_are_warnings_that_keep_a_valid_folder_valid(folder: Path) -> None:
    _set(folder / "claims.csv", 2, "diagnosis", "=HYPERLINK(1)")
    _set(folder / "claims.csv", 3, "diagnosis", "@SUM(A1)")
    _set(folder / "institutions.csv", 2, "name", "+示例县医院1")
    _, problems = check_folder(folder)
    assert {(p.file, p.row, p.column) for p in problems} == {
        ("claims.csv", 2, "diagnosis"), ("claims.csv", 3, "diagnosis"), ("institutions.csv", 2, "name")}
    assert all(p.warning for p in problems)
    read_folder(folder)  # valid: no InvalidInput
    result = CliRunner().invoke(app, ["check", str(folder)])
    assert result.exit_code == 0, result.stderr
    assert "claims.csv:2:diagnosis: WARNING" in result.stderr
    assert "institutions.csv:2:name: WARNING" in result.stderr
