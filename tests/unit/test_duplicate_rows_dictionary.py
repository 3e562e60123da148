"""Duplicate values of a dictionary-encoded column (重复值) are judged on its values, not its dictionary indices: the
count of distinct values that spares the sort must not take two indices of one value for two values."""

from __future__ import annotations

import pyarrow as pa

from yigongti.datafolder.duplicates import duplicate_rows


def test_a_dictionary_repeating_a_value_still_shows_the_repeat() -> None:
    # two indices, one value ("a" twice in the dictionary): the rows hold "a" twice
    values = pa.DictionaryArray.from_arrays(pa.array([0, 1]), pa.array(["a", "a"]))
    rows, firsts = duplicate_rows(values)
    assert rows.tolist() == [1] and firsts.tolist() == [0]


def test_a_plain_column_of_distinct_values_has_no_repeat() -> None:
    rows, _ = duplicate_rows(pa.chunked_array([pa.array(["b", "c"]), pa.array(["a", None, None])]))
    assert rows.tolist() == []
