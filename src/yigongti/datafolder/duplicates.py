"""Duplicate values in a column (重复值), found column-wise.

An already strictly increasing column (identifiers written in order, the usual case; or in order part by part, the
parts apart) is recognised in one pass, a column of distinct values by counting them (a hash table; values of one
width made of digits, as ID numbers, by sorting them as integers); otherwise a stable sort brings equal values
together. Only the repeated rows come back to Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.datafolder.keyrows import KeyIndex, fixed_width

__all__ = ["duplicate_rows"]


def _as_bool(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def duplicate_rows(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, first_rows)``: every row whose non-null value already occurred, and the row where it first occurred.

    Both are int64 arrays in ascending order of ``rows``. Null values are never duplicates.
    """
    empty = np.zeros(0, dtype=np.int64)
    n = len(values)
    if n - values.null_count < 2:
        return empty, empty
    if values.null_count == 0 and pc.all(pc.less(values.slice(0, n - 1), values.slice(1))).as_py():
        return empty, empty
    # identifiers of one width strictly increasing part by part, the parts' ranges apart (a province's persons, a
    # part per county): none is repeated, without a hash table of every value
    if isinstance(values, pa.ChunkedArray) and values.null_count == 0 and KeyIndex(values).in_order:
        return empty, empty
    # values of one width made of digits but the last (ID numbers): distinct when their integers are (a sort of
    # int64s: a third of the hash table's time at a province's million ID numbers)
    if _distinct_numbers(values):
        return empty, empty
    # as many distinct values as values (a hash table, no sort of a province's texts): none is repeated (not of a
    # dictionary-encoded column: its unique indices are not its values, a dictionary may hold a value twice)
    if not pa.types.is_dictionary(values.type) and \
            len(pc.unique(values)) - (1 if values.null_count else 0) == n - values.null_count:
        return empty, empty
    order = pc.sort_indices(values)  # nulls at the end; stable: equal values keep their row order
    valid = n - values.null_count
    order = order.slice(0, valid)
    ordered = values.take(order)
    same = _as_bool(pc.equal(ordered.slice(0, valid - 1), ordered.slice(1)))
    if not same.any():
        return empty, empty
    idx = np.asarray(order.to_numpy(), dtype=np.int64)
    repeated = np.concatenate(([False], same))
    position = np.arange(valid)
    group_start = np.maximum.accumulate(np.where(repeated, 0, position))
    rows = idx[repeated]
    firsts = idx[group_start[repeated]]
    by_row = np.argsort(rows, kind="stable")
    return rows[by_row], firsts[by_row]


# the last byte of a number (:func:`_distinct_numbers`): a digit, X or x (an ID number's check character), as 0-11
_LAST = np.full(256, -1, dtype=np.int64)
_LAST[ord("0"):ord("9") + 1] = np.arange(10)
_LAST[ord("X")], _LAST[ord("x")] = 10, 11


def _distinct_numbers(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether the non-null values are known distinct by their integers: true when all are texts of one width of
    at most 18 bytes, digits but the last (a digit, X or x: the form of an ID number), and no two make the same
    integer (each value its own: the digits in base 10, then the last byte's code in base 12, below 2**63); false
    when they are not all of that form or two are equal."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    numbers: list[np.ndarray] = []
    width = None
    for chunk in chunks:
        if chunk.null_count == len(chunk):
            continue
        fixed = fixed_width(chunk)
        if fixed is None or fixed[0] > 18 or (width is not None and fixed[0] != width):
            return False
        width = fixed[0]
        raw = fixed[1].view(np.uint8).reshape(-1, width)
        head, last = raw[:, :width - 1], _LAST[raw[:, width - 1]]
        if ((head < ord("0")) | (head > ord("9"))).any() or (last < 0).any():
            return False
        powers = 10 ** np.arange(width - 2, -1, -1, dtype=np.int64)
        numbers.append((head.astype(np.int64) - ord("0")) @ powers * 12 + last)
    if width is None:
        return False
    ordered = np.sort(np.concatenate(numbers))
    return bool((ordered[1:] != ordered[:-1]).all())
