"""Replicates as worlds of one table (模拟世界): many replicates' tables run through an engine in one pass.

A replicate's tables are a county of its own. Stacking R of them into one table with every key prefixed by the
replicate (``03#P000123``) keeps the counties apart inside one run of the real engine: a join, a group or a window
on a key never meets another replicate's rows, and a county, consortium or institution of replicate 3 is scope
``03#...`` of the result. Splitting by the prefix and removing it gives each replicate the table its own run gives,
because every figure the engines compute is per person, per claim or per scope. The keys are the columns named
``*_id`` plus ``county_code`` and ``referral_from``; the other columns (dates, money, codes) are left as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.core.prefixes import rows_by_prefix, without_prefix

__all__ = ["KEY_COLUMNS", "concat", "is_key", "prefix", "prefixes", "split", "stack", "strip", "world_of"]

KEY_COLUMNS = frozenset({"county_code", "referral_from"})
"""Key columns whose names do not end with ``_id``."""


def is_key(name: str) -> bool:
    """Whether a column holds a key that keeps the worlds apart (``*_id``, ``county_code``, ``referral_from``)."""
    return name.endswith("_id") or name in KEY_COLUMNS


def prefixes(n: int) -> list[str]:
    """The prefixes of ``n`` worlds, all of one width (``0#`` .. ``9#``, ``00#`` .. ``15#``)."""
    width = len(str(max(n - 1, 0)))
    return [f"{i:0{width}d}#" for i in range(n)]


def prefix(t: pa.Table, tag: str, columns: Sequence[str] | None = None) -> pa.Table:
    """``t`` with ``tag`` put before every value of its key columns (``columns``, default every key column);
    nulls stay null."""
    names = [c for c in t.column_names if is_key(c)] if columns is None else columns
    for name in names:
        if name in t.column_names:
            col = t.column(name)
            if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
                col = col.cast(pa.string())
            # the tag's bytes put before each value's (a quarter of the time of binary_join_element_wise)
            t = t.set_column(t.column_names.index(name), name,
                             pc.binary_replace_slice(col, start=0, stop=0, replacement=tag))
    return t


def stack(tables: Sequence[pa.Table], columns: Sequence[str] | None = None) -> pa.Table:
    """One table of every world's rows, world i's keys prefixed by ``prefixes(len(tables))[i]``."""
    tags = prefixes(len(tables))
    return concat([prefix(t, x, columns) for t, x in zip(tables, tags, strict=True)])


def concat(parts: Sequence[pa.Table]) -> pa.Table:
    """The rows of ``parts`` (prefixed already) one after the other, as :func:`stack` puts them together."""
    return pa.concat_tables(parts, promote_options="permissive")


def world_of(column: pa.ChunkedArray | pa.Array, n: int) -> np.ndarray:
    """The world number of every value of a prefixed key column of ``n`` worlds."""
    width = len(prefixes(n)[0]) - 1
    return np.asarray(pc.utf8_slice_codeunits(column, 0, width).cast(pa.int64()).to_numpy(zero_copy_only=False),
                      dtype=np.int64)


def strip(t: pa.Table, n: int, columns: Sequence[str] | None = None) -> pa.Table:
    """``t`` with the prefix of ``n`` worlds removed from its key columns (default every key column)."""
    width = len(prefixes(n)[0])
    names = [c for c in t.column_names if is_key(c)] if columns is None else columns
    for name in names:
        if name in t.column_names:
            t = t.set_column(t.column_names.index(name), name, without_prefix(t.column(name), width))
    return t


def split(t: pa.Table, by: str, n: int, columns: Sequence[str] | None = None) -> list[pa.Table]:
    """The rows of each of ``n`` worlds (by the prefix of column ``by``), prefixes removed from ``columns`` (default
    every key column), order kept: :func:`yigongti.core.prefixes.rows_by_prefix`."""
    return rows_by_prefix(t, by, prefixes(n), [c for c in t.column_names if is_key(c)] if columns is None else columns)
