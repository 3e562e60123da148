"""The import's index on disk (导入索引): the keys of every record and settlement list in DuckDB, so that an import of
ten million records stays in bounded memory.

Pass 1 of the import adds each batch's keys (transaction, setl_id, person, institution, dates) and each settlement
list row; the index then finds what needs every record at once: settlement ids settled twice, cancellations and
their originals, two main diagnoses on one list, and the referrals (a list that transfers the patient, dscg_way
"refers", to a receiving institution, and the next admission of the same person there). Pass 2 reads the
annotations of each file in row order (:meth:`Index.annotations`), beside the file's batches. The database lives in
a temporary directory and is removed with it; DuckDB spills to that directory past its memory limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from yigongti.interop.nhsa.codes import CodeSystems
from yigongti.interop.nhsa.domain import ListPart

__all__ = ["MEMORY_LIMIT", "Annotations", "Index", "Pair"]

MEMORY_LIMIT = "512MB"

_DATE = "try_strptime(left(regexp_replace(trim({0}), '[-/]', '', 'g'), 8), '%Y%m%d')::DATE"


@dataclass(frozen=True)
class Pair:
    """A record and another it refers to (or repeats): ``(file, row)`` of each and the setl_id."""

    file: int
    row: int
    setl_id: str
    other_file: int | None
    other_row: int | None
    infno: str = ""
    other_infno: str = ""


def _col(batch: pa.Table, name: str) -> pa.Array:
    if name in batch.column_names:
        return batch.column(name).combine_chunks()
    return pa.array([""] * batch.num_rows, pa.string())


class Index:
    """The keys of one import (see the module)."""

    def __init__(self, directory: Path, codes: CodeSystems, *, memory_limit: str = MEMORY_LIMIT) -> None:
        self.con = duckdb.connect(str(directory / "index.duckdb"), config={
            "memory_limit": memory_limit, "threads": 2, "temp_directory": str(directory / "spill"),
            "preserve_insertion_order": False})
        self.codes = codes
        self.con.execute("""
            CREATE TABLE tx (infno VARCHAR, kind VARCHAR, cancels VARCHAR);
            CREATE TABLE rec (file INTEGER, row BIGINT, infno VARCHAR, cancel BOOLEAN, setl_id VARCHAR,
                              psn_no VARCHAR, fixmedins_code VARCHAR, begndate DATE, enddate DATE);
            CREATE TABLE setl (file INTEGER, row BIGINT, setl_id VARCHAR, adm_way VARCHAR, dscg_way VARCHAR,
                               acp VARCHAR);
            CREATE TABLE dise (file INTEGER, row BIGINT, setl_id VARCHAR, diag_code VARCHAR, main BOOLEAN);
            CREATE TABLE oprn (file INTEGER, row BIGINT, setl_id VARCHAR, code VARCHAR, main BOOLEAN);
            CREATE TABLE outcome (setl_id VARCHAR, outcome VARCHAR);
            CREATE TABLE reg_person (psn_no VARCHAR);
            CREATE TABLE reg_inst (code VARCHAR);
        """)
        self.con.executemany("INSERT INTO tx VALUES (?, ?, ?)",
                             [[c, e.get("kind"), e.get("cancels")] for c, e in codes.infno.items()])

    def close(self) -> None:
        self.con.close()

    def _insert(self, table: str, sql: str, data: pa.Table) -> None:
        self.con.register("_batch", data)
        try:
            self.con.execute(f"INSERT INTO {table} {sql}")
        finally:
            self.con.unregister("_batch")

    def add_registry(self, person_keys: pa.Array, institution_codes: list[str]) -> None:
        self._insert("reg_person", "SELECT k FROM _batch", pa.table({"k": person_keys}))
        self._insert("reg_inst", "SELECT k FROM _batch", pa.table({"k": pa.array(institution_codes, pa.string())}))

    def add_records(self, file: int, batch: pa.Table, infno: pa.Array, setl_id: pa.Array, row: pa.Array) -> None:
        """Pass 1: one batch of a records file (``infno`` and ``setl_id`` trimmed)."""
        data = pa.table({"row": row, "infno": infno, "setl_id": setl_id, "psn_no": _col(batch, "psn_no"),
                         "code": _col(batch, "fixmedins_code"), "b": _col(batch, "begndate"),
                         "e": _col(batch, "enddate")})
        self._insert("rec", f"""SELECT {file}, row, d.infno, coalesce(t.kind = 'cancels', false), setl_id,
            trim(psn_no), trim(code), {_DATE.format('b')}, {_DATE.format('e')}
            FROM _batch d LEFT JOIN tx t ON d.infno = t.infno""", data)

    def add_list(self, file: int, part: ListPart, batch: pa.Table) -> None:
        """Pass 1: rows of one part of a settlement list (checked already)."""
        cols = {n: _col(batch, n) for n in ("setl_id", "adm_way", "dscg_way", "acp_optins_code", "diag_code",
                                            "diag_type", "maindiag_flag", "oprn_oprt_code", "main_oprn_flag")}
        data = pa.table({"row": batch.column("_row").combine_chunks(), **cols})
        icd10 = [c for c, e in self.codes.diag_type.items() if e.get("icd10")]
        if part is ListPart.SETLINFO:
            self._insert("setl", f"""SELECT {file}, row, trim(setl_id), trim(adm_way), trim(dscg_way),
                trim(acp_optins_code) FROM _batch""", data)
        elif part is ListPart.DISEINFO:
            kinds = ", ".join(f"'{c}'" for c in icd10)
            self._insert("dise", f"""SELECT {file}, row, trim(setl_id), trim(diag_code),
                trim(maindiag_flag) = '1' AND coalesce(nullif(trim(diag_type), ''), '1') IN ({kinds})
                FROM _batch""", data)
        else:
            self._insert("oprn", f"""SELECT {file}, row, trim(setl_id), trim(oprn_oprt_code),
                trim(main_oprn_flag) = '1' FROM _batch""", data)

    def _pairs(self, sql: str, limit: int) -> list[Pair]:
        rows = self.con.execute(f"SELECT * FROM ({sql}) ORDER BY 1, 2 LIMIT {limit}").fetchall()
        return [Pair(*r) for r in rows]

    def repeated(self, table: str, where: str, limit: int) -> list[Pair]:
        """Rows whose setl_id an earlier row of ``table`` (filtered by ``where``) already has: (row, first row)."""
        return self._pairs(f"""
            WITH d AS (SELECT setl_id FROM {table} WHERE {where} AND setl_id <> '' GROUP BY setl_id
                       HAVING count(*) > 1)
            SELECT file, row, setl_id, ff, fr FROM (
                SELECT file, row, setl_id, first_value(file) OVER w AS ff, first_value(row) OVER w AS fr,
                       row_number() OVER w AS n
                FROM {table} WHERE {where} AND setl_id IN (SELECT setl_id FROM d)
                WINDOW w AS (PARTITION BY setl_id ORDER BY file, row))
            WHERE n > 1""", limit)

    def cancellations(self, limit: int) -> list[Pair]:
        """Each cancellation whose original is missing (other_file None) or of another transaction."""
        return self._pairs("""
            SELECT c.file, c.row, c.setl_id, s.file AS sf, s.row AS sr, c.infno, coalesce(s.infno, '') AS si FROM rec c
            JOIN tx t ON c.infno = t.infno
            LEFT JOIN rec s ON s.setl_id = c.setl_id AND NOT s.cancel
            WHERE c.cancel AND c.setl_id <> '' AND (s.file IS NULL OR (s.infno <> '' AND s.infno <> t.cancels))""",
                           limit)

    def main_diagnoses_repeated(self, limit: int) -> list[Pair]:
        return self.repeated("dise", "main", limit)

    def link(self) -> None:
        """Find what pass 2 needs (the ``ann`` table): cancellations, main diagnoses, operations, referrals."""
        refers = [c for c, e in self.codes.dscg_way.items() if e.get("refers")] or [""]
        referred = [c for c, e in self.codes.adm_way.items() if e.get("referred")] or [""]
        window = self.codes.referral_window_days
        self.con.execute(f"""
            CREATE TABLE gone AS SELECT s.setl_id, c.file AS cfile, c.row AS crow, c.infno AS cinfno,
                s.file AS sfile, s.row AS srow
            FROM rec c JOIN rec s ON c.setl_id = s.setl_id AND c.cancel AND NOT s.cancel;
            CREATE TABLE live AS SELECT r.* FROM rec r
            WHERE NOT r.cancel AND r.setl_id NOT IN (SELECT setl_id FROM gone);
            CREATE TABLE link AS
            WITH a AS (SELECT l.setl_id, l.psn_no, l.enddate, s.acp FROM live l JOIN setl s USING (setl_id)
                       WHERE s.dscg_way IN ({_in(refers)}) AND s.acp <> '' AND l.enddate IS NOT NULL
                         AND l.psn_no IN (SELECT psn_no FROM reg_person)
                         AND l.fixmedins_code IN (SELECT code FROM reg_inst)),
                 b AS (SELECT l.setl_id, l.psn_no, l.fixmedins_code, l.begndate, coalesce(s.adm_way, '') AS adm
                       FROM live l LEFT JOIN setl s USING (setl_id) WHERE l.begndate IS NOT NULL),
                 m AS (SELECT a.setl_id AS f, b.setl_id AS t, a.enddate AS ae,
                              row_number() OVER (PARTITION BY a.setl_id ORDER BY b.adm IN ({_in(referred)}) DESC,
                                                 b.begndate, b.setl_id) AS na
                       FROM a JOIN b ON a.psn_no = b.psn_no AND a.acp = b.fixmedins_code
                        AND b.begndate BETWEEN a.enddate AND a.enddate + INTERVAL {window} DAY
                        AND a.setl_id <> b.setl_id)
            SELECT f, t FROM (SELECT f, t, row_number() OVER (PARTITION BY t ORDER BY ae DESC, f DESC) AS nb
                              FROM m WHERE na = 1) WHERE nb = 1;
            CREATE TABLE ann AS
            WITH dg AS (SELECT setl_id, min(diag_code) FILTER (WHERE main) AS diag FROM dise GROUP BY setl_id),
                 op AS (SELECT setl_id, count(*) AS n, min(code) FILTER (WHERE main) AS mo FROM oprn
                        GROUP BY setl_id),
                 sl AS (SELECT setl_id, any_value(adm_way) AS adm_way, any_value(dscg_way) AS dscg_way,
                               any_value(acp) AS acp FROM setl GROUP BY setl_id)
            SELECT r.file, r.row, g.cinfno, g.cfile, g.crow, c.sfile, c.srow,
                   sl.setl_id IS NOT NULL OR dg.setl_id IS NOT NULL OR op.setl_id IS NOT NULL AS listed,
                   dg.diag, sl.adm_way, sl.dscg_way, sl.acp, lf.f AS referral_from, lt.t AS referred_to,
                   coalesce(op.n, 0) AS operations, op.mo AS main_operation
            FROM rec r
            LEFT JOIN gone g ON NOT r.cancel AND g.setl_id = r.setl_id
            LEFT JOIN gone c ON r.cancel AND c.setl_id = r.setl_id AND c.cfile = r.file AND c.crow = r.row
            LEFT JOIN dg ON NOT r.cancel AND dg.setl_id = r.setl_id
            LEFT JOIN op ON NOT r.cancel AND op.setl_id = r.setl_id
            LEFT JOIN sl ON NOT r.cancel AND sl.setl_id = r.setl_id
            LEFT JOIN link lf ON NOT r.cancel AND lf.t = r.setl_id
            LEFT JOIN link lt ON NOT r.cancel AND lt.f = r.setl_id
            WHERE g.setl_id IS NOT NULL OR c.setl_id IS NOT NULL OR sl.setl_id IS NOT NULL
               OR dg.setl_id IS NOT NULL OR op.setl_id IS NOT NULL;
        """)

    def annotations(self, file: int, *, rows: int = 1 << 16) -> Annotations:
        """The annotations of one records file, in row order (a stream; see :class:`Annotations`)."""
        cur = self.con.cursor()
        sql = f"SELECT * FROM ann WHERE file = {int(file)} ORDER BY row"
        reader: pa.RecordBatchReader = cur.sql(sql).to_arrow_reader(rows)
        return Annotations(cur, reader)

    def add_outcomes(self, setl_ids: list[str], outcomes: list[str]) -> None:
        """Pass 2: what became of each settlement (imported, refused), for the settlement lists' report rows."""
        if setl_ids:
            self._insert("outcome", "SELECT s, o FROM _batch", pa.table({"s": pa.array(setl_ids, pa.string()),
                                                                         "o": pa.array(outcomes, pa.string())}))

    def refused_referrers(self) -> pa.Array:
        """The settlements refused in pass 2 that a referral names (the referred claims keep no referral_from)."""
        table: pa.Table = self.con.sql("""SELECT DISTINCT link.f FROM link JOIN outcome o ON o.setl_id = link.f
                                              WHERE o.outcome <> 'imported'""").to_arrow_table()
        return table.column(0).combine_chunks()

    def list_rows(self, *, rows: int = 1 << 16) -> Iterator[pa.RecordBatch]:
        """Every settlement list row with the outcome of its settlement (None: no record settles it; ``cancelled``
        when a cancellation removed it), in file and row order, for the report."""
        cur = self.con.cursor()
        reader: pa.RecordBatchReader = cur.sql("""
            WITH l AS (SELECT file, row, setl_id, 'setlinfo' AS part FROM setl
                       UNION ALL SELECT file, row, setl_id, 'diseinfo' FROM dise
                       UNION ALL SELECT file, row, setl_id, 'oprninfo' FROM oprn),
                 o AS (SELECT setl_id, any_value(outcome) AS outcome FROM outcome GROUP BY setl_id),
                 g AS (SELECT DISTINCT setl_id FROM gone)
            SELECT l.file, l.row, l.setl_id, l.part,
                   CASE WHEN g.setl_id IS NOT NULL THEN 'cancelled' ELSE o.outcome END AS outcome
            FROM l LEFT JOIN o USING (setl_id) LEFT JOIN g USING (setl_id)
            ORDER BY l.file, l.row, l.part""").to_arrow_reader(rows)
        try:
            yield from reader
        finally:
            cur.close()


def _in(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class Annotations:
    """The annotations of one file as a stream in row order: :meth:`upto` hands those up to a row."""

    def __init__(self, cursor: Any, reader: pa.RecordBatchReader) -> None:
        self._cursor = cursor
        self._reader = reader
        self._pending: deque[dict[str, Any]] = deque()
        self._done = False

    def upto(self, last_row: int) -> dict[int, dict[str, Any]]:
        """The annotations of rows up to ``last_row`` not handed before, by row."""
        out: dict[int, dict[str, Any]] = {}
        while True:
            while self._pending and self._pending[0]["row"] <= last_row:
                rec = self._pending.popleft()
                out[rec["row"]] = rec
            if self._pending or self._done:
                return out
            try:
                self._pending = deque(self._reader.read_next_batch().to_pylist())
            except StopIteration:
                self._done = True

    def close(self) -> None:
        self._cursor.close()
