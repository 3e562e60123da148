"""The engine's check of Parquet claims never passes a cell the Arrow check (``yigongti check``) refuses (property).

Where the engine is stricter (a unicode space that Arrow trims), the Arrow check runs and decides; for floats and
plain text the two agree cell by cell."""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.benefits.service import _column_checks
from yigongti.core.engine import to_arrow
from yigongti.datafolder.folder import parse_table
from yigongti.datafolder.schema import CLAIMS

_COLUMNS = {c.name: c for c in CLAIMS.columns}
_money = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                   st.integers(-10**6, 10**8).map(lambda n: n / 100), st.none())
_text = st.one_of(st.sampled_from(["true", "false", "是", "否", "maybe", " yes ", "", "1", "2", "T", "x\x00"]),
                  # what the engine's first look picks out for the full checks: spaces, separators, unicode spaces
                  # at the edges and inside, and the enum's values as written and padded
                  st.sampled_from(["outpatient", " inpatient", "inpatient\t", "a b", "a,b", "a;b", "\u3000x",
                                   "x\u00a0", "x\u2003y", "\n", "  ", "I10\x7f", "H1\x85"]),
                  st.text(max_size=4), st.none())


def _engine_bad(name: str, arr: pa.Array) -> list[bool]:
    """The engine's verdict on each cell: the column in memory, run by ``to_arrow`` (the engine's DuckDB path, its
    SQL compiled once per column checked; a connection, a table copied in and a compilation per example were most of
    these properties' time)."""
    t = ibis.memtable(pa.table({name: arr}))
    found = _column_checks(_COLUMNS[name], t[name])
    assert found is not None
    bad, _, _ = found
    if bad is None:
        return [False] * len(arr)
    return [bool(x) for x in to_arrow(t.select(bad=ibis.ifelse(bad, True, False))).column("bad").to_pylist()]


def _arrow_bad(name: str, arr: pa.Array) -> list[bool]:
    _, problems = parse_table(CLAIMS, pa.table({name: arr}), file="claims.parquet")
    rows = {p.row - 2 for p in problems if p.column == name and not p.warning}
    return [i in rows for i in range(len(arr))]


@settings(max_examples=60, deadline=None)
@given(st.lists(_money, min_size=1, max_size=8))
def test_float_money_is_judged_alike(values: list[float | None]) -> None:
    arr = pa.array(values, pa.float64())
    assert _engine_bad("total_cost", arr) == _arrow_bad("total_cost", arr)  # no spaces to trim: equal


@settings(max_examples=60, deadline=None)
@given(st.lists(_text, min_size=1, max_size=8), st.sampled_from(["emergency", "setting", "diagnosis", "inst_id"]))
def test_text_cells_are_judged_alike(values: list[str | None], name: str) -> None:
    arr = pa.array(values, pa.string())
    engine, arrow = _engine_bad(name, arr), _arrow_bad(name, arr)
    assert all(e or not a for e, a in zip(engine, arrow, strict=True)), (engine, arrow)
    # printable ASCII: equal cell by cell (Python's strip also trims the ASCII separators \x1c-\x1f, which the
    # engine refuses: stricter there, and the Arrow check then decides, as for unicode spaces)
    if all(v is None or (v.isascii() and v.isprintable()) for v in values):
        assert engine == arrow


def _engine_padded(name: str, arr: pa.Array) -> list[bool]:
    t = ibis.memtable(pa.table({name: arr}))  # as _engine_bad
    found = _column_checks(_COLUMNS[name], t[name])
    assert found is not None and found[2] is not None
    return [bool(x) for x in to_arrow(t.select(p=ibis.ifelse(found[2].fill_null(False), True, False))).column("p")
            .to_pylist()]


@settings(max_examples=60, deadline=None)
@given(st.lists(_text, min_size=1, max_size=8),
       st.sampled_from(["emergency", "setting", "diagnosis", "inst_id", "admit_date", "total_cost"]))
def test_padding_is_told_where_the_check_passes(values: list[str | None], name: str) -> None:
    """The check's ``padded`` flag (whether the readers must trim the claims' text cells: the streamed path trims
    only then) is set for every cell it passes that the Arrow reader would trim; cells it refuses go to the Arrow
    check, which trims whatever it passes, and the padding is then taken as unknown (trimmed)."""
    arr = pa.array(values, pa.string())
    engine, padded = _engine_bad(name, arr), _engine_padded(name, arr)
    trimmed = pc.utf8_trim_whitespace(arr).to_pylist()
    for v, t, bad, pad in zip(values, trimmed, engine, padded, strict=True):
        if not bad and v is not None:
            assert pad == (v != t), (v, bad, pad)


_KNOWN = {"person_id": ["P1", "P2", "P10"], "inst_id": ["V1", "T1"]}  # checked ids: as read_folder keeps them


@pytest.fixture(scope="module")
def known_ids() -> Iterator[dict[str, ibis.Table]]:
    """:data:`_KNOWN` as tables of one connection, made once for the module's examples."""
    con = ibis.duckdb.connect()
    try:
        yield {k: con.create_table(f"known_{k}", pa.table({k: v})) for k, v in _KNOWN.items()}
    finally:
        con.disconnect()


def _row_counts(known: dict[str, ibis.Table], person: list[str | None], inst: list[str | None], *,
                refs: bool) -> list[tuple[int, int]]:
    """(n, padded) of :func:`bad_claims_count` for each claim alone (a valid claim but for its person and
    institution), looking the references up among :data:`_KNOWN` as written when ``refs``. Each claim is an in-memory
    table run by ``to_arrow`` (DuckDB's path of the engine: every claim's check is one shape of expression, compiled
    once, test_engine_sql_shapes checks that SQL is Ibis's own; a connection and two tables per call, a table copied
    in and a compilation per claim were most of this property's time)."""
    from yigongti.benefits.service import bad_claims_count

    out = []
    for i, (p, s) in enumerate(zip(person, inst, strict=True)):
        t = ibis.memtable(pa.table({
            "claim_id": [f"C{i}"], "person_id": pa.array([p], pa.string()), "inst_id": pa.array([s], pa.string()),
            "setting": ["outpatient"], "admit_date": ["2026-03-01"], "total_cost": ["10.00"],
            "covered_cost": ["8.00"]}))
        expr = bad_claims_count(t, persons=known["person_id"] if refs else None,
                                institutions=known["inst_id"] if refs else None, as_written=True)
        assert expr is not None
        row = to_arrow(expr).to_pylist()[0]
        out.append((int(row["n"] or 0), int(row["padded"] or 0)))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(st.one_of(_text, st.sampled_from(_KNOWN["person_id"])),
                                st.one_of(_text, st.sampled_from(_KNOWN["inst_id"]))), min_size=1, max_size=6))
def test_references_found_as_written_skip_only_checks_they_would_pass(
        known_ids: dict[str, ibis.Table], cells: list[tuple[str | None, str | None]]) -> None:
    """The check runs the text checks of person_id and inst_id only on references not found as written among the
    known (checked) ids: a claim's verdict and padding are those of the text checks alone (no lookup) or'ed with
    the unknown-reference check (a non-empty reference not found as written), cell by cell."""
    person, inst = [c[0] for c in cells], [c[1] for c in cells]
    looked_up = _row_counts(known_ids, person, inst, refs=True)
    text_only = _row_counts(known_ids, person, inst, refs=False)
    for p, s, (n, padded), (n_text, padded_text) in zip(person, inst, looked_up, text_only, strict=True):
        unknown = any(v is not None and v.strip(" \t\n\r\x0b\x0c") != "" and v not in _KNOWN[k]
                      for k, v in (("person_id", p), ("inst_id", s)))
        assert n == int(bool(n_text) or unknown), (p, s, n, n_text)
        if not unknown:  # every reference known as written (or empty): nothing of theirs to trim
            assert padded == padded_text, (p, s)


def _claim_counts(known: dict[str, ibis.Table], row: dict[str, str | None], *, first_look: bool) -> tuple[int, int]:
    """(n, padded) of :func:`bad_claims_count` (ids looked up as written) for one claim, its text cells ``row`` over a
    valid claim's, by the first look or the full checks."""
    from yigongti.benefits.service import bad_claims_count

    cells: dict[str, str | None] = {"claim_id": "C1", "person_id": "P1", "inst_id": "T1", "setting": "outpatient",
                                    "admit_date": "2026-03-01", "discharge_date": None, "total_cost": "10.00",
                                    "covered_cost": "8.00", "diagnosis": "I10", "referral_from": None, **row}
    t = ibis.memtable(pa.table({k: pa.array([v], pa.string()) for k, v in cells.items()}))
    expr = bad_claims_count(t, persons=known["person_id"], institutions=known["inst_id"], as_written=True,
                            first_look=first_look)
    assert expr is not None
    got = to_arrow(expr).to_pylist()[0]
    return int(got["n"] or 0), int(got["padded"] or 0)


_TEXT_COLUMNS = ["claim_id", "person_id", "inst_id", "setting", "diagnosis", "referral_from", "admit_date",
                 "total_cost"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.dictionaries(st.sampled_from(_TEXT_COLUMNS), st.one_of(_text, st.sampled_from(["P2", "V1", "E11"])),
                           max_size=3))
def test_the_first_look_clears_only_claims_the_full_checks_pass_unpadded(
        known_ids: dict[str, ibis.Table], row: dict[str, str | None]) -> None:
    """``check_parquet_claims`` accepts claims on the first look alone (one regular expression a text cell) only when
    it finds nothing: a claim it clears must be one the full checks pass with no cell to trim. Random cells of the
    text columns (spaces, separators, unicode spaces, control characters, empty, null) in an otherwise valid claim."""
    look = _claim_counts(known_ids, row, first_look=True)
    full = _claim_counts(known_ids, row, first_look=False)
    if look == (0, 0):
        assert full == (0, 0), (row, look, full)
    if full[0]:
        assert look[0], (row, look, full)
