"""Duplicate ID numbers (身份证号码重复) found when the values are compared as integers (``_distinct_numbers``): each
text its own integer, so that a repeat is never missed and two different texts never taken for one."""

from __future__ import annotations

import pyarrow as pa

from yigongti.datafolder.duplicates import _distinct_numbers, duplicate_rows

_ID = "11010519491231002"  # 17 digits: an ID number's body


def test_distinct_id_numbers_are_known_distinct_by_their_integers() -> None:
    values = pa.chunked_array([pa.array([_ID + "X", _ID + "x", None]), pa.array([_ID + "0", "2" + _ID[1:] + "X"])])
    assert _distinct_numbers(values)  # X and x: two values, two integers
    assert duplicate_rows(values)[0].tolist() == []


def test_a_repeated_id_number_is_found_across_parts() -> None:
    values = pa.chunked_array([pa.array([_ID + "X", _ID + "1"]), pa.array([None, _ID + "X"])])
    assert not _distinct_numbers(values)
    rows, firsts = duplicate_rows(values)
    assert rows.tolist() == [3] and firsts.tolist() == [0]


def test_values_not_of_the_form_are_left_to_the_other_checks() -> None:
    for values in (pa.array([_ID + "Y", _ID + "1"]), pa.array([_ID + "1", _ID + "12"]),
                   pa.array(["a1", "b1"]), pa.array([_ID + "11", _ID + "12"])):  # 19 bytes: past int64
        assert not _distinct_numbers(values)
    rows, _ = duplicate_rows(pa.array([_ID + "Y", _ID + "Y", _ID + "1"]))
    assert rows.tolist() == [1]
