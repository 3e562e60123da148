"""The SQL kept per shape of expression (``core.engine.duckdb_sql``, what ``to_arrow`` runs on DuckDB): the same
SQL as Ibis's compilation for every expression, whatever was compiled before it, with this expression's tables in
it; an adjudication under one policy after another's gives the reference loop's decisions and the in-memory
adjudication (which runs through it) the same table as the engine's expression run by Ibis itself."""

from __future__ import annotations

import re

import ibis
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_adjudication_columns import designated_claim_sets, policies
from test_adjudication_rules import Y, engine_tables, run_reference

from yigongti.benefits.engine import adjudicate
from yigongti.core.engine import connect, duckdb_sql, register_arrow, to_arrow


def test_the_same_shape_on_other_tables_gets_its_own_tables() -> None:
    con = connect("duckdb")
    base = register_arrow(con, pa.table({"k": ["a", "b", "c", "d"], "v": [1, 2, 3, 4]}), "shape_base")

    def expr(left: pa.Table, right: pa.Table) -> ibis.Table:
        # two in-memory tables of one schema: the SQL must not swap them (an anti-join is not symmetric)
        m1, m2 = ibis.memtable(left), ibis.memtable(right)
        kept = m1.anti_join(m2, "k")
        return base.filter(base.k.isin(kept.k)).order_by("k")

    x = pa.table({"k": ["a", "b", "c"]})
    y = pa.table({"k": ["b"]})
    first, swapped = expr(x, y), expr(y, x)
    assert duckdb_sql(first) == con.compile(first)
    assert duckdb_sql(swapped) == con.compile(swapped)  # same shape, kept SQL, the other tables put back
    assert to_arrow(first).column("k").to_pylist() == ["a", "c"]
    assert to_arrow(swapped).column("k").to_pylist() == []
    assert to_arrow(first).equals(first.to_pyarrow())
    # another literal is another shape
    other = base.filter(base.v > 2).order_by("k")
    assert to_arrow(other).column("k").to_pylist() == ["c", "d"]
    assert to_arrow(base.filter(base.v > 3).order_by("k")).column("k").to_pylist() == ["d"]


def _excludes_sorted(sql: str) -> str:
    """``sql`` with the names of each ``EXCLUDE (...)`` in sorted order."""
    return re.sub(r"EXCLUDE \(([^()]*)\)", lambda m: f"EXCLUDE ({', '.join(sorted(m.group(1).split(', ')))})", sql)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(policies(), min_size=2, max_size=3), designated_claim_sets())
def test_adjudications_under_policies_in_turn_agree_with_the_reference(policies_in_turn, sets) -> None:  # type: ignore[no-untyped-def]
    claims, persons, designations = sets
    con = connect("duckdb")
    t = engine_tables(con, claims, persons, designations)
    for policy in [*policies_in_turn, policies_in_turn[0]]:  # the first again: its shapes are kept by then
        expr = adjudicate(t["claims"], t["persons"], t["institutions"], t["designations"], policy, Y)
        # Ibis's SQL (to_pyarrow runs it as to_arrow does: test above), up to the order of an EXCLUDE's names: they
        # are a set in Ibis's expression, so an equal shape kept from an earlier expression may list them otherwise
        assert _excludes_sorted(duckdb_sql(expr)) == _excludes_sorted(con.compile(expr))
        out = to_arrow(expr)
        got = {r["claim_id"]: (r["network_status"], r["deductible"], r["fund_paid"], r["patient_paid"], r["rule"])
               for r in out.to_pylist()}
        assert got == run_reference(claims, persons, policy, designations)
