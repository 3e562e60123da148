"""Every command validates the claims it reads, in every input format, before it writes anything (CLI, real files).

Claims with an amount that is not in fen (a float64 12.345 in Parquet, the text ``12.345`` in CSV and Excel), a
negative amount and an ``emergency`` of ``maybe``: ``check``, ``adjudicate``, ``run`` and ``settle`` all exit 2 with
``file:row:column: message`` lines and leave the output folder empty.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from yigongti.cli import app

FORMATS = ["csv", "xlsx", "parquet", "parquet-folder"]
COMMANDS = ["check", "adjudicate", "run", "settle"]


def _claims_text(folder: Path) -> pa.Table:
    names = pacsv.read_csv(folder / "claims.csv").column_names
    return pacsv.read_csv(folder / "claims.csv",
                          convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))


def _bad_claims(folder: Path, fmt: str) -> str:
    """Rewrite the folder's claims in ``fmt`` with three bad cells (rows 2, 3 and 4 of the file, or of the second
    part of a Parquet folder); the label the problems name."""
    text = _claims_text(folder)
    total = text.column("total_cost").to_pylist()
    covered = text.column("covered_cost").to_pylist()
    emergency = text.column("emergency").to_pylist()
    n = len(total)
    half = n // 2
    first = half if fmt == "parquet-folder" else 0  # the bad rows: in the second part of a folder
    total[first] = "12.345"
    covered[first + 1] = "-5.00"
    emergency[first + 2] = "maybe"
    text = text.set_column(text.column_names.index("total_cost"), "total_cost", pa.array(total))
    text = text.set_column(text.column_names.index("covered_cost"), "covered_cost", pa.array(covered))
    text = text.set_column(text.column_names.index("emergency"), "emergency", pa.array(emergency))
    (folder / "claims.csv").unlink()
    if fmt == "csv":
        pacsv.write_csv(text, folder / "claims.csv")
        return "claims.csv"
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(text.column_names)
        for row in text.to_pylist():
            ws.append([row[c] for c in text.column_names])
        wb.save(folder / "claims.xlsx")
        return "claims.xlsx"
    typed = text
    for name in ("total_cost", "covered_cost"):
        typed = typed.set_column(typed.column_names.index(name), name,
                                 pc.cast(pc.if_else(pc.equal(typed.column(name), ""), None, typed.column(name)),
                                         pa.float64()))
    for name in ("admit_date", "discharge_date"):
        col = pc.if_else(pc.equal(typed.column(name), ""), None, typed.column(name))
        typed = typed.set_column(typed.column_names.index(name), name, pc.cast(col, pa.date32()))
    if fmt == "parquet":
        pq.write_table(typed, folder / "claims.parquet")
        return "claims.parquet"
    (folder / "claims").mkdir()
    pq.write_table(typed.slice(0, half), folder / "claims" / "part-0.parquet")
    pq.write_table(typed.slice(half), folder / "claims" / "part-1.parquet")
    return "claims/"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> dict[str, tuple[Path, str]]:
    out: dict[str, tuple[Path, str]] = {}
    for fmt in FORMATS:
        dst = tmp_path_factory.mktemp(fmt) / "data"
        shutil.copytree(example_input, dst)
        out[fmt] = (dst, _bad_claims(dst, fmt))
    return out


def _args(command: str, folder: Path, out: Path) -> list[str]:
    if command == "check":
        return ["check", str(folder)]
    return [command, "--data", str(folder), "--year", "2026", "--out", str(out)]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_claims_stop_every_command_before_it_writes(command: str, fmt: str, folders: dict[str, tuple[Path, str]],
                                                        tmp_path: Path) -> None:
    folder, label = folders[fmt]
    out = tmp_path / "out"
    result = CliRunner().invoke(app, _args(command, folder, out))
    assert result.exit_code == 2, (result.output, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    for column, row in (("total_cost", 2), ("covered_cost", 3), ("emergency", 4)):
        found = [x for x in lines if x.startswith(f"{label}:") and f":{column}:" in x]
        assert found, (column, result.stderr)
        if fmt == "parquet-folder":
            assert f"part-1.parquet record {row - 1}" in found[0], found
        else:
            assert found[0].startswith(f"{label}:{row}:{column}: "), found
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("fmt", ["parquet", "parquet-folder"])
def test_streamed_settlement_validates_the_claims(fmt: str, folders: dict[str, tuple[Path, str]]) -> None:
    from yigongti.budget.service import settle_year
    from yigongti.core.problems import InvalidInput

    folder, label = folders[fmt]
    with pytest.raises(InvalidInput) as caught:
        settle_year(folder, 2026, stream_above=0)  # every Parquet folder takes the streamed path
    assert {p.column for p in caught.value.problems if p.file == label} >= {"total_cost", "covered_cost", "emergency"}


def test_valid_float_money_in_parquet_passes_the_engine_check(tmp_path: Path, example_input: Path) -> None:
    """No false alarm: float64 amounts that are whole fen, an empty emergency, are adjudicated (exit 0)."""
    folder = tmp_path / "data"
    shutil.copytree(example_input, folder)
    text = _claims_text(folder)
    for name in ("total_cost", "covered_cost"):
        text = text.set_column(text.column_names.index(name), name, pc.cast(text.column(name), pa.float64()))
    for name in ("admit_date", "discharge_date"):
        col = pc.if_else(pc.equal(text.column(name), ""), None, text.column(name))
        text = text.set_column(text.column_names.index(name), name, pc.cast(col, pa.date32()))
    (folder / "claims.csv").unlink()
    pq.write_table(text, folder / "claims.parquet")
    result = CliRunner().invoke(app, ["adjudicate", "--data", str(folder), "--year", "2026", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, (result.output, result.stderr)
    assert (tmp_path / "out" / "adjudicated.parquet").is_file()  # the claims' format by default
