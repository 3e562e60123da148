"""Where each value of a column is found among the values of a key column (键值定位), column-wise.

:meth:`KeyIndex.rows` gives, for every value, the row of the key column that holds it (-1: none), as ``pyarrow``'s
``index_in`` does with a hash table of every key. Keys of a checked table are nearly always identifiers of one
width, written in order part by part (a province's persons: one part per county, each sorted): then the keys are
searched, not hashed. Their parts are put in the order of their first key; when that makes the whole column strictly
increasing, each value of the key's width is found by binary search over the keys' bytes (a fifth of a hash lookup's
time at a million keys, and the searches of a sorted part of values stay in one part of the keys). Anything else
(keys out of order or of several widths, values of another width, a null byte) takes the hash lookup.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["KeyIndex", "fixed_width"]


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return [c for c in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]) if len(c)]


def fixed_width(chunk: pa.Array) -> tuple[int, np.ndarray, np.ndarray | None] | None:
    """A string chunk whose values all have one width (> 0) and no null byte, its nulls (if any) written as nothing:
    (width, its values as numpy bytes of that width without a copy, the rows that hold them or None for every row);
    None otherwise."""
    if not pa.types.is_string(chunk.type) or chunk.null_count == len(chunk):
        return None
    buffers = chunk.buffers()
    if buffers[2] is None:
        return None
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=len(chunk) + 1, offset=4 * chunk.offset)
    widths = offsets[1:] - offsets[:-1]
    rows = None
    if chunk.null_count:
        valid = np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if widths[~valid].any():
            return None
        rows = np.flatnonzero(valid)
        widths = widths[rows]
    width = int(widths[0])
    if width <= 0 or int(offsets[-1] - offsets[0]) != width * len(widths) or not (widths == width).all():
        return None
    values = np.frombuffer(buffers[2], dtype=f"S{width}", count=len(widths), offset=int(offsets[0]))
    if (values.view(np.uint8) == 0).any():  # numpy's bytes ignore trailing null bytes: not theirs to compare
        return None
    return width, values, rows


def _sorted_keys(keys: list[pa.Array]) -> tuple[np.ndarray, np.ndarray] | None:
    """The keys as one strictly increasing numpy bytes array and, for each of its positions, the key's row; None
    when the keys are not of one width or not strictly increasing once their parts are ordered by first key."""
    fixed = [fixed_width(c) for c in keys]
    if not fixed or any(f is None or f[2] is not None for f in fixed) or \
            len({f[0] for f in fixed if f is not None}) != 1:
        return None
    parts = [f[1] for f in fixed if f is not None]
    starts = np.cumsum([0, *[len(p) for p in parts]])
    order = sorted(range(len(parts)), key=lambda i: bytes(parts[i][0]))
    values = np.concatenate([parts[i] for i in order])
    if len(values) > 1 and not (values[1:] > values[:-1]).all():
        return None
    rows = np.concatenate([np.arange(starts[i], starts[i + 1], dtype=np.int64) for i in order])
    return values, rows


class KeyIndex:
    """The rows of a key column (unique, no null), to look values up in (:meth:`rows`) and to order the keys
    (:meth:`ranks`); the keys' sorted bytes are made once, when the keys are of one width and in order part by
    part."""

    def __init__(self, keys: pa.Array | pa.ChunkedArray) -> None:
        self.keys = keys
        chunks = _chunks(keys)
        self._sorted = _sorted_keys(chunks) if chunks and pa.types.is_string(keys.type) else None

    @property
    def in_order(self) -> bool:
        """Whether the keys are of one width and strictly increasing once their parts are put in order (then no key
        is there twice)."""
        return self._sorted is not None

    def rows(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """For each value, the row of the key that holds it, -1 for a value found nowhere and for a null: an int64
        array as long as ``values`` (what ``pyarrow.compute.index_in`` gives)."""
        if self._sorted is not None and pa.types.is_string(values.type):
            table, rows = self._sorted
            width = table.dtype.itemsize
            out: list[np.ndarray] = []
            for chunk in _chunks(values):
                if chunk.null_count == len(chunk):
                    out.append(np.full(len(chunk), -1, dtype=np.int64))
                    continue
                fixed = fixed_width(chunk)
                if fixed is None or fixed[0] != width:
                    break
                probe, given = fixed[1], fixed[2]
                at = np.minimum(np.searchsorted(table, probe), len(table) - 1)
                found = np.where(table[at] == probe, rows[at], -1)
                if given is not None:  # (nulls: none found)
                    found, at = np.full(len(chunk), -1, dtype=np.int64), found
                    found[given] = at
                out.append(found)
            else:
                return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
        keys = self.keys.combine_chunks() if isinstance(self.keys, pa.ChunkedArray) else self.keys
        at = pc.index_in(values, value_set=keys, skip_nulls=True)
        return np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), dtype=np.int64)

    def ranks(self) -> np.ndarray:
        """Each key's place among the keys in byte order (the order of an engine's ``ORDER BY``): an int64 array as
        long as the keys, so that comparing two keys' ranks compares the keys."""
        order = self._sorted[1] if self._sorted is not None else \
            np.asarray(pc.sort_indices(self.keys).to_numpy(), dtype=np.int64)
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(len(order), dtype=np.int64)
        return ranks
