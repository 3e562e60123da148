"""Streaming the demo tables to a data folder (写出示例数据), all or nothing.

Tables are written chunk by chunk into a hidden temporary folder next to the target, then moved into the target
(replacing an earlier file of the same table in any format) only when every table is complete.
A CSV table is one file written by an incremental Arrow CSV writer; a Parquet table is a folder ``NAME/`` of part
files ``part-00000.parquet`` ... Money goes out as yuan with 2 decimals (decimal128 in Parquet), date-times as ISO
``YYYY-MM-DDTHH:MM:SS`` (timestamp in Parquet), dates ISO, booleans true/false.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType
from typing import Self

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from yigongti.datafolder.schema import TABLES, ColType

__all__ = ["FORMATS", "StagedFolder", "TableSink", "file_form"]

FORMATS = ("csv", "parquet")
MONEY_FILE_TYPE = pa.decimal128(14, 2)


def file_form(table: pa.Table, name: str, *, fmt: str) -> pa.Table:
    """The table as it goes to a file: money (int fen in memory) as decimal yuan; date-times as ISO text in CSV."""
    spec = TABLES.get(name)
    money = {c.name for c in spec.columns if c.type is ColType.MONEY} if spec else set()
    cols: dict[str, pa.ChunkedArray | pa.Array] = {}
    for n in table.column_names:
        col = table.column(n)
        if n in money and pa.types.is_integer(col.type):
            col = pc.cast(pc.divide(pc.cast(col, pa.decimal128(19, 0)), pa.scalar(100, pa.decimal128(3, 0))),
                          MONEY_FILE_TYPE)
        elif fmt == "csv" and pa.types.is_timestamp(col.type):
            col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
        cols[n] = col
    return pa.table(cols)


class TableSink:
    """One table written chunk by chunk: ``NAME.csv`` or ``NAME/part-NNNNN.parquet``."""

    def __init__(self, folder: Path, name: str, *, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}: {fmt!r}")
        self.name = name
        self.fmt = fmt
        self.entry = folder / (f"{name}.csv" if fmt == "csv" else name)
        self.rows = 0
        self._parts = 0
        self._csv: pacsv.CSVWriter | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0 and (self.rows or self.fmt == "parquet"):
            return
        out = file_form(table, self.name, fmt=self.fmt)
        if self.fmt == "csv":
            if self._csv is None:
                self._csv = pacsv.CSVWriter(self.entry, out.schema,
                                            write_options=pacsv.WriteOptions(quoting_style="needed"))
            self._csv.write_table(out)
        else:
            self.entry.mkdir(parents=True, exist_ok=True)
            pq.write_table(out, self.entry / f"part-{self._parts:05d}.parquet", compression="zstd")
            self._parts += 1
        self.rows += table.num_rows

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None


class StagedFolder:
    """A temporary folder next to ``target`` whose entries replace the target's on :meth:`commit`."""

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        self.path = self.target.parent / f".{self.target.name}.demo-tmp"

    def __enter__(self) -> Self:
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        return self

    def commit(self, names: list[str]) -> None:
        """Move every staged table into the target, replacing that table's earlier files of any format."""
        self.target.mkdir(parents=True, exist_ok=True)
        for name in names:
            for old in (f"{name}.csv", f"{name}.parquet", f"{name}.xlsx", name):
                p = self.target / old
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
        for name in names:
            for staged in (self.path / f"{name}.csv", self.path / name):
                if staged.exists():
                    staged.rename(self.target / staged.name)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
