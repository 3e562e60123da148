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
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.interop.nhsa.codes import CodeSystems
from yigongti.interop.nhsa.domain import ICD10_PATTERN, ListPart

__all__ = ["MEMORY_LIMIT", "MONEY_FIELDS", "Annotations", "Columnar", "Index", "Pair", "columnar_claims", "yuan_text"]

MEMORY_LIMIT = "256MB"

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


# ------------------------------------------------------------------------------------------- the columnar path

_AMOUNT = r"^[0-9]{1,14}(\.[0-9]{1,2})?$"
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$"
_HUNDRED = pa.scalar(Decimal(100), pa.decimal128(3, 0))
MONEY_FIELDS = ("medfee_sumamt", "inscp_scp_amt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


@dataclass(frozen=True)
class Columnar:
    """The records of a batch that the columnar path maps (``clean``: a numpy bool per row) and their claims'
    columns (text, the rows of ``clean`` only, in order), money in fen for the summary."""

    clean: np.ndarray
    columns: dict[str, pa.Array]
    total_cost: int
    nhsa_fund_paid: int


def _text(batch: pa.Table, name: str) -> pa.Array:
    if name not in batch.column_names:
        return pa.array([""] * batch.num_rows, pa.string())
    return pc.utf8_trim_whitespace(pc.fill_null(batch.column(name).combine_chunks(), ""))


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _fen(text: pa.Array, ok: pa.Array) -> pa.Array:
    dec = pc.cast(pc.if_else(ok, text, "0"), pa.decimal128(18, 2))
    return pc.cast(pc.multiply(dec, _HUNDRED), pa.int64())


def _date(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """ISO dates (with or without a time) -> (date32, well formed); other forms are left to the row path."""
    day = pc.utf8_slice_codeunits(text, 0, 10)
    parsed = pc.cast(pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
    same = pc.equal(pc.strftime(pc.cast(parsed, pa.timestamp("s")), format="%Y-%m-%d"), day)
    return parsed, pc.and_kleene(pc.match_substring_regex(text, _ISO_DATE), same)


def yuan_text(fen: pa.Array) -> pa.Array:
    """Int fen -> yuan text with two decimals (``1230`` -> ``12.30``), as the row path writes it."""
    whole = pc.cast(pc.divide(fen, 100), pa.string())
    cents = pc.utf8_lpad(pc.cast(pc.subtract(fen, pc.multiply(pc.divide(fen, 100), 100)), pa.string()),
                         width=2, padding="0")
    return pc.binary_join_element_wise(whole, cents, ".")


def columnar_claims(batch: pa.Table, *, codes: CodeSystems, setl_id: pa.Array, infno: pa.Array, row_path: np.ndarray,
                    person_id: pa.Array, id_number: pa.Array, id_ok: pa.Array, insurance: pa.Array,
                    inst_id: pa.Array) -> Columnar:
    """The columnar path of the mapping (列式映射): the records that :func:`domain.map_settlement` would turn into a
    claim without a note, mapped over the whole batch at once. A record is left to the row path (``clean`` False)
    at the first doubt: any cell the checks below do not read as plainly well formed, any refusal, any note (a
    record that does not balance, an insurance that differs from the registry's), a settlement list or a
    cancellation (``row_path``); so every refusal and note keeps the row path's reason, and the claims are the same
    (the import's tests run both paths on the same files and compare them).

    ``person_id``, ``id_number``, ``id_ok`` (the registry's id_number is well formed), ``insurance``: the registry's
    person of each record (null: none); ``inst_id``: the registry's institution (null: none)."""
    n = batch.num_rows
    ok = ~row_path & _np(pc.is_in(infno, value_set=pa.array(
        [c for c, e in codes.infno.items() if e.get("kind") == "settles"], pa.string())))
    text = {name: _text(batch, name) for name in ("psn_no", "insutype", "med_type", "fixmedins_code", "begndate",
                                                  "enddate", "brdy", "gend", "diag_code", "certno",
                                                  "psn_cert_type", "insuplc_admdvs", "mdtrtarea_admdvs",
                                                  *MONEY_FIELDS)}
    for name in ("psn_no", "insutype", "med_type", "fixmedins_code", "begndate", *MONEY_FIELDS):
        ok &= _np(pc.not_equal(text[name], ""))
    ok &= _np(pc.and_kleene(pc.not_equal(setl_id, ""), pc.invert(pc.match_substring_regex(setl_id, r"[\s,;]"))))
    fen: dict[str, pa.Array] = {}
    for name in MONEY_FIELDS:
        good = pc.match_substring_regex(text[name], _AMOUNT)
        ok &= _np(good)
        fen[name] = _fen(text[name], good)
    admit, good = _date(text["begndate"])
    ok &= _np(good)
    end, good_end = _date(text["enddate"])
    ok &= _np(pc.or_kleene(pc.equal(text["enddate"], ""), good_end))
    brdy, good_brdy = _date(text["brdy"])
    ok &= _np(pc.or_kleene(pc.equal(text["brdy"], ""), good_brdy))
    setting = pc.fill_null(pc.take(pa.array([e.get("setting") for e in codes.med_type.values()], pa.string()),
                                   pc.index_in(text["med_type"], value_set=pa.array(list(codes.med_type)))), "")
    ok &= _np(pc.not_equal(setting, ""))
    emergency = pc.is_in(text["med_type"], value_set=pa.array(
        [c for c, e in codes.med_type.items() if e.get("emergency")] or [""], pa.string()))
    insured = pc.fill_null(pc.take(pa.array([e.get("insurance") for e in codes.insutype.values()], pa.string()),
                                   pc.index_in(text["insutype"], value_set=pa.array(list(codes.insutype)))), "")
    ok &= _np(pc.not_equal(insured, ""))
    sexes = pc.take(pa.array([e.get("sex") or "" for e in codes.gend.values()], pa.string()),
                    pc.index_in(text["gend"], value_set=pa.array(list(codes.gend))))
    ok &= _np(pc.or_kleene(pc.equal(text["gend"], ""), pc.is_valid(sexes)))
    icd10 = pc.and_kleene(pc.match_substring_regex(text["diag_code"], ICD10_PATTERN),
                          pc.is_in(pc.utf8_slice_codeunits(text["diag_code"], 0, 3),
                                   value_set=pa.array(sorted(codes.icd10_categories), pa.string())))
    ok &= _np(pc.or_kleene(pc.equal(text["diag_code"], ""), icd10))
    divisions = pa.array(list(codes.divisions), pa.string())
    for name in ("insuplc_admdvs", "mdtrtarea_admdvs"):
        ok &= _np(pc.or_kleene(pc.equal(text[name], ""), pc.is_in(text[name], value_set=divisions)))
    ok &= _np(pc.and_kleene(pc.is_valid(inst_id), pc.is_valid(person_id)))
    # certno: empty, or the registry person's own well-formed number agreeing with brdy and gend
    cert = pc.utf8_upper(text["certno"])
    idn = pc.utf8_upper(pc.utf8_trim_whitespace(pc.fill_null(id_number, "")))
    born = pc.utf8_slice_codeunits(cert, 6, 14)
    brdy_digits = pc.replace_substring(pc.cast(brdy, pa.string()), "-", "")
    parity = pc.is_in(pc.utf8_slice_codeunits(cert, 16, 17), value_set=pa.array(list("13579")))
    sex_ok = pc.or_kleene(pc.equal(pc.fill_null(sexes, ""), ""),
                    pc.equal(parity, pc.equal(pc.fill_null(sexes, ""), "M")))
    same = pc.and_kleene(pc.is_in(text["psn_cert_type"], value_set=pa.array(["", "01"])), pc.equal(cert, idn))
    shaped = pc.and_kleene(pc.equal(pc.utf8_length(cert), 18), pc.fill_null(id_ok, False))
    agrees = pc.and_kleene(pc.or_kleene(pc.equal(text["brdy"], ""), pc.equal(born, brdy_digits)), sex_ok)
    cert_ok = pc.and_kleene(same, pc.and_kleene(shaped, agrees))
    ok &= _np(pc.or_kleene(pc.equal(cert, ""), cert_ok))
    total, covered = fen["medfee_sumamt"], fen["inscp_scp_amt"]
    ok &= _np(pc.less_equal(covered, total))
    inpatient = pc.equal(setting, "inpatient")
    ok &= _np(pc.or_kleene(pc.invert(inpatient), pc.and_kleene(pc.not_equal(text["enddate"], ""),
                                                   pc.greater_equal(pc.fill_null(end, admit), admit))))
    parts = pc.add(pc.add(fen["fund_pay_sumamt"], fen["acct_pay"]), fen["psn_cash_pay"])
    ok &= _np(pc.less_equal(pc.abs(pc.subtract(total, parts)), 1))
    person_ins = pc.fill_null(insurance, "")
    ok &= _np(pc.or_kleene(pc.equal(person_ins, ""), pc.equal(person_ins, insured)))
    keep = pa.array(ok)
    discharge = pc.if_else(inpatient, pc.fill_null(pc.cast(end, pa.string()), ""), "")
    columns = {
        "claim_id": setl_id, "person_id": person_id, "inst_id": inst_id, "setting": setting,
        "emergency": pc.if_else(emergency, "true", "false"), "admit_date": pc.cast(admit, pa.string()),
        "discharge_date": discharge, "total_cost": yuan_text(total), "covered_cost": yuan_text(covered),
        "diagnosis": text["diag_code"], "referral_from": pa.array([""] * n, pa.string()),
        "unreasonable": pa.array(["false"] * n, pa.string()), "nhsa_fund_paid": yuan_text(fen["fund_pay_sumamt"])}
    picked = {k: pc.filter(v, keep) for k, v in columns.items()}
    return Columnar(ok, picked, int(pc.sum(pc.filter(total, keep)).as_py() or 0),
                    int(pc.sum(pc.filter(fen["fund_pay_sumamt"], keep)).as_py() or 0))
