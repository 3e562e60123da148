"""Reading settlement records as exported (读取医保结算导出文件): CSV, Excel or JSON lines, batch by batch.

Column names are the interface's field names in any spelling (``setl_id``, ``SETL_ID``, ``setlId``) or their Chinese
labels (``结算ID``), see :func:`yigongti.interop.nhsa.domain.canonical_field`; columns this import does not read are
left aside. Text files are UTF-8 (with or without BOM) or GBK/GB18030 (detected from the first MiB, or declared).
Each batch is an Arrow table of text columns named by field, with ``_row``: the row number as a person sees it
(header = row 1 in CSV and Excel; the line number in JSON lines). Memory stays bounded by the batch size.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from yigongti.core.problems import Problem, shorten
from yigongti.interop.nhsa.domain import PART_FIELDS, SETTLEMENT_FIELDS, ListPart, canonical_field, list_part

__all__ = ["BATCH_ROWS", "ENCODINGS", "LIST_ONLY", "LIST_VOCABULARY", "ROW", "RecordFile", "detect_encoding",
           "is_settlement_list", "open_list", "open_records"]

BATCH_ROWS = 1 << 16
ROW = "_row"
ENCODINGS = ("utf-8", "gb18030", "gbk")
_SNIFF = 1 << 20
LIST_VOCABULARY: frozenset[str] = frozenset(n for names in PART_FIELDS.values() for n in names)
LIST_ONLY: frozenset[str] = LIST_VOCABULARY - SETTLEMENT_FIELDS  # fields only a settlement list has (adm_way ...)
_LIST_INFNO = "4101"


class _Unreadable(Exception):
    pass


def detect_encoding(head: bytes) -> str:
    """``utf-8-sig`` with a BOM, ``utf-8`` when the first bytes decode as UTF-8 (a character cut at the end of the
    sample is fine), else ``gb18030`` (the superset of GBK that Chinese Windows exports use)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        text = repr(v)  # the shortest text that reads back to the same float: 37.3, not 37.300000000000004
        return text[:-2] if text.endswith(".0") else text
    return str(v).strip()


@dataclass
class RecordFile:
    """One export file: its fields (column index -> field), the problems of its header, and its batches."""

    path: Path
    label: str
    kind: str  # csv, xlsx, jsonl
    encoding: str | None = None
    vocabulary: frozenset[str] = SETTLEMENT_FIELDS  # the fields read; other columns are left aside
    part: ListPart | None = None  # a settlement list's file: the part it holds (None: a JSON lines file of messages)
    fields: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _columns: dict[int, str] = field(default_factory=dict)
    _header_names: list[str] = field(default_factory=list)

    def _header(self, names: list[str]) -> None:
        seen: dict[str, str] = {}
        for i, raw in enumerate(names):
            name = canonical_field(raw)
            if name is None or name not in self.vocabulary:
                continue
            if name in seen:
                self.problems.append(Problem(self.label, 1, raw, f"column {raw!r} repeats {seen[name]!r} (both are "
                                                                 f"{name}) / 列重复"))
                continue
            seen[name] = raw
            self._columns[i] = name
        self.fields = list(self._columns.values())

    def batches(self, *, rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
        """The records, ``rows`` at a time; an unreadable part adds a problem and ends the file."""
        try:
            if self.kind == "csv":
                yield from self._csv_batches(rows)
            elif self.kind == "xlsx":
                yield from self._xlsx_batches(rows)
            else:
                yield from self._jsonl_batches(rows)
        except _Unreadable as exc:
            self.problems.append(Problem(self.label, 0, "", str(exc)))

    def list_batches(self, *, rows: int = BATCH_ROWS) -> Iterator[tuple[ListPart, pa.Table]]:
        """A settlement list's rows, ``rows`` at a time, with the part they belong to: a CSV or Excel file holds one
        part (:attr:`part`); a JSON lines file holds one 4101 message a line (``setlinfo`` and lists ``diseinfo``,
        ``oprninfo``, at the top or under ``input``), split into its parts."""
        if self.kind != "jsonl":
            assert self.part is not None
            for batch in self.batches(rows=rows):
                yield self.part, batch
            return
        parts: dict[ListPart, tuple[dict[str, list[str]], list[int]]] = {
            p: ({n: [] for n in PART_FIELDS[p]}, []) for p in ListPart}
        count = 0
        try:
            with self.path.open(encoding=self.encoding or "utf-8", errors="strict", newline="") as f:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    for part, rec in self._list_message(line, number):
                        cols, numbers = parts[part]
                        for name in cols:
                            cols[name].append(rec.get(name, ""))
                        numbers.append(number)
                        count += 1
                    if count >= rows:
                        yield from self._list_tables(parts)
                        count = 0
        except UnicodeDecodeError as exc:
            self.problems.append(Problem(self.label, 0, "", self._encoding_message(exc)))
            return
        yield from self._list_tables(parts)

    @staticmethod
    def _list_tables(parts: dict[ListPart, tuple[dict[str, list[str]], list[int]]]) -> Iterator[tuple[ListPart,
                                                                                                      pa.Table]]:
        for part, (cols, numbers) in parts.items():
            if numbers:
                data: dict[str, pa.Array] = {n: pa.array(v, pa.string()) for n, v in cols.items()}
                data[ROW] = pa.array(numbers, pa.int64())
                yield part, pa.table(data)
                for v in cols.values():
                    v.clear()
                numbers.clear()

    def _list_message(self, line: str, number: int) -> list[tuple[ListPart, dict[str, str]]]:
        obj = self._json_object(line, number)
        if obj is None:
            return []
        inner = obj.get("input")
        body: dict[str, Any] = inner if isinstance(inner, dict) else obj
        head = body.get("setlinfo") if isinstance(body.get("setlinfo"), dict) else None
        if head is None:
            self.problems.append(Problem(self.label, number, "setlinfo", "a settlement list message needs its "
                                                                         "setlinfo object / 缺少 setlinfo"))
            return []
        info = {n: v for n, v in _flatten(head).items() if n in PART_FIELDS[ListPart.SETLINFO]}
        keys = {k: info.get(k, "") for k in ("setl_id", "mdtrt_id", "psn_no")}
        out: list[tuple[ListPart, dict[str, str]]] = [(ListPart.SETLINFO, info)]
        for part in (ListPart.DISEINFO, ListPart.OPRNINFO):
            items = body.get(part.value) or []
            if isinstance(items, dict):
                items = [items]
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                self.problems.append(Problem(self.label, number, part.value, f"{part.value} must be a list of "
                                                                             "objects / 应为对象列表"))
                continue
            for item in items:
                rec = {n: v for n, v in _flatten(item).items() if n in PART_FIELDS[part]}
                out.append((part, {**keys, **{k: v for k, v in rec.items() if v}}))
        return out

    def _table(self, cols: dict[str, list[str]], numbers: list[int]) -> pa.Table:
        data: dict[str, pa.Array] = {n: pa.array(cols[n], pa.string()) for n in self.fields}
        data[ROW] = pa.array(numbers, pa.int64())
        return pa.table(data)

    # CSV -------------------------------------------------------------------------------------------------------
    def _csv_batches(self, rows: int) -> Iterator[pa.Table]:
        enc = self.encoding or "utf-8"
        bad_rows: list[Problem] = []

        def on_invalid(row: Any) -> str:
            bad_rows.append(Problem(self.label, (row.number or 0), "",
                                    f"expected {row.expected_columns} columns, found {row.actual_columns} / 列数不符: "
                                    f"{shorten(row.text)}"))
            return "skip"

        header_cols = len(self._header_names)
        names = [f"c{i}" for i in range(header_cols)]
        include = [f"c{i}" for i in self._columns]
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 22,
                                               encoding="utf8" if enc in ("utf-8", "utf-8-sig") else enc),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=False),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                     include_columns=include, strings_can_be_null=False,
                                                     quoted_strings_can_be_null=False))
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _Unreadable(self._encoding_message(exc)) from None
        next_row = 2
        pending: list[pa.RecordBatch] = []
        size = 0
        try:
            for batch in reader:
                pending.append(batch)
                size += batch.num_rows
                if size >= rows:
                    yield self._from_arrow(pending, next_row)
                    next_row += size
                    pending, size = [], 0
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _Unreadable(self._encoding_message(exc)) from None
        finally:
            self.problems.extend(bad_rows)
        if pending:
            yield self._from_arrow(pending, next_row)

    def _from_arrow(self, batches: list[pa.RecordBatch], first_row: int) -> pa.Table:
        t = pa.Table.from_batches(batches)
        data = {self._columns[int(n[1:])]: t.column(n) for n in t.column_names}
        data[ROW] = pa.array(range(first_row, first_row + t.num_rows), pa.int64())
        return pa.table(data)

    def _encoding_message(self, exc: Exception) -> str:
        return (f"cannot read the file as {self.encoding}; declare the export's encoding with --encoding "
                f"({', '.join(ENCODINGS)}) / 文件编码无法识别，请用 --encoding 声明: {shorten(exc, 160)}")

    # Excel -----------------------------------------------------------------------------------------------------
    def _xlsx_batches(self, rows: int) -> Iterator[pa.Table]:
        from openpyxl import load_workbook

        wb = load_workbook(self.path, read_only=True, data_only=True)
        try:
            it = wb.worksheets[0].iter_rows(min_row=2, values_only=True)
            cols: dict[str, list[str]] = {n: [] for n in self.fields}
            numbers: list[int] = []
            for number, values in enumerate(it, start=2):
                if all(v is None or v == "" for v in values):
                    continue
                for i, name in self._columns.items():
                    cols[name].append(_cell_text(values[i]) if i < len(values) else "")
                numbers.append(number)
                if len(numbers) >= rows:
                    yield self._table(cols, numbers)
                    cols, numbers = {n: [] for n in self.fields}, []
            if numbers:
                yield self._table(cols, numbers)
        finally:
            wb.close()

    # JSON lines ------------------------------------------------------------------------------------------------
    def _jsonl_batches(self, rows: int) -> Iterator[pa.Table]:
        cols: dict[str, list[str]] = {n: [] for n in self.fields}
        numbers: list[int] = []
        with self.path.open(encoding=self.encoding or "utf-8", errors="strict", newline="") as f:
            try:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    rec = self._json_record(line, number)
                    if rec is None:
                        continue
                    for name in self.fields:
                        cols[name].append(rec.get(name, ""))
                    numbers.append(number)
                    if len(numbers) >= rows:
                        yield self._table(cols, numbers)
                        cols, numbers = {n: [] for n in self.fields}, []
            except UnicodeDecodeError as exc:
                raise _Unreadable(self._encoding_message(exc)) from None
        if numbers:
            yield self._table(cols, numbers)

    def _json_object(self, line: str, number: int) -> dict[str, Any] | None:
        try:
            obj = json.loads(line, parse_float=str, parse_int=str)
        except json.JSONDecodeError as exc:
            self.problems.append(Problem(self.label, number, "",
                                         f"not JSON / 不是JSON: {exc.msg} at column {exc.colno}"))
            return None
        if not isinstance(obj, dict):
            self.problems.append(Problem(self.label, number, "", "a line must be a JSON object / 每行应为JSON对象"))
            return None
        return obj

    def _json_record(self, line: str, number: int) -> dict[str, str] | None:
        obj = self._json_object(line, number)
        if obj is None:
            return None
        return {n: v for n, v in _flatten(obj).items() if n in self._columns.values()}


def _flatten(obj: dict[str, Any]) -> dict[str, str]:
    """A transaction message's record: top-level fields, then ``output.setlinfo`` (2207/2304 output) and
    ``input.data`` (2208/2305 input), each field named canonically."""
    out: dict[str, str] = {}
    parts: list[dict[str, Any]] = [obj]
    for outer, inner in (("output", "setlinfo"), ("input", "data"), ("input", "setlinfo")):
        sub = obj.get(outer)
        if isinstance(sub, dict) and isinstance(sub.get(inner), dict):
            parts.append(sub[inner])
    for part in parts:
        for k, v in part.items():
            name = canonical_field(str(k))
            if name is not None and not isinstance(v, dict | list):
                out.setdefault(name, _cell_text(v))
    return out


def is_settlement_list(path: Path, *, encoding: str | None = None) -> bool:
    """Whether an export handed in as records is a settlement list (医保结算清单, 4101) instead: JSON lines whose first
    message is a 4101 (``infno`` 4101, or ``setlinfo`` with ``diseinfo`` / ``oprninfo`` lists beside it), or a CSV or
    Excel file with a settlement list's own columns (adm_way, maindiag_flag, oprn_oprt_code ...) and no
    medfee_sumamt. Anything unreadable is left to the records' own checks (False)."""
    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        with path.open("rb") as f:
            head = f.read(_SNIFF)
        try:
            text = head.decode(encoding or detect_encoding(head), errors="ignore").lstrip("\ufeff")
        except LookupError:
            return False
        line = next((x for x in text.splitlines() if x.strip()), "")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            return False
        if not isinstance(obj, dict):
            return False
        inner = obj.get("input")
        body: dict[str, Any] = inner if isinstance(inner, dict) else obj
        return str(obj.get("infno", "")).strip() == _LIST_INFNO or (
            isinstance(body.get("setlinfo"), dict) and any(k in body for k in ("diseinfo", "oprninfo")))
    rf = open_records(path, encoding=encoding, vocabulary=SETTLEMENT_FIELDS | LIST_VOCABULARY)
    return not rf.problems and "medfee_sumamt" not in rf.fields and any(n in LIST_ONLY for n in rf.fields)


def open_list(path: Path, *, label: str | None = None, encoding: str | None = None) -> RecordFile:
    """Open a settlement list export (医保结算清单, 4101): a CSV or Excel file of one part (setlinfo, diseinfo or
    oprninfo, told by its columns), or JSON lines of whole messages. See :meth:`RecordFile.list_batches`."""
    rf = open_records(path, label=label, encoding=encoding, vocabulary=LIST_VOCABULARY)
    if rf.kind != "jsonl":
        rf.part = list_part(rf.fields)
    return rf


def open_records(path: Path, *, label: str | None = None, encoding: str | None = None,
                 vocabulary: frozenset[str] = SETTLEMENT_FIELDS) -> RecordFile:
    """Open an export: read its header (or, for JSON lines, the fields of its records) and detect its encoding."""
    path = Path(path)
    label = label or path.name
    suffix = path.suffix.lower()
    if not path.is_file():
        rf = RecordFile(path, label, "csv", vocabulary=vocabulary)
        rf.problems.append(Problem(label, 0, "", "no such file / 文件不存在"))
        return rf
    if suffix == ".xlsx":
        return _open_xlsx(path, label, vocabulary)
    with path.open("rb") as f:
        head = f.read(_SNIFF)
    enc = encoding or detect_encoding(head)
    if suffix in (".jsonl", ".json", ".ndjson"):
        rf = RecordFile(path, label, "jsonl", encoding=enc, vocabulary=vocabulary)
        rf._header(sorted(vocabulary))  # a record names its own fields; a field it lacks is empty
        return rf
    rf = RecordFile(path, label, "csv", encoding=enc, vocabulary=vocabulary)
    try:
        first = head.split(b"\n", 1)[0].decode(enc, errors="strict").lstrip("\ufeff")
    except (UnicodeDecodeError, LookupError) as exc:
        rf.problems.append(Problem(label, 1, "", rf._encoding_message(exc)))
        return rf
    header = next(csv.reader(io.StringIO(first.rstrip("\r"))), [])
    rf._header_names = header
    rf._header(header)
    return rf


def _open_xlsx(path: Path, label: str, vocabulary: frozenset[str]) -> RecordFile:
    from openpyxl import load_workbook

    rf = RecordFile(path, label, "xlsx", vocabulary=vocabulary)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        rf.problems.append(Problem(label, 0, "", f"not an Excel workbook / 不是Excel文件: {shorten(exc, 120)}"))
        return rf
    try:
        header = next(wb.worksheets[0].iter_rows(max_row=1, values_only=True), ())
    finally:
        wb.close()
    rf._header([_cell_text(v) for v in header])
    return rf
