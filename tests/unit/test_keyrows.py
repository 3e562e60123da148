"""datafolder.keyrows: the rows and ranks of keys by binary search over sorted parts agree with Arrow's hash lookup
and sort, on keys that take the fast path (one width, parts in order) and keys that do not."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.datafolder.keyrows import KeyIndex

ALPHABET = "AB09-\x00é"


def _index_in(values: pa.ChunkedArray, keys: pa.ChunkedArray) -> np.ndarray:
    at = pc.index_in(values, value_set=keys.combine_chunks(), skip_nulls=True)
    return np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


@st.composite
def keys_and_values(draw: st.DrawFn) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    width = draw(st.integers(1, 4))
    fixed = draw(st.booleans())  # one width, parts in order, no null byte, values without null: the fast path
    alphabet = ALPHABET if draw(st.booleans()) else ALPHABET.replace("\x00", "")
    text = st.text(alphabet, min_size=width if fixed else 1, max_size=width)
    keys = draw(st.lists(text, unique=True, max_size=40))
    if fixed or draw(st.booleans()):
        keys.sort(key=lambda k: k.encode())
    cuts = sorted(draw(st.lists(st.integers(0, len(keys)), max_size=4)))
    parts = [keys[a:b] for a, b in zip([0, *cuts], [*cuts, len(keys)], strict=True)]
    if draw(st.booleans()):
        parts.reverse()  # parts in another order than their keys: still found
    given = [st.sampled_from(keys) if keys else text, text] + ([st.none()] if draw(st.booleans()) else [])
    values = draw(st.lists(st.one_of(*given), max_size=40))
    vcut = draw(st.integers(0, len(values)))
    return (pa.chunked_array([pa.array(p, pa.string()) for p in parts], pa.string()),
            pa.chunked_array([pa.array(values[:vcut], pa.string()), pa.array(values[vcut:], pa.string())]))


@settings(max_examples=300, deadline=None)
@given(keys_and_values())
def test_rows_are_those_of_the_hash_lookup(case: tuple[pa.ChunkedArray, pa.ChunkedArray]) -> None:
    keys, values = case
    got = KeyIndex(keys).rows(values)
    assert got.dtype == np.int64
    assert got.tolist() == _index_in(values, keys).tolist()


@settings(max_examples=300, deadline=None)
@given(keys_and_values())
def test_ranks_order_the_keys_by_their_bytes(case: tuple[pa.ChunkedArray, pa.ChunkedArray]) -> None:
    keys = case[0]
    ranks = KeyIndex(keys).ranks()
    assert sorted(ranks.tolist()) == list(range(len(keys)))
    texts = keys.to_pylist()
    assert [texts[i] for i in np.argsort(ranks)] == sorted(texts, key=lambda k: k.encode())


def test_ids_of_one_width_in_sorted_parts_are_searched_not_hashed() -> None:
    keys = pa.chunked_array([pa.array(["P2-01", "P2-02"]), pa.array(["P1-01", "P1-03"])])
    index = KeyIndex(keys)
    assert index._sorted is not None  # the fast path
    values = pa.chunked_array([pa.array(["P1-03", "P1-02", None, "P2-01"]), pa.array([None, None], pa.string())])
    assert index.rows(values).tolist() == [3, -1, -1, 0, -1, -1]
    assert index.rows(pa.chunked_array([pa.array(["P1-01", "P1-0"])])).tolist() == [2, -1]  # (hashed: widths)
    assert index.ranks().tolist() == [2, 3, 0, 1]
    assert KeyIndex(pa.chunked_array([pa.array(["P1-03", "P1-01"])]))._sorted is None  # out of order: hashed
    assert KeyIndex(pa.chunked_array([pa.array(["P1", "P1-01"])]))._sorted is None  # two widths: hashed


@settings(max_examples=200, deadline=None)
@given(keys_and_values())
def test_duplicates_of_keys_in_order_by_parts(case: tuple[pa.ChunkedArray, pa.ChunkedArray]) -> None:
    """duplicate_rows (whose parts in order prove no repeat): the rows whose value came before, on parts with and
    without a value of another part (the keys' parts, then with the values' parts appended)."""
    from yigongti.datafolder.duplicates import duplicate_rows

    keys, values = case
    for column in (keys, pa.chunked_array([*keys.chunks, *values.chunks], pa.string())):
        texts = column.to_pylist()
        firsts: dict[str | None, int] = {}
        for i, v in enumerate(texts):
            firsts.setdefault(v, i)
        rows, first = duplicate_rows(column)
        assert list(zip(rows.tolist(), first.tolist(), strict=True)) == [
            (i, firsts[v]) for i, v in enumerate(texts) if v is not None and firsts[v] != i]


@settings(max_examples=100, deadline=None)
@given(keys_and_values())
def test_unknown_persons_are_those_of_the_hash_lookup(case: tuple[pa.ChunkedArray, pa.ChunkedArray]) -> None:
    """crosschecks.table_problems: the rows of choices naming no person, as a set lookup finds them, whether the
    persons' ids take the binary search or not; each named by its row (index + 2) and value."""
    from yigongti.datafolder.crosschecks import table_problems

    keys, values = case
    tables = {"persons": pa.table({"person_id": keys}), "choices": pa.table({"person_id": values})}
    problems = table_problems(tables, {"persons": "persons.csv", "choices": "choices.csv"})
    known = set(keys.to_pylist())
    want = [(i + 2, f"unknown person {v} / 参保人不存在") for i, v in enumerate(values.to_pylist())
            if v not in (None, "") and v not in known]
    assert [(p.row, p.message) for p in problems if p.file == "choices.csv"] == want
    assert all(p.column == "person_id" for p in problems)
