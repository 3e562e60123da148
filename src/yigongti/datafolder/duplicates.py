"""Duplicate values in a column (重复值), found column-wise.

An already strictly increasing column (identifiers written in order, the usual case; or in order part by part, the
parts apart) is recognised in one pass, a column of distinct values by counting them (a hash table); otherwise a
stable sort brings equal values together. Only the repeated rows come back to Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.datafolder.keyrows import KeyIndex

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
