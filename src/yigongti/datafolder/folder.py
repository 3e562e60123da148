"""Data folders (数据目录): read, validate and write the tables of the data contract (docs/en/data-contract.md).

A folder holds one file per table: ``NAME.csv`` (UTF-8, with or without BOM), ``NAME.xlsx``, ``NAME.parquet`` or a
folder ``NAME/`` of Parquet files. Reading turns text into typed Arrow columns (money as int64 fen) and collects
every problem as ``file:row:column: message``; nothing is returned from a folder that has any problem.

Column checks are columnar (Arrow compute over whole columns); typed Parquet columns are checked in their own type
(no round trip through text); only rows that fail are visited one by one. Large tables are read part by part
(:func:`iter_table_parts`); :func:`scan_folder` keeps only what the checks across tables need.
"""

from __future__ import annotations

import csv
import functools
import io
import operator
import re
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from yigongti.core.problems import InvalidInput, Problem, errors, shorten
from yigongti.datafolder.duplicates import duplicate_rows
from yigongti.datafolder.idnumbers import DAYS_IN_MONTH, days_from_civil
from yigongti.datafolder.keystore import KeyStore
from yigongti.datafolder.schema import INPUT_TABLES, TABLES, ColType, Column, TableSpec

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "DATETIME_TYPE",
    "MONEY_TYPE",
    "PART_ROWS",
    "PROBLEMS_PER_COLUMN",
    "DataFolder",
    "FolderScan",
    "UnreadablePart",
    "check_folder",
    "fen_to_yuan",
    "find_table_file",
    "few_values",
    "first_look",
    "increasing",
    "iter_table_parts",
    "neutralise_cell",
    "neutralise_ibis",
    "neutralise_text",
    "neutralise_workbook",
    "parse_table",
    "read_folder",
    "ranges_disjoint",
    "read_raw_table",
    "scan_folder",
    "table_files",
    "write_csv_engine",
    "write_csv_parts",
    "write_table",
]

MONEY_TYPE = pa.int64()
DATETIME_TYPE = pa.timestamp("s")
_TRUE = {"true", "1", "是", "t", "yes", "y"}
_FALSE = {"false", "0", "否", "f", "no", "n", ""}
_MONEY_RE = r"^-?[0-9]+(\.[0-9]{1,2})?$"
_INT_RE = r"^-?[0-9]+(\.0+)?$"
_FLOAT_RE = r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$"
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATETIME_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$"
_COUNTY_RE = r"^[1-8][0-9]{5}$"
_DECIMAL_RE = r"^-?[0-9]+(\.[0-9]+)?$"
_ID_RE = r"^[^\s,;]+$"
_ID_FORBIDDEN = np.frombuffer(b"\t\n\v\f\r ,;", dtype=np.uint8)  # a superset of what _ID_RE refuses
_CONTROL_RE = "[\\x00-\\x08\\x0a-\\x1f\\x7f]"  # C0 control characters (and DEL) but tab: refused in text
_CONTROL_BYTES = np.array([*range(9), *range(10, 32), 127], dtype=np.uint8)
_FORMULA_RE = "^[=+\\-@\\t\\r]"  # a cell a spreadsheet would run as a formula (公式注入)
_FORMULA_BYTES = np.frombuffer(b"=+-@\t\r", dtype=np.uint8)
_MONEY_FITS_RE = r"^-?[0-9]{1,14}(\.[0-9]{1,2})?$"  # |yuan| < 1e14: fen fit int64 and decimal128(18, 2)
_INT_FITS_RE = r"^-?[0-9]{1,15}(\.0+)?$"  # exact in float64 and int64

# China's bounding box (with a margin): coordinates outside are errors.
CHINA_LON = (73.0, 135.5)
CHINA_LAT = (3.0, 54.0)


@dataclass
class DataFolder:
    """Typed input tables of one folder; ``None`` for an optional table that is not there."""

    path: Path
    tables: dict[str, pa.Table] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pa.Table:
        return self.tables[name]

    def get(self, name: str) -> pa.Table | None:
        return self.tables.get(name)


def table_files(folder: Path, name: str) -> list[Path]:
    """Every file (or Parquet folder) that holds table ``name`` in ``folder``: more than one is an input error."""
    return [candidate
            for candidate in (folder / f"{name}.csv", folder / f"{name}.parquet", folder / f"{name}.xlsx",
                              folder / name)
            if candidate.is_file() or (candidate.is_dir() and any(candidate.glob("*.parquet")))]


def find_table_file(folder: Path, name: str) -> Path | None:
    """The file (or Parquet folder) holding table ``name`` in ``folder``, or None (the first of
    :func:`table_files`; reading the folder reports a table given in two formats)."""
    files = table_files(folder, name)
    return files[0] if files else None


class UnreadablePart(Exception):
    """One part file of a Parquet folder cannot be read (分片文件无法读取)."""

    def __init__(self, part: str, cause: Exception) -> None:
        self.part = part
        super().__init__(f"{part}: {cause}")


def _string_table(columns: dict[str, list[str]]) -> pa.Table:
    return pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})


def read_raw_table(path: Path) -> pa.Table:
    """Read a table file as it is: CSV and Excel as all-string columns, Parquet with its own types."""
    if path.is_dir():
        return pq.read_table(sorted(path.glob("*.parquet")))
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pq.read_table(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    header = next(csv.reader(io.StringIO(data[:65536].decode("utf-8", errors="replace").split("\n", 1)[0])), [])
    header = [h.strip() for h in header]
    types = {h: pa.string() for h in header}
    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24),
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False,
                                             quoted_strings_can_be_null=False),
    )


PART_ROWS = 1 << 20  # rows per part when a large file is read part by part
PARSE_THREADS = 2  # parts parsed at once by ``check`` (scan_folder)


DICTIONARY_BYTES = 8  # a column of fewer bytes per row than this (uncompressed) is read as a dictionary


def _few_values(pf: pq.ParquetFile, columns: Iterable[str]) -> list[str]:
    """Those of ``columns`` a Parquet file stores with a dictionary of few values, from its metadata: under
    :data:`DICTIONARY_BYTES` bytes a row, uncompressed (dictionary indices and a small dictionary; a column whose
    dictionary grew too large and fell back to plain values takes about its values' length)."""
    meta = pf.metadata
    rows = meta.num_rows
    if rows == 0:
        return []
    index = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    found = []
    for name in columns:
        i = index.get(name)
        if i is None:
            continue
        groups = [meta.row_group(g).column(i) for g in range(meta.num_row_groups)]
        if all(c.has_dictionary_page for c in groups) and \
                sum(c.total_uncompressed_size for c in groups) < DICTIONARY_BYTES * rows:
            found.append(name)
    return found


def _parquet_parts(path: Path, dictionary: Iterable[str] = ()) -> Iterator[pa.Table]:
    pf = pq.ParquetFile(path)
    encoded = _few_values(pf, dictionary) if dictionary else []
    if encoded:  # these columns come dictionary-encoded, as the file stores them (fewer strings made)
        pf = pq.ParquetFile(path, read_dictionary=encoded)
    seen = False
    for batch in pf.iter_batches(batch_size=PART_ROWS):
        seen = True
        yield pa.Table.from_batches([batch])
    if not seen:
        yield pf.schema_arrow.empty_table()


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as f:
        head = f.read(65536)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    header = next(csv.reader(io.StringIO(head.decode("utf-8", errors="replace").split("\n", 1)[0])), [])
    return [h.strip() for h in header]


def _csv_parts(path: Path) -> Iterator[pa.Table]:
    header = _csv_header(path)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24),
        convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    batches: list[pa.RecordBatch] = []
    rows = 0
    seen = False
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        if rows >= PART_ROWS:
            seen = True
            yield pa.Table.from_batches(batches)
            batches, rows = [], 0
    if batches or not seen:
        yield pa.Table.from_batches(batches, schema=reader.schema)


def iter_table_parts(path: Path, *, dictionary: Iterable[str] = ()) -> Iterator[tuple[str | None, pa.Table]]:
    """A table file read part by part, as it is (like :func:`read_raw_table`): ``(part file, rows)`` pairs.

    The part file is named for a folder of Parquet files (None otherwise); a large Parquet or CSV file comes in
    parts of about :data:`PART_ROWS` rows, so that a province's tables can be checked in bounded memory.
    At least one (maybe empty) part comes for every table. ``dictionary``: columns of a Parquet file read
    dictionary-encoded (``read_dictionary``).
    """
    dictionary = tuple(dictionary)
    if path.is_dir():
        for file in sorted(path.glob("*.parquet")):
            parts = _parquet_parts(file, dictionary)
            while True:
                try:
                    part = next(parts)
                except StopIteration:
                    break
                except Exception as exc:  # named with its part, reported by the caller
                    raise UnreadablePart(file.name, exc) from exc
                yield file.name, part
        return
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        for part in _parquet_parts(path, dictionary):
            yield None, part
    elif suffix == ".xlsx":
        yield None, _read_xlsx(path)
    else:
        for part in _csv_parts(path):
            yield None, part


def _read_xlsx(path: Path) -> pa.Table:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    cols: dict[str, list[str]] = {h: [] for h in header}
    for row in rows:
        if row is None or all(v is None for v in row):
            continue
        for h, v in zip(header, row, strict=False):
            cols[h].append(_excel_cell_text(v))
    wb.close()
    return _string_table(cols)


def _excel_cell_text(v: object) -> str:
    import datetime as dt

    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.isoformat(timespec="seconds") if (v.hour or v.minute or v.second) else v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------------------------- parsing columns

def _as_text(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """A column as trimmed text, nulls as ''. Floats are rendered as Python does (``repr``): use on few rows."""
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        out = arr
    elif pa.types.is_boolean(t):
        out = pc.if_else(arr, "true", "false")
    elif pa.types.is_timestamp(t):
        # Parquet stores seconds as ms or us; %S would print the fraction ("00.000"), so cut to whole seconds
        out = pc.strftime(pc.cast(arr, pa.timestamp("s", tz=t.tz), safe=False), format="%Y-%m-%dT%H:%M:%S")
    elif pa.types.is_date(t):
        out = pc.strftime(arr, format="%Y-%m-%d")
    elif pa.types.is_floating(t):
        # floats from Parquet: render with enough digits, money will be re-checked by the regex
        out = pa.chunked_array([pa.array([("" if x is None else repr(float(x))) for x in arr.to_pylist()],
                                         pa.string())])
    else:
        out = pc.cast(arr, pa.string())
    if out.null_count:
        out = pc.fill_null(out, "")
    if not _may_need_trim(out):
        return out  # no value begins or ends with a space: the copy that trimming makes is spared
    return pc.utf8_trim_whitespace(out)


_EDGE_ASCII = np.zeros(256, dtype=bool)
_EDGE_ASCII[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_EDGE_ASCII[128:] = True  # a non-ASCII first or last byte may belong to a Unicode space: trim to be sure


def _buffers(chunk: pa.Array, buffers: list[pa.Buffer | None]) -> tuple[np.ndarray, np.ndarray]:
    """The offsets of a string chunk (its slice only) and its data bytes (a data buffer is there), without copies."""
    assert buffers[1] is not None and buffers[2] is not None
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[chunk.offset: chunk.offset + len(chunk) + 1]
    return offsets, np.frombuffer(buffers[2], dtype=np.uint8)


def _may_need_trim(text: pa.ChunkedArray) -> bool:
    """Whether some value of a string column may begin or end with whitespace (looks at two bytes per value)."""
    for chunk in text.chunks:
        if len(chunk) == 0:
            continue
        if not pa.types.is_string(chunk.type):
            return True
        buffers = chunk.buffers()
        if buffers[2] is None:
            continue
        offsets, data = _buffers(chunk, buffers)
        nonempty = offsets[1:] > offsets[:-1]
        if _EDGE_ASCII[data[offsets[:-1][nonempty]]].any() or _EDGE_ASCII[data[offsets[1:][nonempty] - 1]].any():
            return True
    return False


def _bad_rows(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.flatnonzero(np.asarray(pc.fill_null(mask, True).to_numpy(zero_copy_only=False), dtype=bool))


def _true_rows(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.flatnonzero(np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool))


def _byte_ranges(forbidden: np.ndarray) -> list[tuple[int, int]]:
    """The sorted byte values as closed ranges (lo, hi)."""
    ranges: list[tuple[int, int]] = []
    for b in sorted({int(x) for x in forbidden}):
        if ranges and ranges[-1][1] == b - 1:
            ranges[-1] = (ranges[-1][0], b)
        else:
            ranges.append((b, b))
    return ranges


def _any_in(data: np.ndarray, ranges: list[tuple[int, int]]) -> bool:
    """Whether a uint8 array holds a byte in one of ``ranges``: a few SIMD comparisons, no table lookup per byte."""
    if len(data) == 0:
        return False
    for lo, hi in ranges:
        if lo == hi:
            if (data == lo).any():
                return True
        elif ((data - np.uint8(lo)) <= np.uint8(hi - lo)).any():  # wraps below lo: one comparison per byte
            return True
    return False


def _has_bytes(text: pa.ChunkedArray, forbidden: np.ndarray, *, first: bool = False) -> bool:
    """Whether any value of a string column holds one of the ``forbidden`` bytes (a look at the data buffers);
    ``first``: only the first byte of each value counts."""
    ranges = _byte_ranges(forbidden)
    for chunk in text.chunks:
        if len(chunk) == 0:
            continue
        if not pa.types.is_string(chunk.type):
            return True  # let the regex decide
        buffers = chunk.buffers()
        if buffers[2] is None:
            continue
        offsets, data = _buffers(chunk, buffers)
        if first:
            starts = offsets[:-1][offsets[1:] > offsets[:-1]]
            if _any_in(data[starts], ranges):
                return True
        elif _any_in(data[int(offsets[0]): int(offsets[-1])], ranges):
            return True
    return False


PROBLEMS_PER_COLUMN = 1000
"""Problems listed per file and column by default; past it one line gives the column's count (``check --all``)."""


class _Collector:
    """Problems of one file; ``base`` is the row index of the part being parsed (0 for a whole file).

    ``limit``: at most that many problems per column are kept as Problem objects (a wholly bad column of 37 M rows
    would otherwise make 37 M of them); ``counts`` has the number found per column all the same."""

    def __init__(self, file: str, *, base: int = 0, limit: int | None = None,
                 seen: dict[str, int] | None = None) -> None:
        self.file = file
        self.base = base
        self.limit = limit
        self.seen = seen or {}  # problems per column in the parts before this one
        self.problems: list[Problem] = []
        self.counts: dict[str, int] = {}
        self._whole: set[Problem] = set()

    def _room(self, column: str, n: int) -> int:
        """Count n more problems of ``column``; how many of them to keep."""
        have = self.counts.get(column, 0)
        self.counts[column] = have + n
        if self.limit is None:
            return n
        return max(0, min(n, self.limit - have - self.seen.get(column, 0)))

    def rows(self, idx: np.ndarray, column: str, message: str | None = None, *,
             values: pa.ChunkedArray | pa.Array | None = None, fmt: str = "") -> None:
        """One problem per row index; without ``message``, ``fmt`` is filled with each row's value as text."""
        idx = idx[: self._room(column, len(idx))]
        if len(idx) == 0:
            return
        if message is None:
            assert values is not None
            texts = _as_text(values.take(pa.array(idx))).to_pylist()
            messages = [fmt.format(value=shorten(v)) for v in texts]
        else:
            messages = [message] * len(idx)
        base = self.base + 2
        self.problems.extend(Problem(self.file, base + i, column, m) for i, m in zip(idx.tolist(), messages,
                                                                                     strict=True))

    def add(self, row_index: int, column: str, message: str) -> None:
        problem = Problem(self.file, self.base + row_index + 2 if row_index >= 0 else 0, column, message)
        if row_index < 0:  # about the file as a whole: once, however many parts
            if problem in self._whole:
                return
            self._whole.add(problem)
        if self._room(column, 1):
            self.problems.append(problem)


def _dictionaries(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """The values of a dictionary-encoded column's dictionaries (of its chunks that have rows): every value a row
    holds is one of them."""
    return pa.chunked_array([c.dictionary for c in text.chunks if len(c)], text.type.value_type)


def _first_look(text: pa.ChunkedArray, *, ids: bool = False) -> bool:
    """The first look at a string column as written (one or three SIMD comparisons over its bytes, one over its
    offsets): True when no value is null or empty and no byte is a space, a control character, DEL or non-ASCII
    (``ids``: nor a comma or a semicolon). Such a column needs no trimming, holds no empty cell, no control character
    and (``ids``) only identifiers: the full checks run only on a column the first look does not clear."""
    if text.null_count:
        return False
    if pa.types.is_dictionary(text.type):  # read as a dictionary: its values are looked at, once each
        text = _dictionaries(text)
        if text.null_count:
            return False
    for chunk in text.chunks:
        if len(chunk) == 0:
            continue
        if not pa.types.is_string(chunk.type):
            return False
        buffers = chunk.buffers()
        if buffers[2] is None:
            return False  # every value empty
        offsets = _buffers(chunk, buffers)[0]
        if not (offsets[1:] > offsets[:-1]).all():
            return False
        data = _buffers(chunk, buffers)[1][int(offsets[0]): int(offsets[-1])]
        if ((data - np.uint8(0x21)) > np.uint8(0x7E - 0x21)).any():  # wraps below '!': one comparison per byte
            return False
        if ids and ((data == ord(",")).any() or (data == ord(";")).any()):
            return False
    return True


def _county_codes(text: pa.ChunkedArray) -> bool:
    """The first look at a county code column cleared by ``_first_look``: every value 6 ASCII digits, the first
    1-8 (what _COUNTY_RE asks), from the offsets and the bytes, without the regex."""
    if pa.types.is_dictionary(text.type):
        text = _dictionaries(text)
    for chunk in text.chunks:
        if len(chunk) == 0:
            continue
        buffers = chunk.buffers()
        offsets = _buffers(chunk, buffers)[0]
        if not (offsets[1:] - offsets[:-1] == 6).all():
            return False
        data = _buffers(chunk, buffers)[1]
        if ((data[int(offsets[0]): int(offsets[-1])] - np.uint8(ord("0"))) > np.uint8(9)).any():
            return False
        if ((data[offsets[:-1]] - np.uint8(ord("1"))) > np.uint8(7)).any():
            return False
    return True


def _parse_plain(col: Column, text: pa.ChunkedArray, out: _Collector) -> pa.ChunkedArray | None:
    """A string column the first look cleared, checked with what is left to check (an enum's values); None when a
    check is still needed that only the full path makes (a county code that is not plainly one)."""
    if col.type is ColType.ENUM:
        known = pc.is_in(text, value_set=pa.array(list(col.values)))
        if not pc.all(known).as_py():
            out.rows(_bad_rows(pc.invert(known)), col.name, values=text,
                     fmt="'{value}' is not one of " + ", ".join(col.values) + " / 取值无效")
            # a value not in the list did not parse: null, so that the checks across columns and tables skip it (the
            # registry's rules build its enum and raised on it)
            if pa.types.is_dictionary(text.type):
                text = pc.cast(text, text.type.value_type)
            return pc.if_else(known, text, pa.scalar(None, pa.string()))
        return text
    if col.type is ColType.COUNTY_CODE and not _county_codes(text):
        return None
    return text


_PLAIN_KINDS = (ColType.STR, ColType.ID, ColType.ID_NUMBER, ColType.ENUM, ColType.COUNTY_CODE)

# What an optional column without default that is not in the file becomes (its every cell empty, so null).
_ABSENT_TYPES = {ColType.STR: pa.string(), ColType.ID: pa.string(), ColType.ID_NUMBER: pa.string(),
                 ColType.ENUM: pa.string(), ColType.INT: pa.int64(), ColType.FLOAT: pa.float64(),
                 ColType.MONEY: pa.int64(), ColType.DATE: pa.date32(), ColType.DATETIME: DATETIME_TYPE,
                 ColType.BOOL: pa.bool_()}

_DASHES = np.array([4, 7])
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9])


def _plain_dates(text: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A text date column cleared by ``_first_look`` read from its bytes when every value is a calendar date
    YYYY-MM-DD of the years 1000-9999 (what the regex and strptime accept, and give back as written): date32 values
    computed column-wise; None when one value is anything else (the full path names it)."""
    out: list[pa.Array] = []
    for chunk in text.chunks:
        n = len(chunk)
        if n == 0:
            out.append(pa.array([], pa.date32()))
            continue
        buffers = chunk.buffers()
        offsets, data = _buffers(chunk, buffers)
        if not (offsets[1:] - offsets[:-1] == 10).all():
            return None
        cells = data[int(offsets[0]): int(offsets[0]) + 10 * n].reshape(n, 10)
        if not (cells[:, _DASHES] == ord("-")).all():
            return None
        digits = cells[:, _DIGITS] - np.uint8(ord("0"))
        if (digits > 9).any():
            return None
        d = digits.astype(np.int64)
        year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
        month = d[:, 4] * 10 + d[:, 5]
        day = d[:, 6] * 10 + d[:, 7]
        if (year < 1000).any() or ((month < 1) | (month > 12)).any() or (day < 1).any():
            return None
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        if (day > DAYS_IN_MONTH[month] + ((month == 2) & leap)).any():
            return None
        out.append(pa.array(days_from_civil(year, month, day).astype(np.int32), pa.date32()))
    return pa.chunked_array(out, pa.date32())


_NOT_MONEY = "'{value}' is not an amount in yuan with at most 2 decimals / 金额格式错误"
_NOT_INT = "'{value}' is not a whole number / 应为整数"
_NOT_NUMBER = "'{value}' is not a number / 应为数字"
_EMPTY = "required value is empty / 必填项为空"


def _parse_column(col: Column, text: pa.ChunkedArray, out: _Collector) -> pa.ChunkedArray:
    """Text -> typed column; problems for cells that do not parse. Empty optional cells become null (or default)."""
    if col.default is not None:
        text = pc.if_else(pc.equal(text, ""), col.default, text)
    empty = pc.equal(text, "")
    if col.required:
        out.rows(_bad_rows(empty), col.name, _EMPTY)

    def bad(regex: str, what: str) -> None:
        if regex == _ID_RE and not _has_bytes(text, _ID_FORBIDDEN):
            return  # no space, comma or semicolon anywhere in the column: every non-empty cell is an identifier
        mask = pc.and_(pc.invert(empty), pc.invert(pc.match_substring_regex(text, regex)))
        out.rows(_bad_rows(mask), col.name, values=text, fmt=f"'{{value}}' is not {what}")

    t = col.type
    if t in (ColType.STR, ColType.ID, ColType.ID_NUMBER, ColType.ENUM) and _has_bytes(text, _CONTROL_BYTES):
        mask = pc.match_substring_regex(text, _CONTROL_RE)
        out.rows(_true_rows(mask), col.name, values=text,
                 fmt="'{value}' holds a control character (NUL, line break ...) / 含控制字符")
        text = pc.if_else(pc.fill_null(mask, False), "", text)  # reported once: no other check of the cell
        empty = pc.equal(text, "")
    if t in (ColType.STR, ColType.ID, ColType.ID_NUMBER):
        if t is ColType.ID:
            bad(_ID_RE, "an identifier (no spaces, commas or semicolons) / 编码格式错误")
        if col.required or not pc.any(empty).as_py():
            return text
        return pc.if_else(empty, pa.scalar(None, pa.string()), text)
    if t is ColType.ENUM:
        allowed = pa.array(list(col.values))
        mask = pc.and_(pc.invert(empty), pc.invert(pc.is_in(text, value_set=allowed)))
        out.rows(_bad_rows(mask), col.name, values=text,
                 fmt="'{value}' is not one of " + ", ".join(col.values) + " / 取值无效")
        unknown = pc.or_(empty, mask)  # empty, or a value not in the list (it did not parse): null
        if not pc.any(unknown).as_py():
            return text
        return pc.if_else(unknown, pa.scalar(None, pa.string()), text)
    if t is ColType.COUNTY_CODE:
        bad(_COUNTY_RE, "a 6-digit county code (GB/T 2260) / 区划代码应为6位数字")
        return text
    if t is ColType.BOOL:
        low = pc.utf8_lower(text)
        allowed = pa.array(sorted(_TRUE | _FALSE))
        out.rows(_bad_rows(pc.invert(pc.is_in(low, value_set=allowed))), col.name, values=text,
                 fmt="'{value}' is not true/false (1/0, 是/否) / 布尔值无效")
        flag = pc.is_in(low, value_set=pa.array(sorted(_TRUE)))
        if not col.required and col.default is None:  # an optional flag without default: empty is "not given"
            return pc.if_else(empty, pa.scalar(None, pa.bool_()), flag)
        return flag
    if t is ColType.MONEY:
        bad(_MONEY_RE, "an amount in yuan with at most 2 decimals / 金额格式错误")
        fits = pc.match_substring_regex(text, _MONEY_FITS_RE)
        out.rows(_true_rows(pc.and_(pc.match_substring_regex(text, _MONEY_RE), pc.invert(fits))), col.name,
                 values=text, fmt="'{value}' is too large an amount / 金额过大")
        ok_text = pc.if_else(fits, text, pa.scalar(None, pa.string()))
        dec = pc.cast(ok_text, pa.decimal128(18, 2))
        typed = pc.cast(pc.multiply(dec, pa.scalar(100, pa.decimal128(5, 0))), pa.decimal128(20, 0))
        typed = pc.cast(typed, pa.int64())
        return _check_range(col, pc.divide(pc.cast(typed, pa.float64(), safe=False), 100.0), text, out, typed)
    if t is ColType.INT:
        bad(_INT_RE, "a whole number / 应为整数")
        fits = pc.match_substring_regex(text, _INT_FITS_RE)
        out.rows(_true_rows(pc.and_(pc.match_substring_regex(text, _INT_RE), pc.invert(fits))), col.name,
                 values=text, fmt="'{value}' is too large a number / 数值过大")
        ok_text = pc.if_else(fits, text, pa.scalar(None, pa.string()))
        typed = pc.cast(pc.cast(ok_text, pa.float64()), pa.int64())
        return _check_range(col, typed, text, out, typed)
    if t in (ColType.FLOAT, ColType.DECIMAL):
        regex = _FLOAT_RE if t is ColType.FLOAT else _DECIMAL_RE
        bad(regex, "a number / 应为数字")
        ok_text = pc.if_else(pc.match_substring_regex(text, regex), text, pa.scalar(None, pa.string()))
        typed = pc.cast(ok_text, pa.float64())
        if t is ColType.DECIMAL:  # kept as exact text; the consumer turns it into Decimal
            return _check_range(col, typed, text, out, ok_text)
        return _check_range(col, typed, text, out, typed)
    if t is ColType.DATE:
        bad(_DATE_RE, "a date YYYY-MM-DD / 日期格式应为YYYY-MM-DD")
        ok = pc.match_substring_regex(text, _DATE_RE)
        ts = pc.strptime(pc.if_else(ok, text, pa.scalar(None, pa.string())), format="%Y-%m-%d", unit="s",
                         error_is_null=True)
        back = pc.cast(pc.cast(ts, pa.date32()), pa.string())  # ISO, as strftime would write it, 25x faster
        out.rows(_bad_rows(pc.and_(ok, pc.invert(pc.fill_null(pc.equal(back, text), False)))), col.name,
                 values=text, fmt="'{value}' is not a calendar date / 日期不存在")
        return pc.cast(pc.if_else(pc.fill_null(pc.equal(back, text), False), ts, pa.scalar(None, ts.type)), pa.date32())
    if t is ColType.DATETIME:
        bad(_DATETIME_RE, "an ISO date-time YYYY-MM-DDTHH:MM[:SS] / 时间格式错误")
        norm = pc.replace_substring(text, " ", "T")
        norm = pc.if_else(pc.equal(pc.utf8_length(norm), 10), pc.binary_join_element_wise(norm, "T00:00:00", ""), norm)
        norm = pc.if_else(pc.equal(pc.utf8_length(norm), 16), pc.binary_join_element_wise(norm, ":00", ""), norm)
        ok = pc.match_substring_regex(text, _DATETIME_RE)
        ts = pc.strptime(pc.if_else(ok, norm, pa.scalar(None, pa.string())), format="%Y-%m-%dT%H:%M:%S", unit="s",
                         error_is_null=True)
        back = pc.replace_substring(pc.cast(ts, pa.string()), " ", "T")  # as strftime would write it, faster
        good = pc.fill_null(pc.equal(back, norm), False)
        out.rows(_bad_rows(pc.and_(ok, pc.invert(good))), col.name, values=text,
                 fmt="'{value}' is not a valid date-time / 时间不存在")
        return pc.if_else(good, ts, pa.scalar(None, ts.type))
    raise AssertionError(t)


def _check_range(col: Column, numeric: pa.ChunkedArray, source: pa.ChunkedArray, out: _Collector,
                 typed: pa.ChunkedArray) -> pa.ChunkedArray:
    """Problems for values outside the column's bounds; ``source`` gives the value as shown in the message.
    Returns ``typed`` with those values null, so that no check across columns compares them again."""
    outside: pa.ChunkedArray | None = None
    if col.min_value is not None:
        below = pc.less(numeric, col.min_value)
        out.rows(_true_rows(below), col.name, values=source,
                 fmt=f"'{{value}}' is below the minimum {col.min_value:g} / 小于最小值")
        outside = below
    if col.max_value is not None:
        above = pc.greater(numeric, col.max_value)
        out.rows(_true_rows(above), col.name, values=source,
                 fmt=f"'{{value}}' is above the maximum {col.max_value:g} / 大于最大值")
        outside = above if outside is None else pc.or_(outside, above)
    if outside is None or not pc.any(outside).as_py():
        return typed
    return pc.if_else(pc.fill_null(outside, False), pa.scalar(None, typed.type), typed)


def _parse_native(col: Column, arr: pa.ChunkedArray, out: _Collector) -> pa.ChunkedArray | None:
    """A typed (Parquet) column checked in its own type, without a round trip through text; None when the column's
    type is not one of these fast cases (it then goes through text, as CSV does).

    Same problems as the text path: a null is an empty cell; a float is fine where its shortest text would be.
    """
    t = arr.type
    kind = col.type
    fast = ((kind is ColType.MONEY and ((pa.types.is_decimal128(t) and t.scale <= 2) or pa.types.is_integer(t)
                                        or pa.types.is_floating(t)))
            or (kind in (ColType.INT, ColType.FLOAT) and (pa.types.is_integer(t) or pa.types.is_floating(t)))
            or (kind is ColType.DATE and pa.types.is_date(t))
            or (kind is ColType.DATETIME and ((pa.types.is_timestamp(t) and t.tz is None) or pa.types.is_date(t)))
            or (kind is ColType.BOOL and pa.types.is_boolean(t)))
    if not fast or (col.default is not None and kind is not ColType.BOOL):
        return None
    if kind is ColType.BOOL:
        if not col.required and col.default is None:
            return arr
        return pc.fill_null(arr, col.default is not None and col.default.lower() in _TRUE)
    if col.required and arr.null_count:
        out.rows(_true_rows(pc.is_null(arr)), col.name, _EMPTY)
    if kind is ColType.DATE:
        return pc.cast(arr, pa.date32())
    if kind is ColType.DATETIME:
        return pc.cast(arr, DATETIME_TYPE, safe=False)
    if pa.types.is_floating(t):
        x = pc.cast(arr, pa.float64())
        finite = pc.is_finite(x)
        if kind is ColType.MONEY:
            fen = pc.round(pc.multiply(x, 100.0))
            ok = pc.and_(pc.and_(finite, pc.less(pc.abs(x), 1e14)), pc.equal(pc.divide(fen, 100.0), x))
            message, typed = _NOT_MONEY, fen
        elif kind is ColType.INT:
            ok = pc.and_(pc.and_(finite, pc.less(pc.abs(x), 2.0 ** 53)), pc.equal(pc.floor(x), x))
            message, typed = _NOT_INT, x
        else:
            ok = finite
            message, typed = _NOT_NUMBER, x
        out.rows(_true_rows(pc.invert(ok)), col.name, values=arr, fmt=message)
        typed = pc.if_else(ok, typed, pa.scalar(None, pa.float64()))
        if kind is not ColType.FLOAT:
            typed = pc.cast(typed, pa.int64())
    elif kind is ColType.MONEY and pa.types.is_decimal(t):
        typed = pa.chunked_array([_decimal_fen(chunk) for chunk in arr.chunks], pa.int64())
    elif kind is ColType.MONEY:
        typed = pc.multiply_checked(pc.cast(arr, pa.int64()), 100)
    else:
        typed = pc.cast(arr, pa.float64() if kind is ColType.FLOAT else pa.int64())
    numeric = pc.divide(pc.cast(typed, pa.float64(), safe=False), 100.0) if kind is ColType.MONEY else typed
    typed = _check_range(col, numeric, arr, out, typed)
    return typed if isinstance(typed, pa.ChunkedArray) else pa.chunked_array([typed])


def _decimal_fen(chunk: pa.Array) -> pa.Array:
    """A decimal128 column of scale <= 2 as int64 fen, read from its 128-bit little-endian values (the unscaled
    value of scale 2 is the fen); :class:`pyarrow.ArrowInvalid` when a value does not fit int64 (the text path then
    reports it), as the cast through decimal128(38, 0) would."""
    if chunk.type.scale < 0:  # as Arrow's multiply says of it
        raise pa.ArrowNotImplementedError("Decimals with negative scales not supported")
    if chunk.type.precision > 34:  # the product by 100 would need more than 38 digits: the text path decides
        raise pa.ArrowInvalid("decimal precision above 34")
    n = len(chunk)
    factor = 10 ** (2 - chunk.type.scale)
    buffers = chunk.buffers()
    if n == 0 or buffers[1] is None:
        return pa.array(np.zeros(0, dtype=np.int64)) if n == 0 else pa.nulls(n, pa.int64())
    words = np.frombuffer(buffers[1], dtype=np.int64)[2 * chunk.offset: 2 * (chunk.offset + n)].reshape(n, 2)
    low, high = words[:, 0], words[:, 1]
    limit = (2 ** 63 - 1) // factor
    valid = np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool) if chunk.null_count else None
    fits = (high == (low >> 63)) & (low >= -limit) & (low <= limit)
    if not (fits.all() if valid is None else fits[valid].all()):
        raise pa.ArrowInvalid("a decimal value does not fit int64 fen")
    fen = low * np.int64(factor) if factor != 1 else low.copy()
    return pa.array(fen, pa.int64(), mask=None if valid is None else ~valid)


def _parse_columns(spec: TableSpec, raw: pa.Table, out: _Collector,
                   encoded: Iterable[str] = ()) -> dict[str, pa.ChunkedArray]:
    """Check and type the columns of one table (or one part of it); no check across rows. A column read
    dictionary-encoded is checked on its dictionary when it can be, then given as strings, except in ``encoded``
    (columns no check across rows or tables compares)."""
    present = set(raw.column_names)
    columns: dict[str, pa.ChunkedArray] = {}
    for col in spec.columns:
        if col.name not in present:
            if col.default is None and not col.required and col.type in _ABSENT_TYPES:
                columns[col.name] = pa.chunked_array([pa.nulls(raw.num_rows, _ABSENT_TYPES[col.type])])
                continue  # an optional column not given: every cell empty, nothing to check
            if col.default is not None or not col.required:
                text = pa.chunked_array([pa.repeat(pa.scalar(col.default or "", pa.string()), raw.num_rows)])
            else:
                out.add(-1, col.name, "required column is missing / 缺少必填列")
                continue
            columns[col.name] = _parse_column(col, text, out)
            continue
        source = raw.column(col.name)
        if pa.types.is_dictionary(source.type) and not (col.type in _PLAIN_KINDS and _first_look(
                source, ids=col.type is ColType.ID)):
            source = pc.cast(source, source.type.value_type)  # the full checks, on the values
        typed = None
        try:
            typed = _parse_native(col, source, out)
        except pa.ArrowInvalid:  # overflow and the like: the text path reports the value
            typed = None
        if typed is None and col.type in _PLAIN_KINDS and _first_look(source, ids=col.type is ColType.ID):
            typed = _parse_plain(col, source, out)
        elif typed is None and col.type is ColType.DATE and _first_look(source):
            typed = _plain_dates(source)
        columns[col.name] = typed if typed is not None else _parse_column(col, _as_text(source), out)
        if col.type in (ColType.STR, ColType.ID) and pa.types.is_string(
                source.type.value_type if pa.types.is_dictionary(source.type) else source.type):
            _warn_formulas(col, source, out)
        kind = columns[col.name].type
        if pa.types.is_dictionary(kind) and col.name not in encoded:
            columns[col.name] = pc.cast(columns[col.name], kind.value_type)
    for name in raw.column_names:
        if name not in columns and name not in spec.names:
            columns[name] = raw.column(name)
    return columns


def _warn_formulas(col: Column, raw: pa.ChunkedArray, out: _Collector) -> None:
    """A warning (not an error) for each text cell that begins with = + - @, a tab or a carriage return: a spreadsheet
    opening an export would run it as a formula (公式注入; exports neutralise them)."""
    if not _has_bytes(_dictionaries(raw) if pa.types.is_dictionary(raw.type) else raw, _FORMULA_BYTES, first=True):
        return
    if pa.types.is_dictionary(raw.type):
        raw = pc.cast(raw, raw.type.value_type)
    rows = _true_rows(pc.match_substring_regex(raw, _FORMULA_RE))
    for i in rows[: out._room(col.name + " (warning)", len(rows))].tolist():
        value = shorten(raw[i].as_py())
        out.problems.append(Problem(out.file, out.base + i + 2, col.name,
                                    f"'{value}' begins like a spreadsheet formula / 以公式字符开头", warning=True))


def parse_table(spec: TableSpec, raw: pa.Table, *, file: str) -> tuple[pa.Table, list[Problem]]:
    """Check and type one table. Extra columns are kept as they are; missing required columns are problems."""
    out = _Collector(file)
    columns = _parse_columns(spec, raw, out)
    if spec.key and all(k in columns for k in spec.key):
        _check_unique(spec, columns, out)
    return pa.table(columns), out.problems


def _key_values(spec: TableSpec, columns: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray:
    if len(spec.key) == 1:
        return columns[spec.key[0]]
    return pc.binary_join_element_wise(*[pc.cast(columns[k], pa.string()) for k in spec.key], "\x1f")


def _check_unique(spec: TableSpec, columns: dict[str, pa.ChunkedArray], out: _Collector) -> None:
    keys = _key_values(spec, columns)
    rows, firsts = duplicate_rows(keys)
    if len(rows) == 0:
        return
    shown = [str(k).replace("\x1f", ", ") for k in keys.take(pa.array(rows)).to_pylist()]
    column = ",".join(spec.key)
    for i, first, k in zip(rows.tolist(), firsts.tolist(), shown, strict=True):
        out.add(i, column, f"duplicate key {k} (first on row {first + 2}) / 主键重复")


# --------------------------------------------------------------------------------------------- the folder

def _file_label(folder: Path, path: Path) -> str:
    try:
        return str(path.relative_to(folder)) if path.is_file() else str(path.relative_to(folder)) + "/"
    except ValueError:
        return str(path)


@dataclass
class _TableScan:
    """One table read part by part: its row count, the columns kept, its problems."""

    rows: int = 0
    parts: list[tuple[int, str]] = field(default_factory=list)  # (first row index, part file) of a Parquet folder
    chunks: list[pa.Table] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    deferred: list[Problem] = field(default_factory=list)  # row checks across columns (and small tables)
    counts: dict[str, int] = field(default_factory=dict)  # problems found per column (more than kept past a limit)
    hidden: dict[str, int] = field(default_factory=dict)  # row checks across columns found past the limit, not kept
    stored: bool = False  # the kept columns went to the key store, not to ``chunks``

    def table(self) -> pa.Table:
        return pa.concat_tables(self.chunks, promote_options="permissive")


def _scan_table(spec: TableSpec, path: Path, label: str, *, keep: tuple[str, ...] | None,
                context: dict[str, pa.Table], encode: tuple[str, ...] = (), limit: int | None = None,
                store: KeyStore | None = None) -> _TableScan:
    """Parse a table part by part; keep the columns ``keep`` (None: all) of each part, those of ``encode`` (not keys)
    dictionary-encoded, or append them to ``store`` (DuckDB, bounded memory) when given and ``keep`` is not None;
    check the key at the end (a one-column key found strictly increasing part after part has no duplicate)."""
    from yigongti.datafolder.crosschecks import row_problems

    scan = _TableScan(stored=store is not None and keep is not None)
    shown: dict[str, int] = {}  # row checks across columns kept per column
    # a one-column key strictly increasing within each part so far, and each part's (first, last) values: parts
    # whose ranges do not overlap (in any order: a year's parts after another's) hold no key twice
    ordered, ranges = len(spec.key) == 1, []

    # a Parquet part whose kept columns are as written goes to the store as a reference to its file, not a copy
    parquet = scan.stored and (path.is_dir() or path.suffix.lower() == ".parquet")
    file_start: dict[str | None, int] = {}  # first row index of each file
    # text columns not kept (nor keys), read dictionary-encoded: a column of few values is looked at once per value
    dictionary = tuple(c.name for c in spec.columns if scan.stored and keep is not None and c.name not in keep
                       and c.type in (ColType.ENUM, ColType.COUNTY_CODE, ColType.STR, ColType.ID))

    def parse(raw: pa.Table, base: int, seen: dict[str, int]) -> _Parsed:
        out = _Collector(label, base=base, limit=limit, seen=seen)
        typed = pa.table(_parse_columns(spec, raw, out, dictionary))
        # the kept columns to read from the file (None: copy the part); one not in the file is null
        written = None
        if parquet and keep is not None and all(
                _as_written(raw.column(c), typed.column(c), key=c in spec.key) if c in raw.column_names
                else c not in spec.key and typed.column(c).null_count == typed.num_rows
                for c in typed.column_names if c in keep):
            written = tuple(c for c in typed.column_names if c in keep and c in raw.column_names)
        return out, typed, row_problems(spec.name, typed, label, base=base, tables=context), written

    for part_name, rows, (out, typed, across, written) in _parsed_parts(path, parse, scan.counts,
                                                                          threads=scan.stored, dictionary=dictionary):
        if part_name is not None and (not scan.parts or scan.parts[-1][1] != part_name):
            scan.parts.append((scan.rows, part_name))
        file_start.setdefault(part_name, scan.rows)
        scan.problems.extend(out.problems)
        _add_counts(scan.counts, out.counts)
        for problem in across:
            if limit is not None and shown.get(problem.column, 0) >= limit:
                scan.hidden[problem.column] = scan.hidden.get(problem.column, 0) + 1
                continue
            shown[problem.column] = shown.get(problem.column, 0) + 1
            scan.deferred.append(problem)
        if ordered and scan.stored:
            ordered, span = _increasing(typed.column(spec.key[0]) if spec.key[0] in typed.column_names else None)
            if span is not None:
                ranges.append(span)
        if store is not None and keep is not None:
            kept = [c for c in typed.column_names if c in keep]
            if written is not None and rows:
                file = path / part_name if part_name is not None else path
                store.add_parquet(spec.name, file, list(written), scan.rows - file_start[part_name], rows, scan.rows)
            else:
                store.add(spec.name, typed.select(kept), scan.rows)
        elif keep is not None:
            typed = typed.select([c for c in typed.column_names if c in keep])
            for column in encode:
                if column in typed.column_names and pa.types.is_string(typed.schema.field(column).type):
                    i = typed.column_names.index(column)
                    typed = typed.set_column(i, column, pc.dictionary_encode(typed.column(column)))
        if not scan.stored:
            scan.chunks.append(typed)
        scan.rows += rows
    ordered = ordered and _disjoint(ranges)
    if scan.stored and store is not None and spec.key and not ordered and store.has(spec.name, *spec.key):
        column = ",".join(spec.key)
        room = None if limit is None else max(0, limit - scan.counts.get(column, 0))
        total, listed = store.duplicates(spec.name, spec.key, room)
        scan.problems.extend(Problem(label, int(row) + 2, column,  # type: ignore[call-overload]
                                     f"duplicate key {key} (first on row {int(first) + 2}) / 主键重复")  # type: ignore[call-overload]
                             for row, key, first in listed)
        _add_counts(scan.counts, {column: total} if total else {})
    elif spec.key and scan.chunks and all(k in scan.chunks[0].column_names for k in spec.key):
        out = _Collector(label, limit=limit, seen=scan.counts)
        whole = scan.table()
        _check_unique(spec, {k: whole.column(k) for k in spec.key}, out)
        scan.problems.extend(out.problems)
        _add_counts(scan.counts, out.counts)
    return scan


_Parsed = tuple["_Collector", pa.Table, list[Problem], tuple[str, ...] | None]


def _same_buffers(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    """Whether two columns are views of the same memory (then they hold the same values)."""
    if a.type != b.type or a.num_chunks != b.num_chunks:
        return False
    for x, y in zip(a.chunks, b.chunks, strict=True):
        if x.offset != y.offset or len(x) != len(y):
            return False
        bx, by = x.buffers(), y.buffers()
        if len(bx) != len(by):
            return False
        for p, q in zip(bx, by, strict=True):
            if (p is None) != (q is None) or (p is not None and q is not None
                                              and (p.address != q.address or p.size != q.size)):
                return False
    return True


def _as_written(raw: pa.ChunkedArray, typed: pa.ChunkedArray, *, key: bool) -> bool:
    """Whether a checked column holds its values as written in the file, so that the key store may read them from
    the file: the same memory, or the same value on every row where a value was kept; a cell the checks left empty
    (null) may be null or '' in the file, except in a key (the store's queries take '' and null alike elsewhere)."""
    if _same_buffers(raw, typed):
        return True
    text = pa.types.is_string(raw.type) and pa.types.is_string(typed.type)
    if not (text or (pa.types.is_integer(raw.type) and pa.types.is_integer(typed.type))):
        return False
    equal = pc.fill_null(pc.equal(typed, raw), False)
    given = pc.is_valid(raw)
    if text and not key:
        given = pc.and_(given, pc.not_equal(pc.fill_null(raw, ""), ""))
    differs = pc.if_else(pc.is_valid(typed), pc.invert(equal), given)
    return not pc.any(differs).as_py()


def _parsed_parts(path: Path, parse: Callable[[pa.Table, int, dict[str, int]], _Parsed], counts: dict[str, int], *,
                  threads: bool, dictionary: tuple[str, ...] = ()) -> Iterator[tuple[str | None, int, _Parsed]]:
    """``(part file, rows, parse(part, first row index, counts so far))`` for each part of a table, in order.
    ``threads``: the next part is read while two are parsed on a pool of two threads (Arrow's kernels and Parquet
    decoding release the GIL); at most three parts are held at once. ``dictionary``: columns read
    dictionary-encoded from Parquet."""
    def parts() -> Iterator[tuple[str | None, pa.Table, int]]:
        base = 0
        for part_name, raw in iter_table_parts(path, dictionary=dictionary):
            yield part_name, raw, base
            base += raw.num_rows

    if not threads:
        for part_name, raw, base in parts():
            yield part_name, raw.num_rows, parse(raw, base, counts)
        return
    with ThreadPoolExecutor(max_workers=PARSE_THREADS) as pool:
        pending: deque[tuple[str | None, int, Future[_Parsed]]] = deque()
        for part_name, raw, base in parts():
            pending.append((part_name, raw.num_rows, pool.submit(parse, raw, base, dict(counts))))
            del raw
            if len(pending) >= PARSE_THREADS:
                name, rows, done = pending.popleft()
                yield name, rows, done.result()
        while pending:
            name, rows, done = pending.popleft()
            yield name, rows, done.result()


def _increasing(values: pa.ChunkedArray | None) -> tuple[bool, tuple[Any, Any] | None]:
    """Whether a part's key column (no null) is strictly increasing; its first and last values (None: no row)."""
    if values is None or values.null_count:
        return False, None
    n = len(values)
    if n == 0:
        return True, None
    if n > 1 and not pc.all(pc.less(values.slice(0, n - 1), values.slice(1))).as_py():
        return False, None
    return True, (values[0].as_py(), values[n - 1].as_py())


def _disjoint(ranges: list[tuple[Any, Any]]) -> bool:
    """Whether no two of the closed ranges (first, last) overlap: then no value of a strictly increasing part is in
    another part. (Python orders str by code point, as Arrow orders UTF-8 by byte.)"""
    try:
        ranges = sorted(ranges)
    except TypeError:  # parts of different types (text in one, numbers in another): the query decides
        return False
    return all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))


first_look = _first_look  # for the first look at Parquet parts (datafolder.partslook)
few_values = _few_values
increasing = _increasing
ranges_disjoint = _disjoint


def _add_counts(into: dict[str, int], more: dict[str, int]) -> None:
    for column, n in more.items():
        into[column] = into.get(column, 0) + n


def _capped(problems: list[Problem], counts: dict[tuple[str, str], int], limit: int | None,
            hidden: dict[tuple[str, str], int] | None = None) -> list[Problem]:
    """``problems`` (sorted) with at most ``limit`` per file and column, and for each column past the limit one line
    (row 0) saying how many more were found: every problem is counted, the first ``limit`` are listed. ``hidden``:
    problems found past the limit by checks that did not make them (counted on top)."""
    if limit is None:
        return problems
    listed: dict[tuple[str, str], int] = {}
    out: list[Problem] = []
    for p in problems:
        key = (p.file, p.column)
        listed[key] = listed.get(key, 0) + 1
        if listed[key] <= limit:
            out.append(p)
    for key, n in listed.items():
        counts[key] = max(counts.get(key, 0), n)
    for key, n in (hidden or {}).items():
        counts[key] = counts.get(key, 0) + n
    for (file, column), found in counts.items():
        shown = min(found, limit)
        if found > shown:
            out.append(Problem(file, 0, column, f"{found:,} problems in this column, the first {shown:,} listed "
                                                f"(yigongti check --all lists every one) / 该列共 {found:,} 处错误，"
                                                f"仅列出前 {shown:,} 处", warning=column.endswith(" (warning)")))
    return sorted(out)


def _locate_parts(problems: list[Problem], parts: dict[str, list[tuple[int, str]]]) -> list[Problem]:
    """Name the part file and its record number in each problem of a Parquet folder (rows count across parts)."""
    if not parts:
        return problems
    out: list[Problem] = []
    for p in problems:
        where = parts.get(p.file)
        if where and p.row >= 2:
            k = bisect_right([start for start, _ in where], p.row - 2) - 1
            start, name = where[k]
            record = p.row - 2 - start + 1
            p = Problem(p.file, p.row, p.column, f"{p.message} ({name} record {record} / 第{record}条)",
                        warning=p.warning)  # a warning stays one: the folder is still valid
        out.append(p)
    return out


@dataclass
class FolderScan:
    """What checking a folder found: rows per table read, and every problem (数据校验结果)."""

    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _scan_folder(folder: Path, wanted: list[str], *, keep_all: bool,
                 limit: int | None = PROBLEMS_PER_COLUMN) -> tuple[DataFolder, FolderScan]:
    data = DataFolder(folder)
    result = FolderScan()
    if not folder.is_dir():
        result.problems.append(Problem(str(folder), 0, "", "not a folder / 目录不存在"))
        return data, result
    if keep_all:
        return _scan_tables(folder, wanted, data, result, keep_all=True, limit=limit, store=None)
    with KeyStore() as store:
        return _scan_tables(folder, wanted, data, result, keep_all=False, limit=limit, store=store)


def _scan_tables(folder: Path, wanted: list[str], data: DataFolder, result: FolderScan, *, keep_all: bool,
                 limit: int | None, store: KeyStore | None) -> tuple[DataFolder, FolderScan]:
    from yigongti.datafolder.crosschecks import CROSS_COLUMNS, CROSS_ENCODED, store_problems, table_problems

    labels: dict[str, str] = {}
    parts: dict[str, list[tuple[int, str]]] = {}
    deferred: list[Problem] = []
    counts: dict[tuple[str, str], int] = {}
    hidden: dict[tuple[str, str], int] = {}
    order = [n for n in INPUT_TABLES if n in wanted] + [n for n in wanted if n not in INPUT_TABLES]
    for name in order:
        spec = INPUT_TABLES[name]
        found = table_files(folder, name)
        if len(found) > 1:
            names = ", ".join(_file_label(folder, f) for f in found)
            result.problems.append(Problem(_file_label(folder, found[0]), 0, "",
                                           f"table {name} is given in {len(found)} formats ({names}): keep one "
                                           f"/ 同一张表有多种格式，只保留一个"))
            continue
        path = found[0] if found else None
        if path is None:
            if not spec.optional:
                result.problems.append(Problem(f"{name}.csv", 0, "", "required table is missing / 缺少必需的表"))
            continue
        label = _file_label(folder, path)
        labels[name] = label
        if keep_all:
            keep = None
        else:
            cross = CROSS_COLUMNS.get(name, ())
            keep = None if cross is None else tuple(dict.fromkeys(spec.key + cross))
        try:
            encode = tuple(c for c in CROSS_ENCODED.get(name, ()) if c not in spec.key)
            scan = _scan_table(spec, path, label, keep=keep, context=data.tables, encode=encode, limit=limit,
                               store=store)
            table = None if scan.stored else scan.table()
        except UnreadablePart as exc:
            result.problems.append(Problem(label + exc.part, 0, "",
                                           f"cannot read this part: {shorten(exc.__cause__, 200)} / 分片文件无法读取"))
            continue
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a problem to report, not a crash
            result.problems.append(Problem(label, 0, "", f"cannot read the file: {shorten(exc, 200)} / 文件无法读取"))
            continue
        result.problems.extend(scan.problems)
        counts.update({(label, column): n for column, n in scan.counts.items()})
        deferred.extend(scan.deferred)
        hidden.update({(label, column): n for column, n in scan.hidden.items()})
        if scan.parts:
            parts[label] = scan.parts
        if table is not None:
            data.tables[name] = table
        result.rows[name] = scan.rows
    # one pass: the checks across columns and tables run on what parsed (a cell that did not is null and skipped)
    result.problems.extend(deferred)
    result.problems.extend(table_problems(data.tables, labels))
    if store is not None:
        across, more = store_problems(store, data.tables, labels, limit)
        result.problems.extend(across)
        for key, n in more.items():
            hidden[key] = hidden.get(key, 0) + n
    result.problems = _capped(sorted(_locate_parts(result.problems, parts)), counts, limit, hidden)
    data.tables = {n: data.tables[n] for n in wanted if n in data.tables}
    result.rows = {n: result.rows[n] for n in wanted if n in result.rows}
    return data, result


def _wanted(tables: Iterable[str] | None) -> list[str]:
    return list(tables) if tables is not None else list(INPUT_TABLES)


def check_folder(folder: Path | str, *, tables: Iterable[str] | None = None,
                 limit: int | None = PROBLEMS_PER_COLUMN) -> tuple[DataFolder, list[Problem]]:
    """Read and validate every input table of ``folder``; return the typed tables and the problems found: at most
    ``limit`` per file and column, then one line with how many that column has (``limit=None``: every one)."""
    data, result = _scan_folder(Path(folder), _wanted(tables), keep_all=True, limit=limit)
    return data, result.problems


def scan_folder(folder: Path | str, *, tables: Iterable[str] | None = None,
                limit: int | None = PROBLEMS_PER_COLUMN) -> FolderScan:
    """Validate ``folder`` like :func:`check_folder` (same problems) without keeping the tables: large tables are
    read part by part and only the columns the checks across tables need are kept, so memory stays bounded."""
    return _scan_folder(Path(folder), _wanted(tables), keep_all=False, limit=limit)[1]


def read_folder(folder: Path | str, *, tables: Iterable[str] | None = None) -> DataFolder:
    """Like :func:`check_folder`, but raise :class:`InvalidInput` with every problem when there is any."""
    data, problems = check_folder(folder, tables=tables)
    if errors(problems):
        raise InvalidInput(errors(problems))
    return data


# --------------------------------------------------------------------------------------------- writing

def fen_to_yuan(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """int fen -> decimal128(20, 2) yuan, exactly and column-wise."""
    d = pc.divide(pc.cast(arr, pa.decimal128(20, 0)), pa.scalar(100, pa.decimal128(3, 0)))
    out = pc.cast(d, pa.decimal128(20, 2))
    return out if isinstance(out, pa.ChunkedArray) else pa.chunked_array([out])


# A text cell that begins with one of these is run as a formula by a spreadsheet (公式注入, CSV/formula injection):
# OWASP's list. Such a cell is written with a single quote in front; a plain number ("-12.50") is left as it is.
FORMULA_TRIGGERS = "=+-@\t\r"
_TRIGGER_RE = r"^[=+\-@\t\r]"
_NUMBER_BODY = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_NUMBER = re.compile(_NUMBER_BODY)


def neutralise_cell(value: Any) -> Any:
    """A cell value safe to open in a spreadsheet (防公式注入): text that begins with ``= + - @``, a tab or a
    carriage return and is not a plain number gets a leading single quote; everything else is returned as it is
    (numbers stay numbers). The one rule for every CSV and Excel file the platform writes; :func:`neutralise_text`,
    :func:`neutralise_ibis` and :func:`neutralise_workbook` apply it to a column, an engine table and a workbook."""
    if isinstance(value, str) and value and value[0] in FORMULA_TRIGGERS and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_text(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """:func:`neutralise_cell` over a text column, column-wise (nulls stay null). A column where no value begins
    with a trigger (a look at each value's first byte) is returned as it is: no regular expression over its cells."""
    if not _has_bytes(arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr]), _FORMULA_BYTES,
                      first=True):
        return arr
    risky = pc.and_(pc.match_substring_regex(arr, _TRIGGER_RE),
                    pc.invert(pc.match_substring_regex(arr, f"^{_NUMBER_BODY}$")))
    quote, empty = pa.scalar("'", arr.type), pa.scalar("", arr.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, arr, empty), arr)


def neutralise_ibis(table: ir.Table) -> ir.Table:
    """:func:`neutralise_cell` over every text column of an engine table (DuckDB or Spark), in the engine."""
    changes = {}
    for name, typ in table.schema().items():
        if typ.is_string():
            c = table[name]
            risky = c.re_search(_TRIGGER_RE) & ~c.re_search(f"^{_NUMBER_BODY}$")
            changes[name] = risky.ifelse("'" + c, c)
    return table.mutate(**changes) if changes else table


def neutralise_workbook(wb: Any) -> None:
    """:func:`neutralise_cell` over every cell of an openpyxl workbook, in place, before it is saved: text cells are
    stored as text (``data_type`` ``s``), never as a formula."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.value = neutralise_cell(cell.value)
                    cell.data_type = "s"


def _to_text(col: Column | None, arr: pa.ChunkedArray) -> pa.ChunkedArray:
    if col is not None and col.type is ColType.MONEY and pa.types.is_integer(arr.type):
        return pc.cast(fen_to_yuan(arr), pa.string())
    if pa.types.is_timestamp(arr.type):
        return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S")
    if pa.types.is_date(arr.type):  # the cast writes ISO dates, as strftime "%Y-%m-%d" does, 15x faster
        return pc.cast(arr, pa.string())
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return neutralise_text(arr)  # only text: numbers, dates and booleans cannot begin a formula
    return pc.cast(arr, pa.string())


def write_table(table: pa.Table, folder: Path | str, name: str, *, fmt: str = "csv") -> Path:
    """Write a table in the contract's form: money as yuan with 2 decimals, dates ISO. ``fmt``: csv or parquet.

    CSV is written atomically (temporary file then rename) so that a reader never sees half a file. Text cells that a
    spreadsheet would run as a formula are neutralised (:func:`neutralise_cell`); Parquet is written as it is.
    Parquet keeps typed columns; money goes out as decimal yuan (decimal128(20, 2)), so a Parquet file means the
    same as its CSV twin: in every contract file money is yuan (an integer money column in Parquet is whole yuan).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = TABLES.get(name)
    by_name = {c.name: c for c in spec.columns} if spec else {}
    if fmt == "parquet":
        path = folder / f"{name}.parquet"
        tmp = folder / f".{name}.parquet.tmp"  # hidden, and removed when the write fails: no half file is left
        money = [n for n in table.column_names if n in by_name and by_name[n].type is ColType.MONEY
                 and pa.types.is_integer(table.schema.field(n).type)]
        for n in money:
            table = table.set_column(table.column_names.index(n), n, fen_to_yuan(table.column(n)))
        try:
            pq.write_table(table, tmp)
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path
    return write_csv_parts([table], folder, name)


# The money cells of write_table's CSV in the engine: int fen as decimal yuan, in decimals of 18 digits (int64: 10x
# faster than wider ones) and, should a cell be past them (|fen| >= 10^16: a conversion error), of 38 digits, exact
# for any int64 (:func:`write_csv_engine` writes the file again with them)
_YUAN_FAST, _YUAN_WIDE = 18, 38
_T = TypeVar("_T")


def engine_yuan(v: ir.IntegerValue, digits: int) -> ir.DecimalValue:
    """int fen -> decimal(``digits``, 2) yuan, exactly, in the engine: the fen read as yuan times 0.01 (scale 4, then
    2: Ibis would drop a cast to the product's own type). 18 digits are int64 in DuckDB (fast), a conversion error
    past |fen| >= 10^16; 38 hold any int64 (:func:`in_money_digits` takes one, then the other)."""
    from decimal import Decimal

    import ibis

    product = v.cast(f"decimal({digits}, 2)") * ibis.literal(Decimal("0.01"), "decimal(3, 2)")
    return product.cast(f"decimal({digits}, 4)").cast(f"decimal({digits}, 2)")


def in_money_digits(write: Callable[[int], _T]) -> _T:
    """``write(digits)`` with money in decimals of 18 digits (:func:`engine_yuan`) and, should a cell be past them (a
    conversion error), again with 38: the one retry of every engine writer of money (CSV and Parquet)."""
    try:
        return write(_YUAN_FAST)
    except Exception as exc:
        if "Conversion" not in type(exc).__name__:
            raise
    return write(_YUAN_WIDE)


def write_csv_engine(expr: ir.Table, folder: Path | str, name: str, *, plain: Iterable[str] = ()) -> int | None:
    """The CSV of :func:`write_table` of the engine's table ``expr`` (DuckDB), its cells rendered by the engine: the
    same bytes, each column as :func:`_to_text` renders it (money in yuan, dates ISO, booleans, text neutralised),
    on DuckDB's threads, then streamed as text into Arrow's CSV writer (the one of :func:`write_csv_parts`; a
    province's rows never held). No Arrow compute on the rows: at 7 M claims, 6 CPU s instead of 12 (DuckDB's own
    ``COPY ... (FORMAT csv)`` writes the same bytes, but its writer took 7 CPU s where Arrow's takes 1.6).
    ``plain``: text columns whose every value is known to be safe (the caller's own names, none beginning with a
    character of :data:`FORMULA_TRIGGERS`): written as they are, not tested.
    Atomic, as :func:`write_csv_parts`. Returns the rows written, or None, writing nothing, when ``expr`` is not
    DuckDB's or has a column of a type this does not render (the caller streams it through write_csv_parts)."""
    if expr.get_backend().name != "duckdb":
        return None
    spec = TABLES.get(name)
    money = {c.name for c in spec.columns if c.type is ColType.MONEY} if spec else set()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    tmp = path.with_suffix(".csv.tmp")
    if _engine_text(expr, money, _YUAN_FAST, set(plain)) is None:  # a column it does not render: left to Arrow
        return None

    def written(digits: int) -> int:
        text = _engine_text(expr, money, digits, set(plain))
        assert text is not None  # the columns' types decide, not the digits
        return _written_as_text(text, tmp)

    try:
        rows = in_money_digits(written)
        tmp.replace(path)
        return rows
    finally:
        tmp.unlink(missing_ok=True)


def _written_as_text(text: ir.Table, tmp: Path) -> int:
    """Rows of ``text`` (every column text) streamed from DuckDB into Arrow's CSV writer at ``tmp``; how many."""
    from yigongti.core.engine import arrow_batches

    rows = 0
    with arrow_batches(text, PART_ROWS) as reader:
        with pacsv.CSVWriter(tmp, reader.schema, write_options=_CSV_OPTIONS) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


def _engine_text(expr: ir.Table, money: set[str], digits: int, plain: set[str]) -> ir.Table | None:
    """Every column of ``expr`` as the text :func:`_to_text` writes of it, in the engine; None when a column's type
    is not one it renders the same (timestamps, floats, decimals, nested: left to Arrow)."""


    cells = {}
    for name, typ in expr.schema().items():
        v = expr[name]
        if typ.is_integer() and name in money:
            cells[name] = engine_yuan(v, digits).cast("string")
        elif typ.is_integer() or typ.is_date() or typ.is_boolean():  # ISO dates, true/false, as Arrow's cast
            cells[name] = v.cast("string")
        elif typ.is_string() and name in plain:
            cells[name] = v
        elif typ.is_string():
            # :func:`neutralise_cell`: a first character that could start a formula (a cheap test) and not a number
            # (comparisons, not an IN list: DuckDB makes a list of six a join, which loses the rows' order)
            code = v.ascii_str()
            first = functools.reduce(operator.or_, [code == ord(c) for c in FORMULA_TRIGGERS])
            cells[name] = (first & ~v.re_search(f"^{_NUMBER_BODY}$")).ifelse("'" + v, v)
        else:
            return None
    return expr.select(**cells)


# Arrow's CSV writing of every contract CSV: its text cells quoted, a null cell empty (``""`` is an empty text)
_CSV_OPTIONS = pacsv.WriteOptions(quoting_style="needed")


def write_csv_parts(parts: Iterable[pa.Table | pa.RecordBatch], folder: Path | str, name: str) -> Path:
    """The CSV of :func:`write_table` written part after part (a province's rows streamed from the engine, never
    held whole): the same bytes as ``write_table`` of the parts concatenated (every part has the same columns).
    Atomic: a temporary file renamed when the last part is written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = TABLES.get(name)
    by_name = {c.name: c for c in spec.columns} if spec else {}
    path = folder / f"{name}.csv"
    tmp = path.with_suffix(".csv.tmp")
    writer: pacsv.CSVWriter | None = None
    try:
        for part in parts:
            table = part if isinstance(part, pa.Table) else pa.Table.from_batches([part])
            text = pa.table({n: _to_text(by_name.get(n), table.column(n)) for n in table.column_names})
            if writer is None:
                writer = pacsv.CSVWriter(tmp, text.schema, write_options=_CSV_OPTIONS)
            # Arrow writes "" for empty strings and nothing for null; both read back as empty.
            writer.write_table(text)
        if writer is None:
            raise ValueError(f"{name}: no part to write")
        writer.close()
        writer = None
        tmp.replace(path)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return path
