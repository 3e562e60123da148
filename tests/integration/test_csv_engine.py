"""``write_csv_engine``: the contract's CSV of an engine table with its cells rendered as text by DuckDB (``run`` and
``adjudicate`` of a province write adjudicated.csv this way) is the file ``write_table`` writes of the same rows,
byte for byte: money in yuan (also past the fast decimals), ISO dates, booleans, text neutralised against formulas,
quotes doubled, nulls empty; in the expression's order. And the cap's search by bucket counts its claims in parts
as it counted them at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.benefits import engine as adjudication
from yigongti.benefits.engine import RULE_NAMES, STATUS_NAMES
from yigongti.benefits.service import _NAMED
from yigongti.core.engine import connect
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import neutralise_cell, write_csv_engine, write_table

_TRICKY = ["=1+1", "-3.5", "+1e5", "-x", "@x", "\tx", "\rx", 'a"b', "a,b", "a\nb", "'=x", "1.", ".5", "é", "全角"]
_texts = st.one_of(st.none(), st.just(""), st.text(max_size=6), st.sampled_from(_TRICKY))
_money = st.one_of(st.none(), st.integers(-10**9, 10**9), st.sampled_from([-5, 5, -100, 0, 10**16 - 1]))
_rows = st.lists(st.tuples(_texts, _money, st.one_of(st.none(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))),
                           st.one_of(st.none(), st.booleans()), st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)),
                           _texts), max_size=30)


def _table(rows: list[tuple[object, ...]]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    return pa.table({"claim_id": pa.array(cols[0], pa.string()), "fund_paid": pa.array(cols[1], pa.int64()),
                     "admit_date": pa.array(cols[2], pa.date32()), "unreasonable": pa.array(cols[3], pa.bool_()),
                     "n": pa.array(cols[4], pa.int64()), "rule": pa.array(cols[5], pa.string())})


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    backend = connect("duckdb")
    yield backend
    backend.disconnect()


def _both(con: ibis.BaseBackend, table: pa.Table, folder: Path, expr: ibis.Table | None = None) -> tuple[bytes, bytes]:
    engine = expr if expr is not None else con.create_table("t", table, overwrite=True)
    rows = write_csv_engine(engine, folder / "engine", "adjudicated")
    assert rows == table.num_rows
    assert [p.name for p in (folder / "engine").iterdir()] == ["adjudicated.csv"]  # no temporary file left
    return ((folder / "engine" / "adjudicated.csv").read_bytes(),
            write_table(table, folder / "arrow", "adjudicated").read_bytes())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_rows)
def test_the_engine_writes_the_bytes_of_write_table(con: ibis.BaseBackend, tmp_path_factory: pytest.TempPathFactory,
                                                     rows: list[tuple[object, ...]]) -> None:
    engine, arrow = _both(con, _table(rows), tmp_path_factory.mktemp("csv"))
    assert engine == arrow


def test_money_past_the_fast_decimals_is_written_exactly(con: ibis.BaseBackend, tmp_path: Path) -> None:
    """|fen| >= 10^16 does not fit the fast decimals (a conversion error): the file is written again with the wide
    ones, the same yuan as Arrow's, down to the int64 extremes."""
    fen = [10**16, -(10**16), 2**63 - 1, -(2**63), 5, None]
    table = pa.table({"claim_id": [f"C{k}" for k in range(len(fen))], "fund_paid": pa.array(fen, pa.int64())})
    engine, arrow = _both(con, table, tmp_path)
    assert engine == arrow
    assert b'"92233720368547758.07"' in engine and b'"-92233720368547758.08"' in engine


def test_rows_keep_the_order_of_the_expression(con: ibis.BaseBackend, tmp_path: Path) -> None:
    """Many rows, over several of DuckDB's threads and vectors, with text to test for formulas in every column: the
    file has them in the expression's order (a test written as an IN list of six values became a join in DuckDB,
    which wrote the rows out of order)."""
    n = 300_000
    rng = np.random.default_rng(7)
    keys = np.array([f"C{k:07d}" for k in rng.permutation(n)], dtype=object)
    table = pa.table({"claim_id": pa.array(keys, pa.string()), "fund_paid": pa.array(rng.integers(-10**6, 10**6, n)),
                      "rule": pa.array(np.where(rng.random(n) < 0.1, "=x", "ok").astype(object), pa.string())})
    t = con.create_table("ordered", table, overwrite=True)
    ordered = table.sort_by("claim_id")
    engine, arrow = _both(con, ordered, tmp_path, t.order_by("claim_id"))
    assert engine == arrow


def test_a_column_it_does_not_render_leaves_no_file(con: ibis.BaseBackend, tmp_path: Path) -> None:
    for typ, value in ((pa.float64(), 1.5), (pa.timestamp("s"), dt.datetime(2026, 1, 1)), (pa.decimal128(9, 2), None)):
        t = con.create_table("odd", pa.table({"claim_id": ["C1"], "x": pa.array([value], typ)}), overwrite=True)
        assert write_csv_engine(t, tmp_path, "adjudicated") is None
        assert list(tmp_path.iterdir()) == []


def test_the_adjudications_own_names_need_no_neutralising(con: ibis.BaseBackend, tmp_path: Path) -> None:
    """``plain`` columns are written as they are: the adjudication's network_status and rule are names of its own,
    none of which a spreadsheet would run (else they would need the test they skip)."""
    assert set(_NAMED) == {"network_status", "rule"}
    assert all(neutralise_cell(name) == name for name in (*STATUS_NAMES, *RULE_NAMES))
    t = con.create_table("named", pa.table({"claim_id": ["=C1"], "rule": ["=x"]}), overwrite=True)
    write_csv_engine(t, tmp_path, "adjudicated", plain=["rule"])
    assert (tmp_path / "adjudicated.csv").read_text().splitlines()[1] == '"\'=C1","=x"'


def test_hot_buckets_counted_in_parts_are_those_counted_at_once(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A Parquet scan comes in many batches (one per row group): counted a few batches at a time, the buckets over
    the cap are those of the claims' sums by person, computed here in Python."""
    rng = np.random.default_rng(3)
    n = 20_000
    persons = rng.integers(0, 3_000, n)
    cost = rng.integers(0, 2_000_000, n)  # fen: a few persons' sums pass the smaller cap (20 M fen)
    people = [f"P{p}" if p else None for p in persons]
    pq.write_table(pa.table({"person_id": pa.array(people, pa.string()), "covered_cost": pa.array(cost, pa.int64())}),
                   tmp_path / "claims.parquet", row_group_size=700)
    backend = connect("duckdb")
    try:
        claims = backend.read_parquet(tmp_path / "claims.parquet")
        policy = Policy().benefits
        whole = adjudication._hot_buckets(claims, policy)
        monkeypatch.setattr(adjudication, "_COUNTED_ROWS", 1_500)
        parts = adjudication._hot_buckets(claims, policy)
        buckets = backend.to_pyarrow(claims.select("person_id", b=adjudication._bucket(claims.person_id)))
    finally:
        backend.disconnect()
    sums: dict[str | None, int] = {}
    for p, c in zip(people, cost.tolist(), strict=True):
        sums[p] = sums.get(p, 0) + c
    cap = adjudication._smaller_cap(policy)
    bucket_of = dict(zip(buckets.column("person_id").to_pylist(), buckets.column("b").to_pylist(), strict=True))
    by_bucket: dict[int, int] = {}
    for p, total in sums.items():
        if p is not None:
            by_bucket[bucket_of[p]] = by_bucket.get(bucket_of[p], 0) + total
    expected = sorted(b for b, total in by_bucket.items() if total > cap)
    assert expected  # some buckets are over the cap
    assert parts[0].column("_b").to_pylist() == expected == whole[0].column("_b").to_pylist()
    assert parts[1] == whole[1] == (sums.get(None, 0) > cap)
