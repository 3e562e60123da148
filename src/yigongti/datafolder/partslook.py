"""A first look at a Parquet table's text columns from this process (首查), before an engine's full checks.

One read of a few string columns, part by part (bounded memory): which columns hold only plain values (every value
given is non-empty printable ASCII without a space, comma or semicolon: it passes every text check of an id or a free
text as written, trimmed already), whether a key column is unique by its order (strictly increasing in each part, the
parts' ranges disjoint: no value twice, without a set of every value), and whether every value of a reference column
names a key value (looked up by binary search in the part whose range holds it). Each answer is a proof or "not shown":
a check it does not clear is left to the full checks (which name the file, row and column of every problem).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yigongti.datafolder.folder import PART_ROWS, few_values, first_look, increasing, ranges_disjoint

__all__ = ["PartsLook", "look_at_parts"]

PENDING_REFERENCES = 100_000  # references not yet found above which the lookup gives up (the engine decides)


@dataclass(frozen=True)
class PartsLook:
    """What :func:`look_at_parts` showed. ``plain``: the columns whose every value given is plain (a required column:
    and no null). ``unique``: the key column has no null and no value twice. ``referenced``: every non-null,
    non-empty value of the reference column is a value of the key column, as written."""

    plain: frozenset[str]
    unique: bool
    referenced: bool


def _plain(values: pa.ChunkedArray, *, required: bool) -> bool:
    if values.null_count:
        if required:
            return False
        values = pc.drop_null(values)
        if len(values) == 0:
            return True
    return first_look(values, ids=True)


def _found(keys: pa.ChunkedArray, wanted: list[str]) -> set[str]:
    """Those of ``wanted`` that are in ``keys`` (strictly increasing, no null, plain: printable ASCII): by binary
    search over the keys' bytes when every key has the same length (ids of a fixed pattern, nearly always), else by a
    hash lookup of the few wanted values."""
    arr = keys.combine_chunks()
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[arr.offset: arr.offset + len(arr) + 1]
    widths = offsets[1:] - offsets[:-1]
    if len(arr) and (widths == widths[0]).all() and widths[0] > 0:
        width = int(widths[0])
        start = int(offsets[0])
        table = np.frombuffer(buffers[2], dtype=f"S{width}", count=len(arr), offset=start)
        given = [v for v in wanted if len(v.encode()) == width and "\0" not in v]
        if not given:
            return set()
        probe = np.array([v.encode() for v in given], dtype=f"S{width}")
        at = np.minimum(np.searchsorted(table, probe), len(table) - 1)
        return {v for v, hit in zip(given, (table[at] == probe).tolist(), strict=True) if hit}
    hit = pc.is_in(pa.array(wanted, pa.string()), value_set=arr)
    return {v for v, h in zip(wanted, hit.to_pylist(), strict=True) if h}


def look_at_parts(files: Sequence[Path], columns: Iterable[str], *, required: Iterable[str] = (),
                  key: str | None = None, reference: str | None = None) -> PartsLook:
    """Look at the string ``columns`` of the Parquet ``files`` (the table's parts, in any order): which are plain
    (``required`` ones: with no null either), whether ``key`` (one of ``columns``) is unique by order, and whether
    every value of ``reference`` (one of ``columns``) names a ``key`` value. A column that is not text in some file
    is not plain; an unreadable file shows nothing."""
    columns = list(dict.fromkeys(columns))
    needed = set(required)
    plain = set(columns)
    unique = key is not None
    referenced = key is not None and reference is not None
    spans: list[tuple[str, str]] = []
    where: list[tuple[Path, int, int]] = []  # the file, first row and rows of each span
    pending: set[str] = set()  # references not found yet
    found: set[str] = set()
    try:
        for file in files:
            pf = pq.ParquetFile(file)
            schema = pf.schema_arrow
            present = [c for c in columns if c in schema.names]
            for c in columns:
                if c not in present or not pa.types.is_string(schema.field(c).type):
                    plain.discard(c)
            if key is not None and key not in plain:
                unique = referenced = False
            if reference is not None and (reference not in schema.names
                                          or not pa.types.is_string(schema.field(reference).type)):
                referenced = False
            read = [c for c in present if c in plain or (c == key and (unique or referenced))
                    or (c == reference and referenced)]
            if not read:
                continue
            # the other columns read as the file stores them when it has few values (looked at once per value)
            encoded = few_values(pf, [c for c in read if c not in (key, reference)])
            if encoded:
                pf = pq.ParquetFile(file, read_dictionary=encoded)
            start = 0
            for batch in pf.iter_batches(batch_size=PART_ROWS, columns=read):
                start += batch.num_rows
                part = pa.Table.from_batches([batch])
                for c in read:
                    if c in plain and not _plain(part.column(c), required=c in needed):
                        plain.discard(c)
                if not (unique or referenced):
                    continue
                assert key is not None
                ids = part.column(key)
                ordered, span = increasing(ids)
                if not ordered:
                    unique = referenced = False
                    continue
                if span is None:
                    continue
                spans.append(span)
                where.append((file, start - batch.num_rows, batch.num_rows))
                if referenced:
                    assert reference is not None
                    given = pc.unique(pc.drop_null(part.column(reference))).to_pylist()
                    pending.update(v for v in given if v != "" and v not in found)
                    here = [v for v in pending if span[0] <= v <= span[1]]
                    if here:
                        hit = _found(ids, here)
                        found |= hit
                        pending -= hit
                    if len(pending) > PENDING_REFERENCES:
                        referenced = False
        if referenced and pending:
            assert key is not None
            referenced = _found_again(key, pending, spans, where)
    except (OSError, pa.ArrowException):
        return PartsLook(frozenset(), False, False)
    unique = unique and ranges_disjoint(spans)
    return PartsLook(frozenset(plain), unique, referenced)


def _found_again(key: str, pending: set[str], spans: list[tuple[str, str]],
                 where: list[tuple[Path, int, int]]) -> bool:
    """Whether every reference still pending (one read after the part that holds it, say) is a key value: each looked
    for in the parts whose range holds it, their key column read again (those files only)."""
    wanted: dict[tuple[Path, int, int], list[str]] = {}
    for value in pending:
        holders = [w for (first, last), w in zip(spans, where, strict=True) if first <= value <= last]
        if not holders:
            return False
        for w in holders:
            wanted.setdefault(w, []).append(value)
    found: set[str] = set()
    for file in dict.fromkeys(f for f, _, _ in wanted):
        low = 0
        for batch in pq.ParquetFile(file).iter_batches(batch_size=PART_ROWS, columns=[key]):
            high = low + batch.num_rows
            column = pa.chunked_array([batch.column(0)])
            for (f, first, rows), values in wanted.items():
                if f == file and first < high and first + rows > low:  # (the part's rows in this batch: in order)
                    a, b = max(first, low), min(first + rows, high)
                    found |= _found(column.slice(a - low, b - a), values)
            low = high
    return pending <= found
