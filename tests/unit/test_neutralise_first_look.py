"""Formula neutralising (防公式注入) of a text column: the look at each value's first byte that spares the regular
expressions gives what the cell-by-cell rule gives, whatever the column holds (property)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.datafolder.folder import neutralise_cell, neutralise_text

_cell = st.one_of(st.none(), st.sampled_from(["=1+1", "+86", "-3", "-x", "@a", "\tx", "\rx", "1.5", "P1", "", "平武",
                                              "a=b", " =1", "+1e5", "-.5"]), st.text(max_size=4))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_cell, max_size=6), min_size=1, max_size=3), st.integers(0, 3), st.booleans())
def test_neutralised_column_is_the_cell_rule(chunks: list[list[str | None]], skip: int, chunked: bool) -> None:
    arrays = [pa.array(c, pa.string()) for c in chunks]
    values = [v for c in chunks for v in c]
    if chunked:
        arr: pa.Array | pa.ChunkedArray = pa.chunked_array(arrays, pa.string())
    else:  # one array, sliced: only the slice's values are looked at
        arr = pa.concat_arrays(arrays).slice(min(skip, len(values)))
        values = values[min(skip, len(values)):]
    got = neutralise_text(arr)
    assert got.to_pylist() == [neutralise_cell(v) for v in values]
    assert got.type == arr.type and isinstance(got, type(arr))
