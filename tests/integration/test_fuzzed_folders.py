"""What a mutation fuzz of the worked example's data folder found (数据目录变异测试): one hostile change to a CSV
folder, then ``check`` and ``run`` in memory, and the same folder with its claims as Parquet parts, checked and run
streamed. The two paths must give the same verdict and the same files; each test is the smallest input that showed a
difference."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from yigongti.benefits.service import parquet_claims
from yigongti.budget.year import run_year
from yigongti.cli import app
from yigongti.core.engine import connect
from yigongti.core.problems import InvalidInput
from yigongti.datafolder.folder import read_folder
from yigongti.datafolder.service import check_data_folder


def _edit_claims(folder: Path, edit: str, *, row: int = 0) -> None:
    """``folder/claims.csv`` with its ``referral_from`` column dropped (edit="drop referral_from"), the
    ``diagnosis`` of data row ``row`` replaced by a formula (edit="formula") or its flags left empty (edit="no
    flags")."""
    path = folder / "claims.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if edit == "drop referral_from":
        i = rows[0].index("referral_from")
        rows = [r[:i] + r[i + 1:] for r in rows]
    elif edit == "no flags":
        for name in ("emergency", "unreasonable"):
            rows[row + 1][rows[0].index(name)] = ""
    else:
        rows[row + 1][rows[0].index("diagnosis")] = "=1+1"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def _copy(source: Path, target: Path) -> Path:
    target.mkdir()
    for f in source.iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    return target


def _text_parts(folder: Path) -> None:
    """``folder``'s claims.csv as two Parquet parts of text columns, as written (the fuzz's conversion)."""
    src = folder / "claims.csv"
    names = pcsv.read_csv(src, read_options=pcsv.ReadOptions(skip_rows_after_names=10**9)).column_names
    table = pcsv.read_csv(src, convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                                   strings_can_be_null=True, null_values=[""]))
    src.unlink()
    (folder / "claims").mkdir()
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), folder / "claims" / "part-0.parquet")
    pq.write_table(table.slice(half), folder / "claims" / "part-1.parquet")


def _engine_claims(folder: Path) -> pa.Table:
    """The folder's Parquet claims as the streamed path reads them (typed by the engine), by claim_id."""
    con = connect("duckdb")
    try:
        return parquet_claims(con, folder).order_by("claim_id").to_pyarrow()
    finally:
        con.disconnect()


def test_a_formula_in_parquet_parts_is_a_warning_as_in_csv(example_input: Path, tmp_path: Path) -> None:
    """A diagnosis '=1+1' is a warning in claims.csv (the folder is valid, exit 0); in a folder of Parquet parts the
    part's name was added to the message and the warning became an error: ``check`` exited 2 on a valid folder."""
    for kind in ("csv", "parts"):
        folder = _copy(example_input, tmp_path / kind)
        _edit_claims(folder, "formula", row=700)
        if kind == "parts":
            _text_parts(folder)
        report = check_data_folder(folder)
        assert [p.warning for p in report.problems] == [True], report.problems
        assert report.problems[0].row == 702 and report.problems[0].column == "diagnosis"
        result = CliRunner().invoke(app, ["check", str(folder)])
        assert result.exit_code == 0, result.output
        assert "WARNING / 警告" in result.output


def test_streamed_claims_keep_the_contract_order_without_an_optional_column(example_input: Path,
                                                                             tmp_path: Path) -> None:
    """Without the optional ``referral_from`` column the engine's claims (the streamed path) had it appended after
    ``unreasonable``, so adjudicated.csv's columns came in another order than the in-memory path's."""
    csv_folder = _copy(example_input, tmp_path / "csv")
    _edit_claims(csv_folder, "drop referral_from")
    memory = read_folder(csv_folder)["claims"]
    parts = _copy(csv_folder, tmp_path / "parts")
    _text_parts(parts)
    assert "referral_from" in memory.column_names
    assert _engine_claims(parts).column_names == memory.column_names


def test_streamed_claims_read_an_empty_flag_as_false(example_input: Path, tmp_path: Path) -> None:
    """An empty ``emergency`` or ``unreasonable`` cell is false (the contract's bool); the engine read the text
    column's null as null, so the streamed adjudicated.csv wrote an empty cell where the in-memory one wrote false
    (and a filter on ``unreasonable`` could drop the claim)."""
    csv_folder = _copy(example_input, tmp_path / "csv")
    _edit_claims(csv_folder, "no flags", row=546)
    memory = read_folder(csv_folder)["claims"]
    parts = _copy(csv_folder, tmp_path / "parts")
    _text_parts(parts)
    streamed = _engine_claims(parts)
    memory = memory.sort_by("claim_id")
    for name in ("emergency", "unreasonable"):
        assert memory.column(name)[546].as_py() is False
        assert streamed.column(name).to_pylist() == memory.column(name).to_pylist(), name


def test_an_unknown_tier_is_named_not_a_traceback(example_input: Path, tmp_path: Path) -> None:
    """An institution's tier that is not one of the list ('xyz', a formula '-0.00') was reported, but kept: the
    registry's rules then built their Tier from it and raised ValueError, a traceback (exit 1) from ``check`` and
    ``run`` instead of exit 2 naming file, row and column."""
    for k, value in enumerate(("xyz", "-0.00", "a b")):
        folder = _copy(example_input, tmp_path / f"tier-{k}")
        path = folder / "institutions.csv"
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        rows[26][rows[0].index("tier")] = value
        with path.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        named = f"institutions.csv:27:tier: '{value}' is not one of county, township, village, outside"
        for args in (["check", str(folder)],
                     ["run", "--data", str(folder), "--year", "2026", "--out", str(tmp_path / "out")]):
            result = CliRunner().invoke(app, args)
            assert result.exit_code == 2, (args[0], result.output, result.exception)
            assert named in result.output, (args[0], result.output)
        assert not (tmp_path / "out").exists()


def test_a_streamed_run_refuses_an_unknown_referring_claim(example_input: Path, tmp_path: Path) -> None:
    """A ``referral_from`` naming no claim is refused by ``check`` and the in-memory ``run`` (exit 2, named); on
    Parquet claims streamed through the engine the run did not look, and settled the year on it (exit 0)."""
    folder = _copy(example_input, tmp_path / "parts")
    path = folder / "claims.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows[622][rows[0].index("referral_from")] = "TRUE"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    _text_parts(folder)
    with pytest.raises(InvalidInput) as caught:
        run_year(folder, 2026, tmp_path / "out", stream_above=0)
    assert [(p.row, p.column) for p in caught.value.problems] == [(623, "referral_from")]
    assert "unknown referring claim TRUE" in caught.value.problems[0].message
    assert not (tmp_path / "out").exists()


def test_a_blank_optional_text_in_parquet_is_an_empty_cell_in_the_streamed_adjudicated_csv(
        example_input: Path, tmp_path: Path) -> None:
    """Parquet claims whose blank ``referral_from`` and ``diagnosis`` cells are ``''`` (not null): the folder's
    reader makes them null, the engine read them as they are, so the streamed adjudicated.csv wrote ``""`` where the
    in-memory one writes an empty cell. Both paths now write the same bytes."""
    folder = _copy(example_input, tmp_path / "parts")
    src = folder / "claims.csv"
    names = pcsv.read_csv(src, read_options=pcsv.ReadOptions(skip_rows_after_names=10**9)).column_names
    table = pcsv.read_csv(src, convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                                   strings_can_be_null=False))
    assert table.column("referral_from").null_count == 0 and "" in table.column("referral_from").to_pylist()
    blank = table.column("diagnosis").to_pylist()
    blank[5] = ""  # one blank diagnosis too
    table = table.set_column(names.index("diagnosis"), "diagnosis", pa.array(blank, pa.string()))
    src.unlink()
    (folder / "claims").mkdir()
    pq.write_table(table, folder / "claims" / "part-0.parquet")
    run_year(folder, 2026, tmp_path / "streamed", stream_above=0, fmt="csv")
    streamed = (tmp_path / "streamed" / "adjudicated.csv").read_text(encoding="utf-8")
    assert ',""' not in streamed
    memory_copy = tmp_path / "memory-blank"
    _copy(example_input, memory_copy)
    with (memory_copy / "claims.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows[6][rows[0].index("diagnosis")] = ""
    with (memory_copy / "claims.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    run_year(memory_copy, 2026, tmp_path / "memory2")
    assert streamed == (tmp_path / "memory2" / "adjudicated.csv").read_text(encoding="utf-8")
    # the command's Parquet output of the same folder: the blank cells null too
    result = CliRunner().invoke(app, ["adjudicate", "--data", str(folder), "--year", "2026", "--out",
                                      str(tmp_path / "pq"), "--format", "parquet"])
    assert result.exit_code == 0, result.output
    written = pq.read_table(tmp_path / "pq" / "adjudicated.parquet")
    for name in ("diagnosis", "referral_from"):
        assert "" not in written.column(name).to_pylist(), name
    assert written.column("diagnosis").null_count >= 1
