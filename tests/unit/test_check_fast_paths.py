"""The checker's column-wise fast paths give what the full checks give (same problems at the same file, row and
column, same typed columns): text dates read from their bytes, optional columns not in the file, decimal money to
fen from the 128-bit values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
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


PLAIN = ["P1", "510727", "M", "F", "resident", "outpatient", "inpatient", "J06.9", "H1", "=1+1", "-3", "@x"]
HOSTILE = ["", " ", " P1", "P1 ", "P,1", "P;1", "P\t1", "P\n1", "P\x00", "平武", "\u3000", "0510727", "m", "x"]
text_cell = st.one_of(st.sampled_from(PLAIN), st.sampled_from(PLAIN), st.sampled_from(HOSTILE), st.none())


def _decoded(table: pa.Table) -> pa.Table:
    return pa.table({n: pc.cast(c, c.type.value_type) if pa.types.is_dictionary(c.type) else c
                     for n, c in zip(table.column_names, table.columns, strict=True)})


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 8).flatmap(lambda n: st.lists(st.lists(text_cell, min_size=n, max_size=n), min_size=5,
                                                      max_size=5)),
       st.booleans(), st.booleans())
def test_columns_read_as_dictionaries_find_what_their_values_find(cols: list[list[str | None]], plain_only: bool,
                                                                  two_chunks: bool) -> None:
    """A text column read dictionary-encoded (``read_dictionary``) is looked at once per dictionary value: the same
    problems (enum values, county codes, identifiers, empty cells, control characters, formula warnings) at the same
    rows, and the same values, as the column read as plain strings."""
    n = len(cols[0])
    if plain_only:
        cols = [[v if v in PLAIN else "P1" for v in c] for c in cols]

    def column(values: list[str | None], encode: bool) -> pa.ChunkedArray:
        arr = pa.array(values, pa.string())
        parts = [arr.slice(0, n // 2), arr.slice(n // 2)] if two_chunks else [arr]
        return pa.chunked_array([p.dictionary_encode() if encode else p for p in parts])

    def table(encode: bool) -> pa.Table:
        return pa.table({"person_id": column(cols[0], False), "id_number": column([None] * n, False),
                         "sex": column(cols[1], encode), "birth_date": column(["2000-01-01"] * n, False),
                         "household_id": column(cols[2], encode), "insurance": column(cols[3], encode),
                         "county_code": column(cols[4], encode), "lon": column(["104.5"] * n, False),
                         "lat": column(["32.4"] * n, False)})

    spec = INPUT_TABLES["persons"]
    plain_table, plain_problems = parse_table(spec, table(False), file="persons.parquet")
    encoded_table, encoded_problems = parse_table(spec, table(True), file="persons.parquet")
    assert encoded_problems == plain_problems
    assert _decoded(encoded_table).equals(_decoded(plain_table))


def test_a_file_of_dictionary_columns_reads_as_strings(tmp_path: Path) -> None:
    """A Parquet file written with dictionary-typed columns (keys included) is checked and typed as its strings."""
    from yigongti.datafolder.folder import check_folder, scan_folder

    (tmp_path / "institutions.csv").write_text(
        "inst_id,name,tier,level,kind,consortium_id,parent_id,county_code,lon,lat\n"
        "H1,县医院,county,2,general,G1,,510727,104.2,32.6\n")
    (tmp_path / "consortia.csv").write_text("consortium_id,name,county_code,lead_inst_id\nG1,一号医共体,510727,H1\n")
    people = pa.table({"person_id": pa.array(["P1", "P2", "P2"]).dictionary_encode(),
                       "sex": pa.array(["M", "F", "X"]).dictionary_encode(),
                       "birth_date": pa.array(["2000-01-01"] * 3), "household_id": ["H1", "H1", "H2"],
                       "insurance": pa.array(["resident"] * 3).dictionary_encode(),
                       "county_code": pa.array(["510727"] * 3).dictionary_encode(), "lon": [104.5] * 3,
                       "lat": [32.4] * 3})
    pq.write_table(people, tmp_path / "persons.parquet")
    data, problems = check_folder(tmp_path)
    assert [p.column for p in problems] == ["person_id", "sex"]
    assert data["persons"].schema.field("person_id").type == pa.string()
    assert [str(p) for p in scan_folder(tmp_path).problems] == [str(p) for p in problems]
