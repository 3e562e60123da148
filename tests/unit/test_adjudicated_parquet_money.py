"""adjudicated.parquet's money: int fen written as decimal(20, 2) yuan exactly, through 18-digit decimals (int64 in
DuckDB) and, should a cell be past them (|fen| >= 10^16), through 38-digit ones (``write_adjudicated_parquet``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.benefits.service import write_adjudicated_parquet, write_adjudicated_stream
from yigongti.core.engine import connect

INT64 = st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)


def _written(fen: list[int], folder: Path) -> list[Decimal]:
    con = connect("duckdb")
    try:
        table = pa.table({"claim_id": [f"C{i}" for i in range(len(fen))], "fund_paid": pa.array(fen, pa.int64()),
                          "diagnosis": ["" if i % 2 else "J18" for i in range(len(fen))]})
        con.con.register("money", table)
        rows = write_adjudicated_parquet(con, con.table("money"), folder)
    finally:
        con.disconnect()
    written = pq.read_table(folder / "adjudicated.parquet")
    assert rows == len(fen) and written.schema.field("fund_paid").type == pa.decimal128(20, 2)
    assert written.column("diagnosis").to_pylist() == [None if i % 2 else "J18" for i in range(len(fen))]
    assert sorted(p.name for p in folder.iterdir()) == ["adjudicated.parquet"]  # no temporary file left
    return list(written.column("fund_paid").to_pylist())


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.integers(min_value=-(10**16) + 1, max_value=10**16 - 1), INT64), min_size=1,
                max_size=20))
def test_any_int64_fen_is_written_as_its_exact_yuan(tmp_path_factory: pytest.TempPathFactory, fen: list[int]) -> None:
    folder = tmp_path_factory.mktemp("adj")
    assert _written(fen, folder) == [Decimal(f) / 100 for f in fen]


def test_a_cell_past_the_fast_decimals_is_written_by_the_wide_ones(tmp_path: Path) -> None:
    fen = [1, -5, 12345, 10**16, -(2**63) + 1, 2**63 - 1]
    assert _written(fen, tmp_path) == [Decimal(f) / 100 for f in fen]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_failed_write_leaves_the_earlier_file_of_the_other_format(tmp_path: Path, fmt: str) -> None:
    """The adjudicated file of the other format is removed only once the new one is in place: a write that fails
    leaves OUT as it was (never without an adjudicated file), and no temporary file."""
    other = tmp_path / f"adjudicated.{'csv' if fmt == 'parquet' else 'parquet'}"
    other.write_bytes(b"claim_id\nC1\n")
    con = connect("duckdb")
    try:
        con.con.register("bad", pa.table({"claim_id": ["C1"], "network_status": ["outside"], "deductible": [0],
                                          "fund_paid": ["not fen"], "patient_paid": [0], "rule": ["B1"]}))
        bad = con.table("bad")
        bad = bad.mutate(fund_paid=bad.fund_paid.cast("int64"))  # fails as the engine writes
        with pytest.raises(Exception, match="not fen"):
            if fmt == "parquet":
                write_adjudicated_parquet(con, bad, tmp_path)
            else:
                write_adjudicated_stream(bad, tmp_path)
    finally:
        con.disconnect()
    assert [p.name for p in tmp_path.iterdir()] == [other.name]
    assert other.read_bytes() == b"claim_id\nC1\n"
