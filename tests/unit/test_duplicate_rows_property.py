"""Duplicate values of a column (datafolder.duplicates): whichever path answers (in order, all distinct by their
count, or the sort), every repeated row and the row of its first occurrence, as a row-by-row scan finds them."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.datafolder.duplicates import duplicate_rows


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "P1", "P10", "平武", ""])), max_size=12),
       st.booleans(), st.booleans())
def test_duplicates_are_the_row_by_row_ones(values: list[str | None], ordered: bool, chunked: bool) -> None:
    if ordered:
        values = sorted(set(v for v in values if v is not None))
    arr: pa.Array | pa.ChunkedArray = pa.array(values, pa.string())
    if chunked:
        arr = pa.chunked_array([arr.slice(0, len(values) // 2), arr.slice(len(values) // 2)])
    first: dict[str, int] = {}
    want_rows, want_firsts = [], []
    for i, v in enumerate(values):
        if v is None:
            continue
        if v in first:
            want_rows.append(i)
            want_firsts.append(first[v])
        else:
            first[v] = i
    rows, firsts = duplicate_rows(arr)
    assert rows.tolist() == want_rows and firsts.tolist() == want_firsts
