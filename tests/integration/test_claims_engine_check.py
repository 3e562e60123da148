"""The engine's check of Parquet claims never passes a cell the Arrow check (``yigongti check``) refuses (property).

Where the engine is stricter (a unicode space that Arrow trims), the Arrow check runs and decides; for floats and
plain text the two agree cell by cell."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.benefits.service import _column_checks
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
    con = ibis.duckdb.connect()
    t = con.create_table("t", pa.table({name: arr}))
    found = _column_checks(_COLUMNS[name], t[name])
    assert found is not None
    bad, _, _ = found
    if bad is None:
        return [False] * len(arr)
    out = t.select(bad=ibis.ifelse(bad, True, False)).to_pyarrow().column("bad").to_pylist()
    con.disconnect()
    return [bool(x) for x in out]


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
    con = ibis.duckdb.connect()
    t = con.create_table("t", pa.table({name: arr}))
    found = _column_checks(_COLUMNS[name], t[name])
    assert found is not None and found[2] is not None
    out = t.select(p=ibis.ifelse(found[2].fill_null(False), True, False)).to_pyarrow().column("p").to_pylist()
    con.disconnect()
    return [bool(x) for x in out]


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
