"""The checker's first look at string columns (folder._first_look): the same problems and the same typed columns as
the full text checks, whatever the cells hold (spaces, commas, control characters, non-ASCII, empty, null)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.datafolder import folder
from yigongti.datafolder.folder import parse_table
from yigongti.datafolder.schema import INPUT_TABLES

PLAIN = ["P1", "510727", "M", "F", "resident", "employee", "110101", "910000", "51072719830819103X", "a-b_c.d"]
HOSTILE = ["", " ", " P1", "P1 ", "P,1", "P;1", "P\t1", "P\n1", "P\x00", "P\x7f", "平武", " 平武", "平武\u3000",
           "\u3000", "01234", "0510727", "51072", "5107270", "=1+1", "-3", "m", "Resident"]
cell = st.one_of(st.sampled_from(PLAIN), st.sampled_from(PLAIN), st.sampled_from(HOSTILE), st.none())


def _both(name: str, columns: dict[str, list[str | None]]) -> tuple[object, object]:
    spec = INPUT_TABLES[name]
    raw = pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()})
    fast = parse_table(spec, raw, file=f"{name}.parquet")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(folder, "_first_look", lambda text, ids=False: False)
        full = parse_table(spec, raw, file=f"{name}.parquet")
    return fast, full


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.lists(st.lists(cell, min_size=n, max_size=n), min_size=4,
                                                      max_size=4)),
       st.booleans())
def test_first_look_finds_what_the_full_checks_find(cols: list[list[str | None]], plain_only: bool) -> None:
    n = len(cols[0])
    if plain_only:  # a column the first look clears, so that its own path is the one taken
        cols = [[v if v in PLAIN else "P1" for v in c] for c in cols]
    columns = {"person_id": cols[0], "id_number": cols[1], "sex": cols[2], "birth_date": ["2000-01-01"] * n,
               "household_id": cols[3], "insurance": cols[2], "county_code": cols[3], "lon": ["104.5"] * n,
               "lat": ["32.4"] * n}
    (fast_table, fast_problems), (full_table, full_problems) = _both("persons", columns)
    assert fast_problems == full_problems
    assert fast_table.equals(full_table)


def test_first_look_clears_plain_columns_and_only_those() -> None:
    assert folder._first_look(pa.chunked_array([["P1", "P2"], ["510727"]]), ids=True)
    for bad in (["P1", ""], ["P1", None], ["P 1"], ["P,1"], ["P\x1f"], ["平武"], [" P1"]):
        assert not folder._first_look(pa.chunked_array([pa.array(bad, pa.string())]), ids=True), bad
    assert folder._first_look(pa.chunked_array([["a,b"]]))  # a comma is fine in free text
    sliced = pa.array(["x y", "P1", "P2"]).slice(1)  # an offset into the buffers: only the slice is looked at
    assert folder._first_look(pa.chunked_array([sliced]), ids=True)
    assert folder._county_codes(pa.chunked_array([["510727", "110101"]]))
    for bad in (["010727"], ["910727"], ["51072a"], ["5107270"]):
        assert not folder._county_codes(pa.chunked_array([bad])), bad


def test_problems_of_a_parquet_enum_are_named_by_row() -> None:
    raw = pa.table({"claim_id": ["C1", "C2", "C3"], "person_id": ["P1", "P1", "P1"], "inst_id": ["I1", "I1", "I1"],
                    "setting": ["inpatient", "Inpatient", "outpatient"], "admit_date": ["2026-01-01"] * 3,
                    "total_cost": ["1"] * 3, "covered_cost": ["1"] * 3})
    _, problems = parse_table(INPUT_TABLES["claims"], raw, file="claims/")
    assert [(p.row, p.column) for p in problems] == [(3, "setting")]
    assert "'Inpatient' is not one of" in problems[0].message
