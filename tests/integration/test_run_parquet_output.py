"""``run`` (and ``adjudicate``) hand back the adjudicated claims in the claims' format (issue 21 item 1): Parquet
claims give ``adjudicated.parquet`` (money decimal yuan, in no order unless ``--sort``), written on the streamed path
as one copy of the run's spill; the rows and the money are those of ``adjudicated.csv``, and every reader of an
adjudicated table reads the Parquet file as it reads the CSV."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from yigongti.benefits.service import load_adjudicated
from yigongti.budget.year import run_year
from yigongti.cli import app
from yigongti.datafolder.folder import read_folder
from yigongti.datafolder.schema import ADJUDICATED, ColType

MONEY = [c.name for c in ADJUDICATED.columns if c.type is ColType.MONEY]


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("province") / "demo"
    made = CliRunner().invoke(app, ["demo", "--out", str(data), "--persons", "3000", "--seed", "5", "--counties", "2",
                                    "--format", "parquet", "--no-run"])
    assert made.exit_code == 0, made.output
    assert (data / "claims").is_dir()
    return data


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return sorted(csv.DictReader(f), key=lambda r: r["claim_id"])


def _as_text(value: object) -> str:
    """A Parquet cell as adjudicated.csv writes it (money ``12.30``, dates ISO, booleans ``true``, null empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same_rows(parquet: Path, text: Path) -> None:
    """``parquet`` holds exactly the rows of the CSV ``text``, column for column (after sorting both by claim_id):
    money decimal yuan with 2 decimals whose text is the CSV's cell."""
    table = pq.read_table(parquet)
    for name in MONEY:
        assert table.schema.field(name).type == pa.decimal128(20, 2), name
    rows = _csv_rows(text)
    assert table.column_names == list(rows[0])
    got = sorted(table.to_pylist(), key=lambda r: r["claim_id"])
    assert len(got) == len(rows) > 100
    assert [{k: _as_text(v) for k, v in r.items()} for r in got] == rows
    assert all(isinstance(r["fund_paid"], Decimal) for r in got)


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "in-memory"])
def test_parquet_claims_give_adjudicated_parquet_with_the_csv_s_rows_and_money(province: Path, tmp_path: Path,
                                                                                streamed: bool) -> None:
    above = 0 if streamed else 10**12
    as_csv = run_year(province, 2026, tmp_path / "csv", stream_above=above, fmt="csv", reports=False)
    as_parquet = run_year(province, 2026, tmp_path / "parquet", stream_above=above, reports=False)  # the default
    assert as_parquet.settlement.streamed is streamed
    assert not (tmp_path / "parquet" / "adjudicated.csv").exists()
    _same_rows(tmp_path / "parquet" / "adjudicated.parquet", tmp_path / "csv" / "adjudicated.csv")
    written = pq.ParquetFile(tmp_path / "parquet" / "adjudicated.parquet").metadata.num_rows
    assert as_parquet.claims == as_csv.claims == written
    # the other outputs do not depend on the adjudicated file's format
    for name in ("settlement.csv", "allocation.csv", "ledger.csv", "indicators.csv", "designations.csv"):
        assert (tmp_path / "parquet" / name).read_bytes() == (tmp_path / "csv" / name).read_bytes(), name


def test_sort_gives_the_same_parquet_bytes_twice_ordered_by_claim_id(province: Path, tmp_path: Path) -> None:
    for target in ("one", "two"):
        run_year(province, 2026, tmp_path / target, stream_above=0, sort=True, reports=False)
    first = (tmp_path / "one" / "adjudicated.parquet").read_bytes()
    assert first == (tmp_path / "two" / "adjudicated.parquet").read_bytes()
    ids = pq.read_table(tmp_path / "one" / "adjudicated.parquet").column("claim_id").to_pylist()
    assert ids == sorted(ids)
    # and the order's rows are the unordered file's
    run_year(province, 2026, tmp_path / "unordered", stream_above=0, reports=False)
    unordered = pq.read_table(tmp_path / "unordered" / "adjudicated.parquet")
    assert unordered.sort_by("claim_id").equals(pq.read_table(tmp_path / "one" / "adjudicated.parquet"))


def test_the_run_command_takes_format_and_sort_as_adjudicate_does(province: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for command in ("run", "adjudicate"):
        out = tmp_path / command
        done = runner.invoke(app, [command, "--data", str(province), "--year", "2026", "--out", str(out),
                                   *(["--no-reports"] if command == "run" else []), "--format", "csv", "--no-sort"])
        assert done.exit_code == 0, done.output
        # again into the same folder in the claims' format: the CSV of the first run is replaced, not left beside
        done = runner.invoke(app, [command, "--data", str(province), "--year", "2026", "--out", str(out),
                                   *(["--no-reports"] if command == "run" else []), "--sort"])
        assert done.exit_code == 0, done.output
        assert (out / "adjudicated.parquet").is_file() and not (out / "adjudicated.csv").exists()
        bad = runner.invoke(app, [command, "--data", str(province), "--year", "2026", "--out", str(tmp_path / "x"),
                                  "--format", "xlsx"])
        assert bad.exit_code == 2 and not (tmp_path / "x").exists()
    # both commands sorted: the same rows (their writers differ: a copy of the run's spill, the engine's expression)
    assert pq.read_table(tmp_path / "run" / "adjudicated.parquet").equals(
        pq.read_table(tmp_path / "adjudicate" / "adjudicated.parquet"))


def test_csv_claims_still_give_adjudicated_csv(example_input: Path, tmp_path: Path) -> None:
    run_year(example_input, 2026, tmp_path / "out", reports=False)
    assert (tmp_path / "out" / "adjudicated.csv").is_file()
    assert not (tmp_path / "out" / "adjudicated.parquet").exists()


def test_settle_reads_a_folder_s_adjudicated_parquet_as_its_adjudicated_csv(example_input: Path,
                                                                             tmp_path: Path) -> None:
    """A data folder with the run's adjudicated table in either format: ``load_adjudicated`` types the same table,
    and ``settle --data`` settles the same money from it."""
    run_year(example_input, 2026, tmp_path / "as-csv", reports=False)
    run_year(example_input, 2026, tmp_path / "as-parquet", reports=False, fmt="parquet")
    claims = read_folder(example_input)["claims"]
    tables = []
    for fmt in ("csv", "parquet"):
        data = tmp_path / f"data-{fmt}"
        shutil.copytree(example_input, data)
        shutil.copyfile(tmp_path / f"as-{fmt}" / f"adjudicated.{fmt}", data / f"adjudicated.{fmt}")
        loaded = load_adjudicated(data, claims)
        assert loaded is not None
        tables.append(loaded.sort_by("claim_id"))
        done = CliRunner().invoke(app, ["settle", "--data", str(data), "--year", "2026", "--out",
                                        str(tmp_path / f"settled-{fmt}"), "--no-reports"])
        assert done.exit_code == 0, done.output
    assert tables[0].equals(tables[1])
    for name in ("settlement.csv", "allocation.csv"):
        assert (tmp_path / "settled-csv" / name).read_bytes() == (tmp_path / "settled-parquet" / name).read_bytes()


@pytest.mark.spark
def test_run_on_spark_writes_adjudicated_parquet_from_the_executors_parts(example_input: Path, tmp_path: Path) -> None:
    """``run --engine spark`` of Parquet claims: adjudicated.parquet from the executors' parts (``write_spilled`` on
    the driver's DuckDB), with ``--sort`` ordered by claim_id; the rows and the money of DuckDB's adjudicated.csv."""
    from parquet_parts import claims_in_parquet_parts

    data = claims_in_parquet_parts(example_input, tmp_path / "county", 3)
    run_year(data, 2026, tmp_path / "duck", fmt="csv", reports=False)
    run_year(data, 2026, tmp_path / "spark", backend="spark", sort=True, reports=False)
    assert not (tmp_path / "spark" / "adjudicated.csv").exists()
    assert not (tmp_path / "spark" / ".run.spark").exists()
    _same_rows(tmp_path / "spark" / "adjudicated.parquet", tmp_path / "duck" / "adjudicated.csv")
    ids = pq.read_table(tmp_path / "spark" / "adjudicated.parquet").column("claim_id").to_pylist()
    assert ids == sorted(ids)
    assert (tmp_path / "spark" / "settlement.csv").read_bytes() == (tmp_path / "duck" / "settlement.csv").read_bytes()
