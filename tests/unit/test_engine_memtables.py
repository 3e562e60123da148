"""A DuckDB connection that lives through several steps (``run`` on a province) lets go of each step's in-memory
tables: ``memtables_released``; and ``release_memory`` between the steps changes no result."""

from __future__ import annotations

import gc

import ibis
import numpy as np
import pyarrow as pa

from yigongti.core.engine import connect, memtable_names, memtables_released, release_memory


def _table(n: int, seed: int) -> pa.Table:
    """Columns in Arrow's memory pool (not numpy's), so that ``pa.total_allocated_bytes`` sees them."""
    rng = np.random.default_rng(seed)
    return pa.table({name: pa.concat_arrays([pa.array(rng.integers(0, high, n)), pa.array([], pa.int64())])
                     for name, high in (("k", 50), ("v", 10**6))})


def test_the_in_memory_tables_of_a_block_are_let_go_at_its_end() -> None:
    con = connect("duckdb")
    try:
        kept = ibis.memtable(_table(1000, 1))  # registered before the block: stays
        assert con.to_pyarrow(kept.count()).as_py() == 1000
        before = memtable_names(con)
        assert len(before) == 1
        base = pa.total_allocated_bytes()
        with memtables_released(con):
            big = ibis.memtable(_table(2_000_000, 2))
            total = con.to_pyarrow(big.v.sum()).as_py()
            assert len(memtable_names(con)) == 2
            del big
            gc.collect()
            assert pa.total_allocated_bytes() - base > 16_000_000  # still held by the connection
        gc.collect()
        assert memtable_names(con) == before
        assert pa.total_allocated_bytes() - base < 1_000_000  # the 32 MB table is gone
        assert con.to_pyarrow(kept.count()).as_py() == 1000
        assert total == int(_table(2_000_000, 2).column("v").to_numpy().sum())
    finally:
        con.disconnect()


def test_an_expression_of_the_block_still_runs_after_it() -> None:
    """A table let go is registered again when an expression still in use runs: same answer."""
    con = connect("duckdb")
    try:
        with memtables_released(con):
            t = ibis.memtable(_table(5000, 3))
            expr = t.group_by("k").aggregate(s=t.v.sum()).order_by("k")
            first = con.to_pyarrow(expr)
        assert memtable_names(con) == set()
        release_memory()
        assert con.to_pyarrow(expr).equals(first)
    finally:
        con.disconnect()
