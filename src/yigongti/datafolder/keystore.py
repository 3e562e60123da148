"""Key and reference columns of a large folder's tables in DuckDB, spilled to disk past a memory limit (键值暂存).

``yigongti check`` reads every table part by part; what the checks across rows and tables need (keys, references,
ID numbers) is appended here instead of being kept in memory, with each row's index in its table (``_row``, 0-based,
across the parts of a folder). A Parquet part whose kept columns are the values as written (no cell trimmed, cleared
or converted by the checks) is not copied: the store reads those columns from the file itself when it is asked,
with the file's row number for ``_row`` (:meth:`KeyStore.add_parquet`). Keys unique, duplicate ID numbers and
references (claims, choices and designations to persons, referring claims, budget agreements to consortia) are then
SQL over these tables, under a memory limit (``YIGONGTI_CHECK_MEMORY``, default 1GB; DuckDB spills to a temporary
folder beyond it). Only the first rows of each kind of problem come back to Python, with their total.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["DEFAULT_MEMORY", "MEMORY_ENV", "KeyStore"]

DEFAULT_MEMORY = "1GB"
MEMORY_ENV = "YIGONGTI_CHECK_MEMORY"  # overrides DEFAULT_MEMORY
ROW = "_row"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class KeyStore:
    """Columns of tables appended part by part into a scratch DuckDB database (deleted on close)."""

    def __init__(self, memory_limit: str | None = None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="yigongti-check-"))
        self.con = duckdb.connect(":memory:")  # beyond the memory limit its blocks go to temp_directory
        limit = memory_limit or os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY
        self.con.execute("SET memory_limit = ?", [limit])
        self.con.execute("SET temp_directory = ?", [str(self.directory / "spill")])
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute("SET enable_progress_bar = false")
        self.columns: dict[str, list[str]] = {}
        self._copied: set[str] = set()  # tables with rows appended (a DuckDB table of copies)
        # rows read from Parquet files when asked: table -> (file, first row in the file, rows, first row index,
        # the columns read)
        self._files: dict[str, list[tuple[str, int, int, int, tuple[str, ...]]]] = {}
        self._copy_columns: dict[str, list[str]] = {}
        self._viewed: set[str] = set()

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _table(self, name: str) -> str:
        """The table (or view) to query for table ``name``: its copied rows and the rows of its Parquet files."""
        files = self._files.get(name)
        if not files:
            return self._copy(name)
        view = _q("v_" + name)
        if name not in self._viewed:
            self._viewed.add(name)
            # one scan per file with its first row index as a constant (a join on the file name costs more); a
            # column a file does not have is null (UNION ALL BY NAME)
            read = " UNION ALL BY NAME ".join(
                f"SELECT {base - first} + file_row_number AS {ROW}{''.join(', ' + _q(c) for c in columns)} "
                f"FROM read_parquet('{file.replace(chr(39), chr(39) * 2)}', file_row_number = true)"
                + ("" if first == 0 and rows == pq.ParquetFile(file).metadata.num_rows
                   else f" WHERE file_row_number BETWEEN {first} AND {first + rows - 1}")
                for file, first, rows, base, columns in files)
            if name in self._copied:
                read = f"SELECT * FROM {self._copy(name)} UNION ALL BY NAME {read}"
            self.con.execute(f"CREATE VIEW {view} AS {read}")
        return view

    def _copy(self, name: str) -> str:
        return _q("t_" + name)

    def add_parquet(self, name: str, file: Path, columns: list[str], first: int, rows: int, base: int) -> None:
        """Rows ``first`` to ``first + rows`` of a Parquet ``file`` of table ``name`` hold, in ``columns``, the values
        the store is to check as they are written (row index of the first: ``base``): they are read from the file
        when asked, not copied. A column of the table that is not in ``columns`` is null on these rows."""
        known = self.columns.setdefault(name, [])
        known.extend(c for c in [*columns, ROW] if c not in known)
        if not rows:
            return
        files = self._files.setdefault(name, [])
        path, kept = str(file.resolve()), tuple(columns)
        if files and files[-1][0] == path and files[-1][4] == kept and files[-1][1] + files[-1][2] == first and \
                files[-1][3] + files[-1][2] == base:  # the next rows of the same file
            files[-1] = (path, files[-1][1], files[-1][2] + rows, files[-1][3], kept)
        else:
            files.append((path, first, rows, base, kept))

    def add(self, name: str, part: pa.Table, base: int) -> None:
        """Append a part of table ``name`` whose first row has index ``base``."""
        rows = pa.array(np.arange(base, base + part.num_rows, dtype=np.int64))
        part = part.append_column(ROW, rows)
        table = self._copy(name)
        self.con.register("_part", part)
        try:
            if name not in self._copied:
                self.con.execute(f"CREATE TABLE {table} AS SELECT * FROM _part")
                self._copied.add(name)
                self._copy_columns[name] = list(part.column_names)
                known = self.columns.setdefault(name, [])
                known.extend(c for c in part.column_names if c not in known)
                return
            for column in part.column_names:
                if column not in self._copy_columns[name]:
                    typ = self.con.execute(f"SELECT typeof({_q(column)}) FROM _part LIMIT 1").fetchall()
                    self.con.execute(f"ALTER TABLE {table} ADD COLUMN {_q(column)} {typ[0][0] if typ else 'VARCHAR'}")
                    self._copy_columns[name].append(column)
                    if column not in self.columns[name]:
                        self.columns[name].append(column)
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _part")
        finally:
            self.con.unregister("_part")

    def register(self, name: str, table: pa.Table) -> None:
        """A small table held in memory (the consortia), for references to it."""
        self.con.register("t_" + name, table)
        self.columns[name] = list(table.column_names)

    def has(self, name: str, *columns: str) -> bool:
        return name in self.columns and set(columns) <= set(self.columns[name])

    def _listed(self, sql: str, limit: int | None) -> tuple[int, list[tuple[object, ...]]]:
        """(number of rows of ``sql``, its first ``limit`` rows in order of its first column)."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _found AS {sql}")
        total = int(self.con.execute("SELECT count(*) FROM _found").fetchall()[0][0])
        if total == 0 or limit == 0:
            return total, []
        cut = "" if limit is None else f" LIMIT {int(limit)}"
        listed = self.con.execute(f"SELECT * FROM _found ORDER BY 1{cut}").fetchall()
        self.con.execute("DROP TABLE _found")
        return total, listed

    def duplicates(self, name: str, key: tuple[str, ...], limit: int | None) -> tuple[int, list[tuple[object, ...]]]:
        """Rows whose key (every part non-null) occurred on an earlier row: ``(row, key text, first row)``, with the
        key's parts joined by ``", "`` as text."""
        table = self._table(name)
        cols = ", ".join(_q(k) for k in key)
        valid = " AND ".join(f"{_q(k)} IS NOT NULL" for k in key)
        shown = " || ', ' || ".join(f"CAST({_q(k)} AS VARCHAR)" for k in key)
        sql = (f"WITH d AS (SELECT {cols} FROM {table} WHERE {valid} GROUP BY ALL HAVING count(*) > 1), "
               f"r AS (SELECT {ROW}, {cols}, min({ROW}) OVER (PARTITION BY {cols}) AS first "
               f"FROM {table} SEMI JOIN d USING ({cols})) "
               f"SELECT {ROW}, {shown} AS shown, first FROM r WHERE {ROW} > first")
        return self._listed(sql, limit)

    def missing(self, name: str, column: str, known: str, known_column: str, limit: int | None, *,
                sparse: bool = False) -> tuple[int, list[tuple[object, ...]]]:
        """Rows of ``name`` whose non-empty ``column`` is not a value of ``known_column`` of table ``known``:
        ``(row, value)``. ``sparse``: few rows hold a value and ``known`` is long (referrals to claims): the values
        given are looked for in ``known`` rather than ``known`` hashed."""
        if sparse:
            sql = (f"WITH r AS (SELECT {ROW}, {_q(column)} AS v FROM {self._table(name)} WHERE {_q(column)} <> ''), "
                   f"f AS (SELECT DISTINCT k.{_q(known_column)} AS v FROM {self._table(known)} k "
                   f"SEMI JOIN r ON k.{_q(known_column)} = r.v) "
                   f"SELECT r.{ROW}, r.v FROM r ANTI JOIN f USING (v)")
            return self._listed(sql, limit)
        sql = (f"SELECT t.{ROW}, t.{_q(column)} FROM {self._table(name)} t "
               f"WHERE t.{_q(column)} <> '' AND NOT EXISTS (SELECT 1 FROM {self._table(known)} k "
               f"WHERE k.{_q(known_column)} = t.{_q(column)})")
        return self._listed(sql, limit)

    def repeated(self, name: str, column: str, limit: int | None) -> tuple[int, list[tuple[object, ...]]]:
        """Rows whose non-empty ``column`` value occurred on an earlier row: ``(row,)``."""
        table = self._table(name)
        c = _q(column)
        sql = (f"WITH d AS (SELECT {c} FROM {table} WHERE {c} <> '' GROUP BY ALL HAVING count(*) > 1) "
               f"SELECT {ROW} FROM (SELECT {ROW}, min({ROW}) OVER (PARTITION BY {c}) AS first "
               f"FROM {table} SEMI JOIN d USING ({c})) WHERE {ROW} > first")
        return self._listed(sql, limit)
