"""Data folders (数据目录): read, validate and write the tables of CONTRACT.md.

A folder holds one file per table: ``NAME.csv`` (UTF-8, with or without BOM), ``NAME.xlsx``, ``NAME.parquet`` or a
folder ``NAME/`` of Parquet files. Reading turns text into typed Arrow columns (money as int64 fen) and collects
every problem as ``file:row:column: message``; nothing is returned from a folder that has any problem.

Column checks are columnar (Arrow compute over whole columns); only rows that fail are visited one by one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from yigongti.domain.money import format_yuan
from yigongti.domain.problems import InvalidInput, Problem
from yigongti.domain.schema import INPUT_TABLES, TABLES, ColType, Column, TableSpec

__all__ = [
    "DataFolder",
    "find_table_file",
    "read_raw_table",
    "parse_table",
    "read_folder",
    "check_folder",
    "write_table",
    "fen_to_yuan",
    "MONEY_TYPE",
    "DATETIME_TYPE",
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


def find_table_file(folder: Path, name: str) -> Path | None:
    """The file (or Parquet folder) holding table ``name`` in ``folder``, or None."""
    for candidate in (folder / f"{name}.csv", folder / f"{name}.parquet", folder / f"{name}.xlsx", folder / name):
        if candidate.is_file() or (candidate.is_dir() and any(candidate.glob("*.parquet"))):
            return candidate
    return None


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
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False),
    )


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
    """A column as trimmed text, nulls as ''."""
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
        out = pa.chunked_array([pa.array([("" if x is None else repr(float(x))) for x in arr.to_pylist()], pa.string())])
    else:
        out = pc.cast(arr, pa.string())
    out = pc.fill_null(out, "")
    return pc.utf8_trim_whitespace(out)


def _bad_rows(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.flatnonzero(np.asarray(pc.fill_null(mask, True).to_numpy(zero_copy_only=False), dtype=bool))


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def rows(self, idx: Iterable[int], column: str, message: str | None = None, *, texts: list[str] | None = None,
             fmt: str = "") -> None:
        for i in idx:
            msg = message if message is not None else fmt.format(value=texts[int(i)] if texts else "")
            self.problems.append(Problem(self.file, int(i) + 2, column, msg))

    def add(self, row_index: int, column: str, message: str) -> None:
        self.problems.append(Problem(self.file, row_index + 2 if row_index >= 0 else 0, column, message))


def _parse_column(col: Column, text: pa.ChunkedArray, out: _Collector) -> pa.ChunkedArray:
    """Text -> typed column; problems for cells that do not parse. Empty optional cells become null (or default)."""
    if col.default is not None:
        text = pc.if_else(pc.equal(text, ""), col.default, text)
    empty = pc.equal(text, "")
    if col.required:
        out.rows(_bad_rows(empty), col.name, "required value is empty / 必填项为空")
    texts: list[str] | None = None

    def bad(regex: str, what: str) -> None:
        nonlocal texts
        mask = pc.and_(pc.invert(empty), pc.invert(pc.match_substring_regex(text, regex)))
        idx = _bad_rows(mask)
        if len(idx):
            texts = text.to_pylist() if texts is None else texts
            out.rows(idx, col.name, texts=texts, fmt=f"'{{value}}' is not {what}")
        return None

    ok_text = text
    t = col.type
    if t in (ColType.STR, ColType.ID, ColType.ID_NUMBER):
        if t is ColType.ID:
            bad(r"^[^\s,;]+$", "an identifier (no spaces, commas or semicolons) / 编码格式错误")
        return pc.if_else(empty, pa.scalar(None, pa.string()), text) if not col.required else text
    if t is ColType.ENUM:
        allowed = pa.array(list(col.values))
        mask = pc.and_(pc.invert(empty), pc.invert(pc.is_in(text, value_set=allowed)))
        idx = _bad_rows(mask)
        if len(idx):
            texts = text.to_pylist()
            out.rows(idx, col.name, texts=texts,
                     fmt="'{value}' is not one of " + ", ".join(col.values) + " / 取值无效")
        return pc.if_else(empty, pa.scalar(None, pa.string()), text)
    if t is ColType.COUNTY_CODE:
        bad(_COUNTY_RE, "a 6-digit county code (GB/T 2260) / 区划代码应为6位数字")
        return text
    if t is ColType.BOOL:
        low = pc.utf8_lower(text)
        allowed = pa.array(sorted(_TRUE | _FALSE))
        idx = _bad_rows(pc.invert(pc.is_in(low, value_set=allowed)))
        if len(idx):
            texts = text.to_pylist()
            out.rows(idx, col.name, texts=texts, fmt="'{value}' is not true/false (1/0, 是/否) / 布尔值无效")
        return pc.is_in(low, value_set=pa.array(sorted(_TRUE)))
    if t is ColType.MONEY:
        bad(_MONEY_RE, "an amount in yuan with at most 2 decimals / 金额格式错误")
        ok_text = pc.if_else(pc.match_substring_regex(text, _MONEY_RE), text, pa.scalar(None, pa.string()))
        dec = pc.cast(ok_text, pa.decimal128(18, 2))
        typed = pc.cast(pc.multiply(dec, pa.scalar(100, pa.decimal128(5, 0))), pa.decimal128(20, 0))
        typed = pc.cast(typed, pa.int64())
        _check_range(col, typed, pc.divide(pc.cast(typed, pa.float64()), 100.0), text, out)
        return typed
    if t is ColType.INT:
        bad(_INT_RE, "a whole number / 应为整数")
        ok_text = pc.if_else(pc.match_substring_regex(text, _INT_RE), text, pa.scalar(None, pa.string()))
        typed = pc.cast(pc.cast(ok_text, pa.float64()), pa.int64())
        _check_range(col, typed, typed, text, out)
        return typed
    if t in (ColType.FLOAT, ColType.DECIMAL):
        regex = _FLOAT_RE if t is ColType.FLOAT else _DECIMAL_RE
        bad(regex, "a number / 应为数字")
        ok_text = pc.if_else(pc.match_substring_regex(text, regex), text, pa.scalar(None, pa.string()))
        typed = pc.cast(ok_text, pa.float64())
        _check_range(col, typed, typed, text, out)
        if t is ColType.DECIMAL:
            return ok_text  # kept as exact text; the consumer turns it into Decimal
        return typed
    if t is ColType.DATE:
        bad(_DATE_RE, "a date YYYY-MM-DD / 日期格式应为YYYY-MM-DD")
        ok = pc.match_substring_regex(text, _DATE_RE)
        ts = pc.strptime(pc.if_else(ok, text, pa.scalar(None, pa.string())), format="%Y-%m-%d", unit="s",
                         error_is_null=True)
        back = pc.strftime(ts, format="%Y-%m-%d")
        idx = _bad_rows(pc.and_(ok, pc.invert(pc.fill_null(pc.equal(back, text), False))))
        if len(idx):
            texts = text.to_pylist()
            out.rows(idx, col.name, texts=texts, fmt="'{value}' is not a calendar date / 日期不存在")
        return pc.cast(pc.if_else(pc.fill_null(pc.equal(back, text), False), ts, pa.scalar(None, ts.type)), pa.date32())
    if t is ColType.DATETIME:
        bad(_DATETIME_RE, "an ISO date-time YYYY-MM-DDTHH:MM[:SS] / 时间格式错误")
        norm = pc.replace_substring(text, " ", "T")
        norm = pc.if_else(pc.equal(pc.utf8_length(norm), 10), pc.binary_join_element_wise(norm, "T00:00:00", ""), norm)
        norm = pc.if_else(pc.equal(pc.utf8_length(norm), 16), pc.binary_join_element_wise(norm, ":00", ""), norm)
        ok = pc.match_substring_regex(text, _DATETIME_RE)
        ts = pc.strptime(pc.if_else(ok, norm, pa.scalar(None, pa.string())), format="%Y-%m-%dT%H:%M:%S", unit="s",
                         error_is_null=True)
        back = pc.strftime(ts, format="%Y-%m-%dT%H:%M:%S")
        good = pc.fill_null(pc.equal(back, norm), False)
        idx = _bad_rows(pc.and_(ok, pc.invert(good)))
        if len(idx):
            texts = text.to_pylist()
            out.rows(idx, col.name, texts=texts, fmt="'{value}' is not a valid date-time / 时间不存在")
        return pc.if_else(good, ts, pa.scalar(None, ts.type))
    raise AssertionError(t)


def _check_range(col: Column, typed: pa.ChunkedArray, numeric: pa.ChunkedArray, text: pa.ChunkedArray,
                 out: _Collector) -> None:
    if col.min_value is not None:
        idx = _bad_rows(pc.fill_null(pc.less(numeric, col.min_value), False))
        out.rows(idx, col.name, texts=text.to_pylist() if len(idx) else None,
                 fmt=f"'{{value}}' is below the minimum {col.min_value:g} / 小于最小值")
    if col.max_value is not None:
        idx = _bad_rows(pc.fill_null(pc.greater(numeric, col.max_value), False))
        out.rows(idx, col.name, texts=text.to_pylist() if len(idx) else None,
                 fmt=f"'{{value}}' is above the maximum {col.max_value:g} / 大于最大值")


def parse_table(spec: TableSpec, raw: pa.Table, *, file: str) -> tuple[pa.Table, list[Problem]]:
    """Check and type one table. Extra columns are kept as they are; missing required columns are problems."""
    out = _Collector(file)
    present = set(raw.column_names)
    columns: dict[str, pa.ChunkedArray] = {}
    for col in spec.columns:
        if col.name not in present:
            if col.default is not None or not col.required:
                text = pa.chunked_array([pa.array([col.default or ""] * raw.num_rows, pa.string())])
            else:
                out.add(-1, col.name, "required column is missing / 缺少必填列")
                continue
        else:
            text = _as_text(raw.column(col.name))
        columns[col.name] = _parse_column(col, text, out)
    for name in raw.column_names:
        if name not in columns and name not in spec.names:
            columns[name] = raw.column(name)
    if spec.key and all(k in columns for k in spec.key):
        _check_unique(spec, columns, out)
    return pa.table(columns), out.problems


def _check_unique(spec: TableSpec, columns: dict[str, pa.ChunkedArray], out: _Collector) -> None:
    if len(spec.key) == 1:
        keys = columns[spec.key[0]]
    else:
        keys = pc.binary_join_element_wise(*[pc.cast(columns[k], pa.string()) for k in spec.key], "\x1f")
    if len(keys) == 0:
        return
    counts = pc.value_counts(keys)
    dup_values = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(dup_values) == 0:
        return
    idx = _bad_rows(pc.is_in(keys, value_set=dup_values))
    first: dict[object, int] = {}
    kv = keys.to_pylist()
    for i in idx:
        k = kv[int(i)]
        if k in first:
            shown = str(k).replace("\x1f", ", ")
            out.add(int(i), ",".join(spec.key), f"duplicate key {shown} (first on row {first[k] + 2}) / 主键重复")
        else:
            first[k] = int(i)


# --------------------------------------------------------------------------------------------- the folder

def _file_label(folder: Path, path: Path) -> str:
    try:
        return str(path.relative_to(folder)) if path.is_file() else str(path.relative_to(folder)) + "/"
    except ValueError:
        return str(path)


def check_folder(folder: Path | str, *, tables: Iterable[str] | None = None) -> tuple[DataFolder, list[Problem]]:
    """Read and validate every input table of ``folder``; return the typed tables and every problem found."""
    folder = Path(folder)
    wanted = list(tables) if tables is not None else list(INPUT_TABLES)
    problems: list[Problem] = []
    data = DataFolder(folder)
    labels: dict[str, str] = {}
    if not folder.is_dir():
        return data, [Problem(str(folder), 0, "", "not a folder / 目录不存在")]
    for name in wanted:
        spec = INPUT_TABLES[name]
        path = find_table_file(folder, name)
        if path is None:
            if not spec.optional:
                problems.append(Problem(f"{name}.csv", 0, "", "required table is missing / 缺少必需的表"))
            continue
        label = _file_label(folder, path)
        labels[name] = label
        try:
            raw = read_raw_table(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a problem to report, not a crash
            problems.append(Problem(label, 0, "", f"cannot read the file: {exc} / 文件无法读取"))
            continue
        typed, found = parse_table(spec, raw, file=label)
        problems.extend(found)
        data.tables[name] = typed
    if not problems:
        from yigongti.store.crosschecks import cross_check

        problems.extend(cross_check(data, labels))
    return data, sorted(problems)


def read_folder(folder: Path | str, *, tables: Iterable[str] | None = None) -> DataFolder:
    """Like :func:`check_folder`, but raise :class:`InvalidInput` with every problem when there is any."""
    data, problems = check_folder(folder, tables=tables)
    if problems:
        raise InvalidInput(problems)
    return data


# --------------------------------------------------------------------------------------------- writing

def fen_to_yuan(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """int fen -> decimal128(20, 2) yuan, exactly and column-wise."""
    d = pc.divide(pc.cast(arr, pa.decimal128(20, 0)), pa.scalar(100, pa.decimal128(3, 0)))
    out = pc.cast(d, pa.decimal128(20, 2))
    return out if isinstance(out, pa.ChunkedArray) else pa.chunked_array([out])


def _to_text(col: Column | None, arr: pa.ChunkedArray) -> pa.ChunkedArray:
    if col is not None and col.type is ColType.MONEY and pa.types.is_integer(arr.type):
        return pc.cast(fen_to_yuan(arr), pa.string())
    if pa.types.is_timestamp(arr.type):
        return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S")
    if pa.types.is_date(arr.type):
        return pc.strftime(arr, format="%Y-%m-%d")
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    return pc.cast(arr, pa.string()) if not pa.types.is_string(arr.type) else arr


def write_table(table: pa.Table, folder: Path | str, name: str, *, fmt: str = "csv") -> Path:
    """Write a table in the contract's form: money as yuan with 2 decimals, dates ISO. ``fmt``: csv or parquet.

    CSV is written atomically (temporary file then rename) so that a reader never sees half a file.
    Parquet keeps typed columns; money goes out as decimal yuan (decimal128(20, 2)), so a Parquet file means the
    same as its CSV twin: in every contract file money is yuan (an integer money column in Parquet is whole yuan).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = TABLES.get(name)
    by_name = {c.name: c for c in spec.columns} if spec else {}
    if fmt == "parquet":
        path = folder / f"{name}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        money = [n for n in table.column_names if n in by_name and by_name[n].type is ColType.MONEY
                 and pa.types.is_integer(table.schema.field(n).type)]
        for n in money:
            table = table.set_column(table.column_names.index(n), n, fen_to_yuan(table.column(n)))
        pq.write_table(table, tmp)
        tmp.replace(path)
        return path
    cols = {n: _to_text(by_name.get(n), table.column(n)) for n in table.column_names}
    text = pa.table(cols)
    path = folder / f"{name}.csv"
    tmp = path.with_suffix(".csv.tmp")
    pacsv.write_csv(text, tmp, write_options=pacsv.WriteOptions(quoting_style="needed"))
    # Arrow writes "" for empty strings and nothing for null; both read back as empty.
    tmp.replace(path)
    return path
