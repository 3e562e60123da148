"""adjudicate_data takes the claims' own columns from the claims it is given and orders them by claim_id itself
(the engine hands back row numbers and decisions only): the same table whatever the order of the claims, the
claims' columns exactly as given, ordered by claim_id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.benefits.engine import adjudicate
from yigongti.benefits.service import _registered, adjudicate_data, designations_for
from yigongti.core.engine import connect
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import DataFolder, read_folder

YEAR = 2026


@pytest.fixture(scope="module")
def example(example_input: Path) -> tuple[DataFolder, pa.Table]:
    data = read_folder(example_input)
    return data, designations_for(data, YEAR, Policy())


def _with_claims(data: DataFolder, claims: pa.Table) -> DataFolder:
    return DataFolder(data.path, {**data.tables, "claims": claims})


def test_the_engine_ordered_by_itself_gives_the_same_table(example: tuple[DataFolder, pa.Table]) -> None:
    """The engine's own ORDER BY claim_id with every column (as before) and adjudicate_data agree value for value
    and type for type."""
    data, des = example
    got = adjudicate_data(data, YEAR, Policy(), des)
    con = connect("duckdb", joins_as_written=True)
    try:
        t = _registered(con, data, des)
        con.con.register("c", data["claims"])
        ref = adjudicate(con.table("c"), t["persons"], t["institutions"], t["designations"], Policy().benefits,
                         YEAR).to_pyarrow()
    finally:
        con.disconnect()
    assert got.num_rows > 900
    assert got.column_names == ref.column_names
    assert got.schema.types == ref.schema.types
    assert got.combine_chunks().equals(ref.combine_chunks())


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_any_order_of_the_claims_gives_the_same_table(example: tuple[DataFolder, pa.Table], seed: int) -> None:
    data, des = example
    claims = data["claims"]
    want = adjudicate_data(data, YEAR, Policy(), des)
    shuffled = claims.take(pa.array(np.random.default_rng(seed).permutation(claims.num_rows)))
    got = adjudicate_data(_with_claims(data, shuffled), YEAR, Policy(), des)
    assert got.combine_chunks().equals(want.combine_chunks())
    ids = got.column("claim_id")
    assert pc.all(pc.less(ids[:-1], ids[1:])).as_py()  # ordered by claim_id, each once
