"""The checker's column-wise fast paths give what the full checks give (same problems at the same file, row and
column, same typed columns): text dates read from their bytes, optional columns not in the file, decimal money to
fen from the 128-bit values."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.datafolder import folder
from yigongti.datafolder.folder import _Collector, _decimal_fen, _parse_column, parse_table
from yigongti.datafolder.schema import INPUT_TABLES, ColType, Column

HOSTILE_DATES = ["", " 2026-01-05", "2026-01-05 ", "2026/01/05", "2026-1-05", "2026-02-29", "2024-02-30",
                 "2026-13-01", "2026-00-10", "2026-01-00", "0999-12-31", "0000-01-01", "1000-01-01", "9999-12-31",
                 "2026-01-5x", "２０２６-01-05", "+026-01-05", "2026-01-05T00:00", "20260105"]


@st.composite
def a_date(draw: st.DrawFn) -> str:
    y = draw(st.integers(900, 9999))
    m = draw(st.integers(0, 13))
    d = draw(st.integers(0, 32))
    return f"{y:04d}-{m:02d}-{d:02d}"


cell = st.one_of(a_date(), a_date(), st.sampled_from(HOSTILE_DATES), st.none())


def _both(name: str, raw: pa.Table) -> tuple[tuple[pa.Table, list[object]], tuple[pa.Table, list[object]]]:
    spec = INPUT_TABLES[name]
    fast = parse_table(spec, raw, file=f"{name}.parquet")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(folder, "_plain_dates", lambda text: None)
        mp.setattr(folder, "_ABSENT_TYPES", {})
        full = parse_table(spec, raw, file=f"{name}.parquet")
    return fast, full


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(cell, cell), min_size=1, max_size=12), st.booleans(), st.integers(1, 3))
def test_text_dates_read_from_their_bytes_match_the_full_checks(rows: list[tuple[str | None, str | None]],
                                                                valid_only: bool, chunks: int) -> None:
    if valid_only:  # so that the fast path is the one taken
        rows = [(s if s and s in {"1000-01-01", "9999-12-31", "2024-02-29"} else "2026-03-31", e) for s, e in rows]
    starts = pa.array([s for s, _ in rows], pa.string())
    ends = pa.array([e for _, e in rows], pa.string())
    cut = max(1, len(rows) // chunks)
    raw = pa.table({"person_id": pa.chunked_array([pa.array([f"P{i}" for i in range(len(rows))])]),
                    "inst_id": pa.chunked_array([pa.array(["H1"] * len(rows))]),
                    "start_date": pa.chunked_array([starts.slice(0, cut), starts.slice(cut)]),
                    "end_date": pa.chunked_array([ends])})
    (fast_table, fast_problems), (full_table, full_problems) = _both("contracts", raw)
    assert fast_problems == full_problems
    assert fast_table.equals(full_table)


def test_plain_dates_take_only_calendar_dates() -> None:
    good = pa.chunked_array([["2024-02-29", "1000-01-01", "9999-12-31"], ["1970-01-01"]])
    assert folder._plain_dates(good) == pc.cast(pc.strptime(good, "%Y-%m-%d", "s"), pa.date32())
    for bad in ("2023-02-29", "0999-12-31", "2026-04-31", "2026-1-01", "2026/01/01", "2026-01-011"):
        assert folder._plain_dates(pa.chunked_array([["2026-01-01", bad]])) is None, bad
    sliced = pa.array(["x", "2026-05-06", "2026-05-07"]).slice(1)  # an offset into the buffers
    assert folder._plain_dates(pa.chunked_array([sliced])).to_pylist() == pc.cast(sliced, pa.date32()).to_pylist()


@pytest.mark.parametrize("kind", list(ColType))
def test_an_optional_column_not_given_is_what_its_empty_cells_would_be(kind: ColType) -> None:
    if kind not in folder._ABSENT_TYPES:
        pytest.skip(f"{kind} keeps the text path")
    values = ("a", "b") if kind is ColType.ENUM else ()
    col = Column("x", kind, required=False, values=values)
    out = _Collector("t.csv")
    empty = _parse_column(col, pa.chunked_array([pa.repeat(pa.scalar("", pa.string()), 5)]), out)
    assert out.problems == []
    assert pa.chunked_array([pa.nulls(5, folder._ABSENT_TYPES[kind])]).equals(empty)


def test_followups_without_their_optional_readings() -> None:
    raw = pa.table({"person_id": ["P1", "P2"], "inst_id": ["H1", "H1"], "date": ["2026-01-02", "2026-02-30"],
                    "disease": ["diabetes", "gout"], "controlled": ["true", "maybe"]})
    (fast_table, fast_problems), (full_table, full_problems) = _both("followups", raw)
    assert fast_problems == full_problems and len(fast_problems) == 3
    assert fast_table.equals(full_table)


def _old_fen(arr: pa.Array) -> pa.Array:
    scaled = pc.multiply(arr, pa.scalar(100, pa.decimal128(3, 0)))
    return pc.cast(pc.cast(scaled, pa.decimal128(38, 0)), pa.int64())


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 38), st.integers(-2, 2),
       st.lists(st.one_of(st.none(), st.integers(-(10 ** 20), 10 ** 20), st.integers(-(2 ** 64), 2 ** 64)),
                max_size=8),
       st.integers(0, 3))
def test_decimal_money_to_fen_as_the_cast_does(precision: int, scale: int, units: list[int | None],
                                              skip: int) -> None:
    scale = min(scale, precision)
    limit = 10 ** precision
    values = [None if u is None else Decimal(u % limit if u >= 0 else -((-u) % limit)).scaleb(-scale)
              for u in units]
    arr = pa.array(values, pa.decimal128(precision, scale)).slice(min(skip, len(values)))
    try:
        expected: object = _old_fen(arr).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        expected = type(exc)
    try:
        got: object = _decimal_fen(arr).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        got = type(exc)
    assert got == expected
