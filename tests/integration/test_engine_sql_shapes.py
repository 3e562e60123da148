"""The SQL kept per shape of expression (``core.engine.duckdb_sql``, what ``to_arrow`` runs on DuckDB): the same
SQL as Ibis's compilation for every expression, whatever was compiled before it, with this expression's tables in
it; an adjudication under one policy after another's gives the reference loop's decisions and the in-memory
adjudication (which runs through it) the same table as the engine's expression run by Ibis itself."""

from __future__ import annotations

import re

import ibis
import ibis.expr.operations as ops
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ibis.common.graph import bfs
from test_adjudication_columns import designated_claim_sets, policies
from test_adjudication_rules import Y, engine_tables, run_reference

from yigongti.benefits.engine import adjudicate
from yigongti.core.engine import connect, duckdb_sql, memtable_names, register_arrow, sql_shape, to_arrow


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


def _replaced(expr: ibis.Table) -> object:
    """The expression with its tables as the numbered placeholders ``duckdb_sql`` compiles (what the cache keyed on
    before ``sql_shape``)."""
    op = expr.op()
    tables = [t for t in bfs(op) if isinstance(t, (ops.InMemoryTable, ops.DatabaseTable))]
    return op.replace({t: ops.UnboundTable(name=f"__t{i}", schema=t.schema) for i, t in enumerate(tables)})


def _shape(expr: ibis.Table) -> tuple[object, ...]:
    graph = bfs(expr.op())
    tables = [t for t in graph if isinstance(t, (ops.InMemoryTable, ops.DatabaseTable))]
    return sql_shape(graph, {t: i for i, t in enumerate(tables)})


_SAME = pa.table({"k": ["a", "b", "c"], "v": [1, 2, 3]})
_STEPS = st.lists(st.tuples(st.sampled_from(["filter", "mutate", "join", "agg"]), st.sampled_from([1, 2]),
                            st.sampled_from([0, 1])), min_size=1, max_size=3)


def _build(steps: list[tuple[str, int, int]], tables: list[ibis.Table]) -> ibis.Table:
    e = tables[0]
    for kind, lit, which in steps:
        if kind == "filter":
            e = e.filter(e.v > lit)
        elif kind == "mutate":
            e = e.mutate(v=e.v + lit)
        elif kind == "join":
            other = tables[which].select("k", w="v")
            e = e.join(other, "k").drop("w") if lit == 1 else e.anti_join(other, "k")
        else:
            e = e.group_by("k").aggregate(v=e.v.sum() if lit == 1 else e.v.max())
    return e.order_by("k")


@settings(max_examples=60, deadline=None)
@given(_STEPS, _STEPS, st.booleans())
def test_two_expressions_have_one_shape_exactly_when_their_tables_replaced_they_are_equal(a, b, swap) -> None:  # type: ignore[no-untyped-def]
    # sql_shape (flat rows, no expression rebuilt) against the replaced expressions: the same partition, so a kept
    # SQL is never handed to an expression of another shape; and every expression gets Ibis's own SQL
    con = connect("duckdb")
    m = [ibis.memtable(_SAME), ibis.memtable(_SAME.slice(1))]  # one schema: only the numbering tells them apart
    x = _build(a, m)
    y = _build(b, m[::-1] if swap else m)
    assert (_shape(x) == _shape(y)) == (_replaced(x) == _replaced(y))
    assert duckdb_sql(x, con) == con.compile(x)
    assert duckdb_sql(y, con) == con.compile(y)
    assert to_arrow(y, con).equals(con.to_pyarrow(y))


def test_an_expression_of_in_memory_tables_runs_on_the_connection_given() -> None:
    con = connect("duckdb")
    t = ibis.memtable(pa.table({"k": ["a", "b"], "v": [1, 2]}))
    expr = t.filter(t.v > 1)
    assert to_arrow(expr, con).to_pylist() == [{"k": "b", "v": 2}]
    assert t.op().name in memtable_names(con)  # registered there, as con.to_pyarrow registers it
