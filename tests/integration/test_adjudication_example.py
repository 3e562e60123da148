"""The worked example county: adjudication agrees with expected/adjudicated.csv row for row (service, CLI, the
Parquet path and Spark local mode)."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from yigongti.benefits.service import (
    adjudicate_data,
    adjudicate_folder,
    designations_for,
    summarize,
    write_adjudicated,
)
from yigongti.cli import app
from yigongti.core.engine import Backend, connect
from yigongti.core.money import format_yuan
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import DataFolder, fen_to_yuan, read_folder

COMPARED = ["claim_id", "person_id", "network_status", "deductible", "fund_paid", "patient_paid", "rule", "inst_id",
            "emergency"]


def expected_rows(expected: Path) -> list[dict[str, str]]:
    with (expected / "adjudicated.csv").open(encoding="utf-8") as fh:
        rows = [{k: r[k] for k in COMPARED} for r in csv.DictReader(fh)]
    for r in rows:
        r["emergency"] = r["emergency"].lower()
    return sorted(rows, key=lambda r: r["claim_id"])


def table_rows(t: pa.Table) -> list[dict[str, str]]:
    out = []
    for r in t.select(COMPARED).to_pylist():
        row = {k: ((format_yuan(v) if isinstance(v, int) else f"{v:.2f}") if k in ("deductible", "fund_paid",
                                                                               "patient_paid") else str(v))
               for k, v in r.items()}
        row["emergency"] = row["emergency"].lower()
        out.append(row)
    return out


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [{k: r[k].lower() if k == "emergency" else r[k] for k in COMPARED} for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def example(example_input: Path) -> DataFolder:
    return read_folder(example_input)


def expected_designations(example_expected: Path) -> pa.Table:
    return pacsv.read_csv(example_expected / "designations.csv",
                          convert_options=pacsv.ConvertOptions(column_types={"year": pa.int64()}))


def test_example_matches_expected_with_its_designations(example: DataFolder, example_expected: Path) -> None:
    t = adjudicate_data(example, 2026, Policy(), expected_designations(example_expected))
    assert table_rows(t) == expected_rows(example_expected)
    assert t.column_names[:12] == example["claims"].column_names
    assert t.schema.field("fund_paid").type == pa.int64()


def test_example_matches_expected_with_enrollment(example: DataFolder, example_expected: Path) -> None:
    # the folder designates nobody for 2026: enrollment runs first
    des = designations_for(example, 2026, Policy())
    assert des.filter(pa.compute.equal(des.column("year"), 2026)).num_rows == example["persons"].num_rows
    t = adjudicate_data(example, 2026, Policy())
    assert table_rows(t) == expected_rows(example_expected)
    s = summarize(t, 2026)
    assert s.claims == 1013 and s.fund_paid + s.patient_paid == sum(t.column("total_cost").to_pylist())
    assert s.by_rule["continuous_deductible"] == 4 and sum(n for n, _ in s.by_status.values()) == 1013


def test_folder_designations_are_used_when_they_cover_everyone(example_input: Path, example_expected: Path,
                                                              tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    rows = (example_expected / "designations.csv").read_text(encoding="utf-8").splitlines()[1:]
    # everyone designated to G1-T1-V1 for 2026: different from what enrollment would give
    moved = [",".join([r.split(",")[0], "2026", "G1", "G1-T1", "G1-T1-V1", "choice"]) for r in rows]
    with (data / "designations.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n".join(moved) + "\n")
    folder = read_folder(data)
    des = designations_for(folder, 2026, Policy())
    assert des.num_rows == folder["designations"].num_rows
    t = adjudicate_data(folder, 2026, Policy())
    statuses = dict(zip(t.column("inst_id").to_pylist(), t.column("network_status").to_pylist(), strict=True))
    assert statuses.get("G1-T1-V1") == "designated" and statuses.get("G2-H") == "other_consortium"


def test_cli_writes_expected_and_is_idempotent(example_input: Path, example_expected: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    args = ["adjudicate", "--data", str(example_input), "--year", "2026", "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "1013" in first.output and "designated" in first.output
    content = (out / "adjudicated.csv").read_bytes()
    assert csv_rows(out / "adjudicated.csv") == expected_rows(example_expected)
    assert runner.invoke(app, args).exit_code == 0
    assert (out / "adjudicated.csv").read_bytes() == content
    assert sorted(p.name for p in out.iterdir()) == ["adjudicated.csv"]


def test_cli_refuses_invalid_input(example_input: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    text = (data / "claims.csv").read_text(encoding="utf-8").replace("C00002,R0002,G2-T3", "C00002,R0002,NOPE", 1)
    (data / "claims.csv").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["adjudicate", "--data", str(data), "--year", "2026", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "claims.csv:3:inst_id" in result.output
    assert not (tmp_path / "out" / "adjudicated.csv").exists()


def test_parquet_claims_go_through_the_engine(example: DataFolder, example_input: Path, example_expected: Path,
                                             tmp_path: Path) -> None:
    data = tmp_path / "big"
    shutil.copytree(example_input, data)
    (data / "claims.csv").unlink()
    claims = example["claims"]
    # a folder of Parquet parts with money as decimal yuan (as write_table writes it) -> CSV in yuan
    (data / "claims").mkdir()
    for n in ("total_cost", "covered_cost"):
        claims = claims.set_column(claims.column_names.index(n), n, fen_to_yuan(claims.column(n)))
    half = claims.num_rows // 2
    pq.write_table(claims.slice(0, half), data / "claims" / "part-0.parquet")
    pq.write_table(claims.slice(half), data / "claims" / "part-1.parquet")
    out = tmp_path / "out"
    s = adjudicate_folder(data, 2026, Policy(), out)
    assert csv_rows(out / "adjudicated.csv") == expected_rows(example_expected)
    # one writer of adjudicated.csv: the bytes of the in-memory path's, whatever the claims came from
    memory = adjudicate_data(example, 2026, Policy(), designations_for(example, 2026, Policy()))
    same = write_adjudicated(memory, tmp_path / "memory")
    assert (out / "adjudicated.csv").read_bytes() == same.read_bytes()
    assert s.claims == 1013
    # one Parquet file with money as yuan text and dates as text -> Parquet (money as decimal yuan)
    shutil.rmtree(data / "claims")
    texts = {n: pa.array([None if v is None else (f"{v:.2f}" if n.endswith("_cost") else str(v))
                          for v in claims.column(n).to_pylist()], pa.string())
             for n in ("total_cost", "covered_cost", "admit_date", "discharge_date")}
    pq.write_table(pa.table({n: texts.get(n, claims.column(n)) for n in claims.column_names}), data / "claims.parquet")
    s2 = adjudicate_folder(data, 2026, Policy(), out, fmt="parquet")
    t = pq.read_table(out / "adjudicated.parquet")
    assert t.schema.field("fund_paid").type == pa.decimal128(20, 2) and s2 == s
    # Parquet out: rows in no particular order unless asked (sorting a province's claims is an external sort)
    assert sorted(table_rows(t), key=lambda r: r["claim_id"]) == expected_rows(example_expected)
    adjudicate_folder(data, 2026, Policy(), out, fmt="parquet", sort=True)
    assert table_rows(pq.read_table(out / "adjudicated.parquet")) == expected_rows(example_expected)


@pytest.fixture(scope="module")
def spark() -> Iterator[Backend]:
    pytest.importorskip("pyspark")
    con = connect("spark", shuffle_partitions=1)  # one small partition: far fewer tasks in local mode
    yield con


@pytest.mark.spark
def test_spark_gives_the_same_result_as_duckdb(example: DataFolder, example_expected: Path, spark: Backend) -> None:
    des = expected_designations(example_expected)
    on_duckdb = adjudicate_data(example, 2026, Policy(), des)
    on_spark = adjudicate_data(example, 2026, Policy(), des, con=spark)
    assert on_spark.column_names == on_duckdb.column_names
    assert on_spark.to_pylist() == on_duckdb.to_pylist()
