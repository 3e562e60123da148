"""Use case: adjudicate a year of claims (待遇结算) from a data folder.

``adjudicate_data`` takes a validated folder (``read_folder``) and returns the ``adjudicated`` table of the data
contract
(every claims column + network_status, deductible, fund_paid, patient_paid, rule; money int64 fen). For a province's
claims handed in as Parquet (``claims.parquet`` or a folder ``claims/`` of Parquet files), ``adjudicate_folder``
reads the claims with the engine directly, never as Python rows, and writes the output from the engine.

Designations for the year come from the folder's ``designations`` table when it has a row for the year for every
insured person; otherwise enrollment (``enroll_data``) designates everyone first.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yigongti.benefits.engine import (
    DESIGNATED_COLUMNS,
    OUTPUT_COLUMNS,
    RULE_NAMES,
    STATUS_NAMES,
    adjudicate,
    decoded,
)
from yigongti.core.engine import (
    Backend,
    arrow_batches,
    connect,
    partition_by_county,
    read_parquet,
    register_arrow,
    to_arrow,
)
from yigongti.core.policy import BenefitPolicy, Policy
from yigongti.core.problems import InvalidInput, Problem, errors
from yigongti.datafolder.folder import (
    DataFolder,
    engine_yuan,
    find_table_file,
    in_money_digits,
    parse_table,
    read_folder,
    read_raw_table,
    write_csv_engine,
    write_csv_parts,
    write_table,
)
from yigongti.datafolder.keystore import DEFAULT_MEMORY as CHECK_MEMORY
from yigongti.datafolder.keystore import MEMORY_ENV as CHECK_MEMORY_ENV
from yigongti.datafolder.partslook import PartsLook, look_at_parts
from yigongti.datafolder.schema import ADJUDICATED, CLAIMS, ColType, Column, TableSpec

__all__ = [
    "ADJUDICATED_COLUMNS",
    "adjudicated_for",
    "designations_of_every_year",
    "load_adjudicated",
    "settlement_inputs",
    "LARGE_INPUT_TABLES",
    "AdjudicationSummary",
    "adjudicate_data",
    "adjudicate_folder",
    "adjudicated_expr",
    "adjudicated_format",
    "adjudicated_once",
    "check_claims_files",
    "claims_look",
    "check_parquet_claims",
    "designations_for",
    "folder_designations",
    "parquet_claims",
    "parquet_claims_path",
    "parquet_files",
    "parquet_rows",
    "summarize",
    "write_adjudicated",
    "write_adjudicated_parquet",
    "write_adjudicated_stream",
    "write_spilled",
]

LARGE_INPUT_TABLES = ["institutions", "consortia", "persons", "choices", "designations"]
_MONEY = [c.name for c in ADJUDICATED.columns if c.type is ColType.MONEY]
_TRUE_TEXT = ["true", "1", "是", "t", "yes", "y"]


@dataclass(frozen=True)
class AdjudicationSummary:
    """What a run adjudicated: claims, fund and patient payments (fen), and claims / fund by network status."""

    year: int
    claims: int
    fund_paid: int
    patient_paid: int
    by_status: dict[str, tuple[int, int]] = field(default_factory=dict)  # status -> (claims, fund fen)
    by_rule: dict[str, int] = field(default_factory=dict)


def _benefits(policy: Policy | BenefitPolicy) -> BenefitPolicy:
    return policy.benefits if isinstance(policy, Policy) else policy


def folder_designations(data: DataFolder, year: int) -> pa.Table | None:
    """The folder's designations of ``year`` when they designate every insured person, else None (then enrollment
    decides the year). The one rule enroll-or-not that adjudicate, settle and run share."""
    have = data.get("designations")
    if have is None:
        return None
    mine = have.filter(pc.equal(have.column("year"), year))
    persons = data["persons"].column("person_id")
    covered = pc.all(pc.is_in(persons, value_set=mine.column("person_id").combine_chunks())).as_py()
    return mine if mine.num_rows and covered is not False else None


def designations_for(data: DataFolder, year: int, policy: Policy | BenefitPolicy, *,
                     enrolled: pa.Table | None = None, backend: str = "duckdb") -> pa.Table:
    """All designations the engine may use: the folder's (every year) with the year's rows from enrollment when the
    folder does not designate every insured person for the year (``enrolled``: that enrollment's designations when
    the caller has them already). Every year's rows, not only the year's: a referring admission of an earlier year
    is classified with the designation of its own year (连续计算起付线). The one rule adjudicate,
    appraise, settle and run share."""
    have = data.get("designations")
    if have is not None and folder_designations(data, year) is not None:
        return have.select(["person_id", "year", "consortium_id", "township_id", "village_id"])
    if enrolled is None:
        from yigongti.enrollment.service import enroll_data

        full = policy if isinstance(policy, Policy) else Policy(benefits=policy)
        enrolled = enroll_data(data, year, full, backend=backend).designations
    cols = ["person_id", "year", "consortium_id", "township_id", "village_id"]
    parts = [enrolled.select(cols).cast(pa.schema([(c, pa.int64() if c == "year" else pa.string()) for c in cols]))]
    if have is not None:
        others = have.filter(pc.not_equal(have.column("year"), year)).select(cols)
        parts.insert(0, others.cast(parts[-1].schema))
    return pa.concat_tables(parts)


def _registered(con: Backend, data: DataFolder, designations: pa.Table, *, in_place: bool = False,
                ) -> dict[str, ir.Table]:
    """persons, institutions and designations for the engine (``register_arrow``); ``in_place``: on DuckDB read
    where they are (:func:`_engine_table`, no copy: an adjudication in memory reads each of them once or twice, and
    copying them into DuckDB cost more than reading them, 0.5 CPU s of a simulator batch's 10)."""
    partition_by_county(con, data["persons"])  # Spark: claims and designations spread by the person's county
    put = _engine_table if in_place else register_arrow
    return {
        "persons": put(con, data["persons"].select(["person_id", "insurance"]), "adj_persons"),
        "institutions": put(con, data["institutions"].select(["inst_id", "tier", "level", "consortium_id"]),
                            "adj_institutions"),
        "designations": put(con, designations.select(
            ["person_id", "year", "consortium_id", "township_id", "village_id"]), "adj_designations"),
    }


def _engine_table(con: Backend, table: pa.Table, name: str) -> ir.Table:
    """The claims in memory for the adjudication: on DuckDB read where they are (a view of the Arrow table, no copy:
    the passes read the claims a few times each, and copying them into DuckDB cost more than reading them from Arrow);
    on Spark registered as every table is (``register_arrow``: partitioned by county). The caller keeps ``table``
    alive while the engine reads it."""
    if con.name != "duckdb":
        return register_arrow(con, table, name)
    con.con.register(name, table)
    return con.table(name)


def adjudicate_data(data: DataFolder, year: int, policy: Policy | BenefitPolicy, designations: pa.Table | None = None,
                    *, backend: str = "duckdb", con: Backend | None = None) -> pa.Table:
    """The ``adjudicated`` table for ``year`` (claims by admit_date in the year), ordered by claim_id."""
    benefits = _benefits(policy)
    des = designations if designations is not None else designations_for(data, year, policy, backend=backend)
    claims = data.get("claims")
    if claims is None:
        claims = pa.table({c.name: pa.array([], _arrow_type(c.type)) for c in CLAIMS.columns})
    own = con is None
    con = con or connect(backend, joins_as_written=True)
    try:
        t = _registered(con, data, des, in_place=True)
        # the engine decides each claim and hands back its row number with the decision only: the claims' own
        # columns are taken from ``claims`` here, in claim_id order (the engine's sort and result of every column
        # were most of its main pass's time)
        numbered = _numbered(claims)
        table = _engine_table(con, numbered, "adj_claims")
        # the passes that read the year's claims alone read them alone (the simulator's claims hold last year's
        # too, as batches of their own: kept without a copy)
        year_claims = _rows_kept(numbered, _of_year(numbered, year))
        this = _engine_table(con, year_claims, "adj_year_claims")
        schema = table.schema().to_pyarrow()
        # the year's claims classified once into a table for the engine's passes (they are in memory already)
        expr = adjudicate(table, t["persons"], t["institutions"], t["designations"], benefits, year, ordered=False,
                          columns=[_ROW], coded=True, year_claims=this, classified=_CLASSIFIED, row_number=_ROW,
                          rows_in_id_order=_rising(year_claims.column("claim_id")))
        # in no particular order: _with_claims puts the decisions in the claims' order by their row numbers (a
        # take in Arrow; the engine's ORDER BY of the decisions cost 1 CPU s of a simulator batch's 10)
        decided = to_arrow(expr)
    finally:
        if con.name == "duckdb":
            con.raw_sql(f'DROP TABLE IF EXISTS "{_CLASSIFIED}"')
        if own and con.name != "pyspark":
            con.disconnect()
    return _typed(_named(_with_claims(claims, decided, schema)))


_ROW = "_adj_row"  # a claim's row number in the claims handed to the engine
_CLASSIFIED = "_adj_classified"  # the engine's temporary table of the year's claims classified


def _numbered(claims: pa.Table) -> pa.Table:
    """``claims`` + :data:`_ROW`, their row numbers (chunked as the claims are: the engine reads them batch by
    batch)."""
    start, chunks = 0, []
    for n in [len(c) for c in claims.column(0).chunks] if claims.num_columns else []:
        chunks.append(pa.array(np.arange(start, start + n, dtype=np.int64)))
        start += n
    rows = pa.chunked_array(chunks, pa.int64()) if start == claims.num_rows else pa.array(
        np.arange(claims.num_rows, dtype=np.int64))
    return claims.append_column(_ROW, rows)


def _rising(ids: pa.ChunkedArray) -> bool:
    """Whether ``ids`` rise strictly, no null among them (then the claims' row numbers are in the order of their
    ids)."""
    if ids.null_count:
        return False
    return len(ids) < 2 or bool(pc.all(pc.less(ids[:-1], ids[1:])).as_py())


def _of_year(claims: pa.Table, year: int) -> np.ndarray:
    """Booleans, one per claim: admitted in ``year`` (a null admit_date is not)."""
    dates = claims.column("admit_date")
    within = pc.and_(pc.greater_equal(dates, pa.scalar(date(year, 1, 1))),
                     pc.less_equal(dates, pa.scalar(date(year, 12, 31))))
    return np.asarray(pc.fill_null(within, False).to_numpy(zero_copy_only=False), dtype=bool)


def _with_claims(claims: pa.Table, decided: pa.Table, schema: pa.Schema) -> pa.Table:
    """The claims of ``decided`` (rows numbered :data:`_ROW` in ``claims``, each once) with their columns of
    ``claims`` (typed as the engine types them, ``schema``) first, then the decision; ordered by claim_id, the
    claims of the same claim_id in the order of ``claims``."""
    rows = np.asarray(decided.column(_ROW).to_numpy(zero_copy_only=False), dtype=np.int64)
    at = np.full(claims.num_rows, -1, dtype=np.int64)
    at[rows] = np.arange(len(rows), dtype=np.int64)
    order = at[at >= 0]  # the decided claims in the order of ``claims``
    if len(order) != len(rows):
        raise AssertionError("the adjudication handed back a claim twice")
    picked = _rows_kept(claims, at >= 0)  # the decided claims in the order of ``claims``
    ids = picked.column("claim_id")
    if ids.null_count or (len(ids) > 1 and not pc.all(pc.less_equal(ids[:-1], ids[1:])).as_py()):  # usually sorted
        by_id = pc.sort_indices(ids)  # stable: the claims of the same claim_id in the order of ``claims``
        order, picked = order[np.asarray(by_id.to_numpy(), dtype=np.int64)], picked.take(by_id)
    cols = {name: picked.column(name).cast(schema.field(name).type) for name in claims.column_names}
    in_place = bool(np.all(order[1:] > order[:-1])) if len(order) > 1 else True
    out = decided if in_place else decided.take(pa.array(order))  # in place: decided ordered by row number
    cols.update({name: out.column(name) for name in out.column_names if name != _ROW})
    return pa.table(cols)


def _named(table: pa.Table) -> pa.Table:
    """``table`` with network_status and rule named (from their codes: ``adjudicate(..., coded=True)``)."""
    for column, names in (("network_status", STATUS_NAMES), ("rule", RULE_NAMES)):
        at = table.column_names.index(column)
        codes = table.column(at).combine_chunks()
        table = table.set_column(at, column, pa.array(names, pa.string()).take(codes))
    return table


def _rows_kept(table: pa.Table, keep: np.ndarray) -> pa.Table:
    """The rows of ``table`` where ``keep`` (booleans, one per row), in order: batch by batch, a batch kept whole or
    dropped whole without a copy (the simulator's claims come as batches of one year each: filtering them all copied
    every column of this year's claims, 0.4 CPU s of a batch of 25 replicates)."""
    batches, start = [], 0
    for batch in table.to_batches():
        mask = keep[start:start + batch.num_rows]
        start += batch.num_rows
        if mask.all():
            batches.append(batch)
        elif mask.any():
            batches.append(batch.filter(pa.array(mask)))
    return pa.Table.from_batches(batches, table.schema)


def _arrow_type(t: ColType) -> pa.DataType:
    return {ColType.MONEY: pa.int64(), ColType.DATE: pa.date32(), ColType.BOOL: pa.bool_()}.get(t, pa.string())


def _typed(out: pa.Table) -> pa.Table:
    """Money int64, dates date32 (Spark hands back timestamps or objects for some columns)."""
    cols = {}
    for name in out.column_names:
        col = out.column(name)
        if name in _MONEY:
            col = pc.cast(col, pa.int64())
        elif name in ("admit_date", "discharge_date") and not pa.types.is_date32(col.type):
            col = pc.cast(col, pa.date32())
        cols[name] = col
    return pa.table(cols)


def summarize(adjudicated: pa.Table, year: int) -> AdjudicationSummary:
    """Counts and sums of an adjudicated table (Arrow compute, no Python loop over claims)."""
    fund = adjudicated.column("fund_paid")
    by_status: dict[str, tuple[int, int]] = {}
    if adjudicated.num_rows:
        g = adjudicated.group_by("network_status").aggregate([("fund_paid", "sum"), ("fund_paid", "count")])
        for r in g.to_pylist():
            by_status[r["network_status"]] = (int(r["fund_paid_count"]), int(r["fund_paid_sum"] or 0))
    rules = pc.value_counts(adjudicated.column("rule")).to_pylist() if adjudicated.num_rows else []
    return AdjudicationSummary(year, adjudicated.num_rows, int(pc.sum(fund).as_py() or 0),
                               int(pc.sum(adjudicated.column("patient_paid")).as_py() or 0),
                               dict(sorted(by_status.items())),
                               dict(sorted((r["values"], int(r["counts"])) for r in rules)))


# --------------------------------------------------------------------------------------------- large Parquet claims

def _parquet_claims(con: Backend, path: Path, *, persons: ir.Table | None = None,
                    institutions: ir.Table | None = None, check: bool = True, trim: bool = True) -> ir.Table:
    """Claims from Parquet read by the engine, typed like the contract: money in yuan in the file (decimal, integer,
    float or text, as in CSV) becomes int64 fen; dates, booleans. Validated first (:func:`check_parquet_claims`,
    with the references to ``persons`` and ``institutions`` when given): raises InvalidInput on bad claims; the
    check also tells whether any text cell is padded, and only then are the text cells trimmed.
    ``check=False``: not validated again (the caller's other read of the same files was); ``trim``: what that
    check said of the padding (:func:`check_claims_files`' answer; when unknown, True: trimming is always right,
    only slower)."""
    t, padded = _read_claims(con, path, persons=persons, institutions=institutions, check=check)
    trim = padded if check else trim
    schema = t.schema()
    fixes: dict[str, Any] = {}
    for col in CLAIMS.columns:
        name = col.name
        if name not in schema:
            fixes[name] = (ibis.literal(False) if col.type is ColType.BOOL else ibis.null(
                "date" if col.type is ColType.DATE else "string"))
            continue
        dtype = schema[name]
        v = t[name]
        if dtype.is_string() and trim:
            # trimmed, as the Arrow reader of the in-memory path trims every text cell (Unicode spaces too), and as
            # the check judged them: a padded id, code or date that passed it must match, compare and cast like the
            # plain one. Only when the check found a padded cell: trimming six text columns costs every read of
            # the claims a fifth of its time, and files without padding (nearly all) need none.
            v = v.re_replace(_EDGE_SPACES, "")
            if col.type in (ColType.STR, ColType.ID, ColType.ID_NUMBER, ColType.ENUM):
                fixes[name] = v
        if col.type is ColType.MONEY and dtype.is_integer():
            fixes[name] = v.cast("int64") * 100
        elif col.type is ColType.MONEY:
            if dtype.is_string():
                v = v.nullif("").cast("decimal(18, 2)")
            fixes[name] = (v * 100).round().cast("int64")
        elif col.type is ColType.DATE and dtype.is_string():
            fixes[name] = v.nullif("").cast("date")
        elif col.type is ColType.DATE and dtype.is_timestamp():
            fixes[name] = v.date()
        elif col.type is ColType.BOOL and dtype.is_string():
            fixes[name] = v.lower().isin(_TRUE_TEXT).fill_null(False)  # an empty cell is false, as in CSV
        elif col.type is ColType.BOOL:
            fixes[name] = v.fill_null(False)
    typed = t.mutate(**fixes) if fixes else t
    # in the contract's order, the extra columns after it, as the in-memory reader gives them (``parse_table``): an
    # optional column the file lacks, or columns in another order, must not move adjudicated.csv's columns
    order = [*CLAIMS.names, *[n for n in typed.columns if n not in CLAIMS.names]]
    return typed if list(typed.columns) == order else typed.select(*order)


def _read_claims(con: Backend, path: Path, *, persons: ir.Table | None = None,
                 institutions: ir.Table | None = None, check: bool = True,
                 look: PartsLook | None = None) -> tuple[ir.Table, bool]:
    """The Parquet claims at ``path`` as the engine reads them (untyped) and, when ``check``, validated
    (:func:`check_parquet_claims`, with the first ``look`` at the files when taken already): with whether a text
    cell is padded (True when not checked: unknown)."""
    source = str(path / "*.parquet") if path.is_dir() else str(path)
    if con.name == "pyspark":
        _refuse_hidden_parts(path)
    try:
        t = read_parquet(con, source)  # on Spark: read by the executors, spread by the person's county
        padded = (check_parquet_claims(t, path, persons=persons, institutions=institutions, look=look) if check
                  else True)
    except InvalidInput:
        raise
    except Exception:  # an unreadable file or part: the Arrow check names it (InvalidInput), else the error stands
        _raise_claims_problems(path, refs=persons is not None)
        raise
    return t, padded


def _refuse_hidden_parts(path: Path) -> None:
    """Raise InvalidInput naming each part of a Parquet folder that Spark would skip without a word: a file whose
    name begins with ``_`` or ``.`` is hidden to Hadoop's listing (even when named), where ``check`` and DuckDB
    read it."""
    hidden = [f for f in parquet_files(path) if f.name.startswith(("_", "."))] if path.is_dir() else []
    if hidden:
        raise InvalidInput([Problem(f"{path.name}/{f.name}", 0, "", "Spark skips a file whose name begins with _ or "
                                    ". (hidden to Hadoop): rename it, or run on DuckDB / Spark 不读取以 _ 或 . 开头"
                                    "的文件：请改名，或用 DuckDB 运行") for f in hidden])


_C0_TEXT = "[\\x00-\\x08\\x0a-\\x1f\\x7f]"  # control characters refused in text (tab allowed), as in check
_MONEY_TEXT = r"^-?[0-9]+(\.[0-9]{1,2})?$"
_DATE_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ID_BAD = r"[\s,;]"
_WIDE_SPACE = "[\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]"
_WIDE_EDGE = f"^{_WIDE_SPACE}|{_WIDE_SPACE}$"  # trimmed by the Arrow check, not by the engine: let Arrow judge
# What the Arrow reader trims off a text cell (Unicode White_Space: the ASCII ones and the wide ones), for the engine's
# trim of padded claims (Ibis's strip() trims the ASCII ones only: a full-width space would stay)
_EDGE_SPACES = f"^[\\t-\\r\\x{{1c}}-\\x{{20}}{_WIDE_SPACE[1:-1]}]+|[\\t-\\r\\x{{1c}}-\\x{{20}}{_WIDE_SPACE[1:-1]}]+$"
# Any character one of the text checks above could object to (or that a trim would remove): a text without any is
# fine under all of them, so the trims and the three patterns run only on the few values that have one (a cheap
# first look, not a looser check: the full checks still judge every value it picks out)
_SUSPECT_TEXT = "[\\x00-\\x20\\x7f,;" + _WIDE_SPACE[1:]


def _plain(values: tuple[str, ...]) -> bool:
    """Whether every allowed value passes the text checks as it is (non-empty, no character of _SUSPECT_TEXT): then a
    value found among them as written needs no other check."""
    wide = {0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000}
    return all(x and not any(ord(ch) <= 0x20 or ch in "\x7f,;" or ord(ch) in wide for ch in x) for x in values)


def _suspect(col: Column, v: ir.Value) -> ir.BooleanValue | None:
    """The first look of :func:`_column_checks` at a text column of an id, code or free text: whether a value is one
    the full checks must judge (empty, or with a character of _SUSPECT_TEXT; for an enum, not one of its values as
    written); null on a null value. A value it clears passes every check of the column as written, trimmed already.
    None for the other columns."""
    if col.type not in (ColType.STR, ColType.ID, ColType.ID_NUMBER, ColType.ENUM) or not v.type().is_string():
        return None
    if col.type is ColType.ENUM:
        other = ~v.isin(list(col.values))
        return other if _plain(col.values) else (v == "") | v.re_search(_SUSPECT_TEXT) | other
    return (v == "") | v.re_search(_SUSPECT_TEXT)


def _column_checks(col: Column, v: ir.Value) -> tuple[ir.BooleanValue | None, ir.Value | None,
                                                    ir.BooleanValue | None] | None:
    """The engine's version of ``datafolder.folder``'s check of one claims column: (bad, typed value for the checks
    across columns, padded: whether a text cell has a space to trim at an edge) or None when the column's Parquet
    type is one the engine does not judge (the Arrow check then decides, as ``yigongti check`` would)."""
    dtype = v.type()
    text = v.strip() if dtype.is_string() else None
    empty = v.isnull() if text is None else (v.isnull() | (text == ""))
    padded = None if text is None else (v != text)  # wide spaces at an edge are bad to the engine (Arrow judges)
    needs = col.required and col.default is None
    bad: ir.BooleanValue | None = empty if needs else None
    typed: ir.Value | None = None
    kind = col.type

    def more(b: ir.BooleanValue) -> None:
        nonlocal bad
        bad = b if bad is None else (bad | b)

    if kind in (ColType.STR, ColType.ID, ColType.ID_NUMBER, ColType.ENUM):
        if text is None:
            return None
        more(text.re_search(_C0_TEXT) | text.re_search(_WIDE_EDGE))
        if kind is ColType.ID:
            more(text.re_search(_ID_BAD))
        if kind is ColType.ENUM:
            more(~empty & ~text.isin(list(col.values)))
        typed = text
        assert bad is not None
        # the full checks on the values the first look picks out only (AND evaluates its right side on those rows)
        suspect = _suspect(col, v)
        assert suspect is not None
        bad = (v.isnull() | suspect) & bad
        padded = suspect & (v != text)  # a space is suspect: only those few values are trimmed to look
    elif kind is ColType.BOOL:
        if text is not None:
            more(~text.lower().isin(_TRUE_TEXT + ["false", "0", "否", "f", "no", "n", ""]) | text.re_search(_WIDE_EDGE))
        elif not dtype.is_boolean():
            return None
    elif kind is ColType.MONEY:
        if text is not None:
            more(~empty & ~text.re_search(_MONEY_TEXT))
            typed = text.try_cast("decimal(18, 2)")
        elif dtype.is_integer() or (dtype.is_decimal() and (dtype.scale or 0) <= 2):
            typed = v
        elif dtype.is_floating():
            x = v.cast("float64")
            small = ibis.ifelse(x.abs() < 1e14, x, 0.0)  # Ibis rounds through BIGINT: no overflow on the way
            fine = ~x.isnan() & ~x.isinf() & (x.abs() < 1e14) & (((small * 100).round() / 100) == x)
            more(v.notnull() & ~fine)
            typed = x
        else:
            return None
        if col.min_value is not None:
            more(typed < col.min_value)
        if col.max_value is not None:
            more(typed > col.max_value)
    elif kind is ColType.DATE:
        if text is not None:
            typed = text.try_cast("date")
            more(~empty & (~text.re_search(_DATE_TEXT) | typed.isnull()))
        elif dtype.is_date():
            typed = v
        else:
            return None
    else:
        return None
    return bad, typed, padded


def check_parquet_claims(t: ir.Table, path: Path, *, persons: ir.Table | None = None,
                         institutions: ir.Table | None = None, look: PartsLook | None = None) -> bool:
    """Validate Parquet claims (结算清单校验) at the engine's speed before anything uses them: one scan counts the
    bad values of every column (types, values, the checks across a row's columns, references to ``persons`` and
    ``institutions``). Only when it finds some (or a column's Parquet type is one it does not judge) are the claims
    checked by ``datafolder.folder.scan_folder``, part by part, for the ``file:row:column: message`` of every problem
    that ``yigongti check`` would report: its verdict decides. Raises InvalidInput; on valid claims returns
    whether any text cell is padded (a space at an edge, which readers of the claims must trim: see
    :func:`_parquet_claims`); True when the engine's scan could not tell. ``look``: the first look at the files
    (:func:`claims_look`, with references to both ``persons`` and ``institutions``) when taken already (by another
    thread, while the persons were checked), else it is taken here."""
    # a first scan looks the references up as written; only when it finds a bad row are they trimmed and looked up
    # again, in a second scan (a lookup of every trimmed id costs the scan a quarter of its time, on claims whose ids
    # all match as written)
    # on Spark the first scan looks the trimmed ids up already (as_written is DuckDB's): no second scan there
    exact = t.get_backend().name == "pyspark"
    padded: bool | None = None  # whether a text cell is padded, once the engine's scans find the claims valid
    parts = None
    if not exact:
        # on DuckDB a first look before them: when no claim has a text cell to judge further (nor any other
        # problem), the claims are valid and none is padded, at one regular expression a text cell (the full scan
        # evaluates each twice: for its verdict and for the padding). The text columns that are no reference are
        # looked at from the files first (their bytes, a few comparisons each: no regular expression for the
        # columns found plain), with whether the claim ids are unique by their order and the referrals name claims
        refs = [r for r, k in (("person_id", persons), ("inst_id", institutions)) if k is not None]
        parts = look if look is not None and refs == list(_REFERENCES) else _look_at_claims(path, t, refs=refs)
        look = bad_claims_count(t, persons=persons, institutions=institutions, as_written=True, first_look=True,
                                plain=parts.plain)
        seen = look.to_pyarrow().to_pylist()[0] if look is not None else None
        if seen is not None and not seen["n"] and not seen["padded"]:  # (a date or amount padded as text: padded)
            padded = False
    if padded is None:
        first = bad_claims_count(t, persons=persons, institutions=institutions, as_written=True)
        row = first.to_pyarrow().to_pylist()[0] if first is not None else None
        if row is not None and (not row["n"] or (not exact and not _fails(
                bad_claims_count(t, persons=persons, institutions=institutions)))):
            padded = bool(row["padded"])
    # (what the first look showed holds of the ids as written: of claims that need no trim)
    shown = parts if parts is not None and padded is False else None
    if (padded is not None
            and ((shown is not None and shown.unique) or not _repeated_claim_ids(t, trim=padded))
            and ((shown is not None and shown.referenced) or not _unknown_referrals(t, trim=padded))):
        return padded
    # the Arrow check has the last word (the engine is stricter where the two differ: unicode spaces, say); the
    # padding is then unknown: trim
    _raise_claims_problems(path, refs=persons is not None)
    return True


_LOOKED_AT = (ColType.ID, ColType.STR, ColType.ID_NUMBER)
_REFERENCES = ("person_id", "inst_id")  # the claims' references to the persons and institutions


def _look_at_claims(path: Path, t: ir.Table | None, *, refs: Sequence[str]) -> PartsLook:
    """The first look at the claims files (``datafolder.partslook``): their text columns but the references (looked up
    as written among known ids instead), the claim ids' order and the referrals. Nothing shown when the engine does
    not read the text columns as text. Without ``t`` (the engine's table of the files, not read yet) every such
    column of the contract is looked at: the look itself shows nothing of a column that is not text in every file
    (not plain; a key not text: not unique), nor of one no file has, as the engine's schema would have left it
    out (a column text in every file is text to the engine)."""
    schema = t.schema() if t is not None else None
    columns = [c for c in CLAIMS.columns if c.type in _LOOKED_AT and c.name not in refs
               and (schema is None or (c.name in schema and schema[c.name].is_string()))]
    key = CLAIMS.key[0]
    return look_at_parts(parquet_files(path), [c.name for c in columns],
                         required=[c.name for c in columns if c.required and c.default is None],
                         key=key if any(c.name == key for c in columns) else None, reference="referral_from")


def _repeated_claim_ids(t: ir.Table, *, trim: bool) -> bool:
    """Whether a claim id occurs twice (the key of the claims, unique in the contract: a repeated claim would be
    paid twice), the ids trimmed as the readers trim them when ``trim``; executed here (one more scan, of one
    column). On DuckDB the ids' 64-bit hashes are counted first: as many distinct hashes as claims means as many
    distinct ids (two equal ids hash alike), and a set of integers costs a fraction of a set of texts (a province's
    140 M ids: gigabytes); only when two hashes meet (equal ids, or a collision) are the ids themselves counted."""
    ids = t["claim_id"].re_replace(_EDGE_SPACES, "") if trim else t["claim_id"]
    if t.get_backend().name == "duckdb":
        row = t.aggregate(rows=t.count(), given=ids.count(), ids=ids.hash().nunique()).to_pyarrow().to_pylist()[0]
        if int(row["rows"]) == int(row["given"]) == int(row["ids"]):  # (a null id hashes too: counted apart)
            return False
    row = t.aggregate(rows=t.count(), ids=ids.nunique()).to_pyarrow().to_pylist()[0]
    return int(row["rows"]) != int(row["ids"])


def _unknown_referrals(t: ir.Table, *, trim: bool) -> bool:
    """Whether a ``referral_from`` names no claim of ``t`` (the in-memory check refuses it: unknown referring claim;
    the engine's scan did not look, so a streamed ``run`` passed what ``check`` refused): the distinct referring ids
    (few) that no claim id matches, trimmed when ``trim``, counted in one query (an anti-join). False when the
    columns are not text (the Arrow check judges them)."""
    if "referral_from" not in t.columns or not (t["referral_from"].type().is_string()
                                                and t["claim_id"].type().is_string()):
        return False
    ref = t["referral_from"].re_replace(_EDGE_SPACES, "") if trim else t["referral_from"]
    ids = t.select(_id=t["claim_id"].re_replace(_EDGE_SPACES, "") if trim else t["claim_id"])
    refs = t.filter(ref.notnull() & (ref != "")).select(_ref=ref).distinct()
    # the claim ids that some claim refers to, by a semi-join whose hash table is the few referring ids (the right
    # side: the check's connection builds joins as written): an anti-join of the referring ids with the claims' would
    # build one of every claim id (a province's 10 M: a third of the check's time). Every referring id names a claim
    # when as many distinct claim ids are referred to as there are referring ids.
    named = ids.semi_join(refs, ids["_id"] == refs["_ref"])
    counts = refs.aggregate(refs=refs.count()).cross_join(named.aggregate(named=named["_id"].nunique()))
    row = counts.to_pyarrow().to_pylist()[0]  # one query
    return int(row["refs"]) > int(row["named"])


def _fails(bad: ir.Table | None) -> bool:
    """Whether the count of :func:`bad_claims_count` is above zero (it is executed here)."""
    return bad is not None and bool(int(bad.to_pyarrow().column("n")[0].as_py() or 0))


def bad_claims_count(t: ir.Table, *, persons: ir.Table | None = None, institutions: ir.Table | None = None,
                     as_written: bool = False, first_look: bool = False,
                     plain: frozenset[str] = frozenset()) -> ir.Table | None:
    """The engine's check of :func:`check_parquet_claims`, not executed: one row, ``n`` the claims that fail a check
    (one aggregate), and ``padded`` the claims with a text cell to trim; None when a column's type is one it does
    not judge or there is nothing to check. With
    ``as_written`` (DuckDB) a reference counts as unknown when not found as written, without the trimmed lookup: a
    quick first pass that may only over-count. With ``first_look`` a text cell of an id, code or free text counts as
    bad as soon as the first look (:func:`_suspect`) picks it out, without its full checks: a pass that may only
    over-count too, whose ``padded`` is 0 (a padded cell is one the first look picks out). ``plain`` (with
    ``first_look``): text columns whose every value given passes every text check as written (a required one: no
    null either), as :func:`datafolder.partslook.look_at_parts` showed from the files: not looked at again."""
    refs = {ref: known for ref, known in (("inst_id", institutions), ("person_id", persons)) if known is not None}
    spark = t.get_backend().name == "pyspark"
    if spark:
        t = _with_known_refs(t, refs)
    else:
        # whether a reference is found as written among the known ids, looked up once for the text checks and the
        # unknown-reference check: a known id is a checked one (not empty, trimmed, no space, comma, semicolon or
        # control character), so a reference found as written passes every text check, and they run (regular
        # expressions, at about 0.1 µs a cell) on the others only
        marks = {f"_found_{ref}": t[ref].isin(known[ref]).fill_null(False) for ref, known in refs.items()
                 if ref in t.columns and t[ref].type().is_string()}
        if marks:
            t = t.mutate(**marks)
    schema = t.schema()
    checks: dict[str, ir.BooleanValue] = {}
    typed: dict[str, ir.Value] = {}
    pads: list[ir.BooleanValue] = []
    judged = True
    for col in CLAIMS.columns:
        if col.name not in schema:
            judged = judged and not (col.required and col.default is None)
            continue
        found = _column_checks(col, t[col.name])
        if found is None:
            judged = False
            continue
        bad, value, padded = found
        look = _suspect(col, t[col.name]) if first_look else None
        if look is not None and col.name in plain:
            bad, padded, value = None, None, t[col.name]
        elif look is not None:
            bad, padded = (t[col.name].isnull() | look) if col.required and col.default is None else look, None
            # a value the first look passes is trimmed already: the checks across columns compare it as written
            value = t[col.name]
        if f"_found_{col.name}" in schema:
            clean = t[f"_found_{col.name}"]
            bad = None if bad is None else ~clean & bad
            padded = None if padded is None else ~clean & padded
        if bad is not None:
            checks[col.name] = bad
        if padded is not None:
            pads.append(padded)
        if value is not None:
            typed[col.name] = value
    if {"setting", "discharge_date"} <= typed.keys():
        checks["inpatient without discharge_date"] = ((typed["setting"] == "inpatient")
                                                      & typed["discharge_date"].isnull())
    if {"admit_date", "discharge_date"} <= typed.keys():
        checks["discharge_date before admit_date"] = typed["discharge_date"] < typed["admit_date"]
    if {"total_cost", "covered_cost"} <= typed.keys():
        checks["covered_cost above total_cost"] = typed["covered_cost"] > typed["total_cost"]
    # a reference found as written is known (the ids it is looked up in are checked ids, trimmed): only the others
    # are trimmed and looked up again (unless ``as_written``)
    for ref, known in refs.items():
        if ref not in typed:
            continue
        if spark:  # looked up by the join of _with_known_refs
            checks[f"unknown {ref}"] = (typed[ref] != "") & t[f"_known_{ref}"].isnull()
        else:
            written = t[f"_found_{ref}"] if f"_found_{ref}" in schema else t[ref].isin(known[ref])
            unknown = ~written & (typed[ref] != "")
            checks[f"unknown {ref}"] = unknown if as_written else unknown & ~typed[ref].isin(known[ref])
    if not (judged and checks):
        return None
    # one flag: whether any check fails on any row (which ones, and where, is the Arrow check's to say)
    flag = functools.reduce(operator.or_, checks.values())
    pad = functools.reduce(operator.or_, pads) if pads else flag & ibis.literal(False)  # (a column: summed)
    # (a null ``pad`` counts 0 as false does; no fill_null: DuckDB evaluates the ORs under a COALESCE on every row,
    # every side of them, where a CASE's condition stops at the first true side)
    return t.aggregate(n=ibis.ifelse(flag, 1, 0).sum(), padded=ibis.ifelse(pad, 1, 0).sum())


def _with_known_refs(t: ir.Table, refs: dict[str, ir.Table]) -> ir.Table:
    """Spark: ``t`` with a column ``_known_{ref}`` per reference, the id it names (trimmed) among ``refs[ref]``'s,
    null when unknown: a left join with the distinct ids. (``isin`` of a table's column anywhere but in a filter is
    planned by Spark as a nested loop over claims x ids, null-aware: a province's 2.8 M claims x 200,000 persons
    never finished.) The trimmed id alone is looked up: the ids are checked ids, trimmed, so an id found as written
    is found trimmed too."""
    for ref, known in refs.items():
        if ref not in t.columns or not t[ref].type().is_string():
            continue
        k = known.select(**{f"_known_{ref}": known[ref]}).distinct()
        t = t.left_join(k, t[ref].strip() == k[f"_known_{ref}"])
    return t


def _raise_claims_problems(path: Path, *, refs: bool) -> None:
    """Raise InvalidInput with the problems ``yigongti check`` finds in the claims at ``path`` (their references to
    persons too when ``refs``); return when it finds none."""
    from yigongti.datafolder.folder import scan_folder

    tables = ["institutions", "persons", "claims"] if refs else ["institutions", "claims"]
    problems = scan_folder(path.parent, tables=tables).problems
    mine = errors([p for p in problems if p.file.startswith(path.name)])
    if mine:
        raise InvalidInput(mine)


def parquet_claims_path(folder: Path) -> Path | None:
    """The folder's claims when they are Parquet (``claims.parquet`` or a folder ``claims/`` of Parquet files: the
    engine reads them itself), else None."""
    path = find_table_file(folder, "claims")
    return path if path is not None and (path.is_dir() or path.suffix == ".parquet") else None


def parquet_files(path: Path) -> list[Path]:
    """The files of a Parquet table: the file itself, or a folder's ``*.parquet`` in name order."""
    return sorted(path.glob("*.parquet")) if path.is_dir() else [path]


def parquet_rows(path: Path) -> int:
    """Rows of a Parquet file or folder of Parquet files, from their metadata (nothing else is read)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in parquet_files(path))


def parquet_claims(con: Backend, folder: Path, *, checked: bool = False, trim: bool = True) -> ir.Table:
    """The folder's Parquet claims as an engine table typed like the contract (money int64 fen), validated unless
    ``checked`` says the same files were validated already in this use case (by :func:`check_claims_files`: one
    scan of the checks, not two), which said whether to ``trim`` their text cells."""
    path = parquet_claims_path(folder)
    if path is None:
        raise ValueError(f"{folder}: claims are not Parquet / 结算清单不是 Parquet")
    return _parquet_claims(con, path, check=not checked, trim=trim)


def claims_look(claims_path: Path) -> PartsLook:
    """The first look at the Parquet claims files that :func:`check_claims_files` takes (with the references to the
    persons and the institutions), taken beforehand: it needs neither table, so it can be taken while they are
    checked. Hand it to :func:`check_claims_files` as ``look``."""
    return _look_at_claims(claims_path, None, refs=_REFERENCES)


def check_claims_files(data: DataFolder, claims_path: Path, *, look: PartsLook | None = None) -> bool:
    """Validate a folder's Parquet claims with their references to ``data``'s persons and institutions (the check
    :func:`adjudicated_expr` runs, on its own: ``run`` checks everything before its first step, then passes
    ``checked=True`` and, as ``trim``, what this returns: whether any text cell is padded). Raises InvalidInput.

    On a DuckDB connection of its own, under the check's memory limit (``YIGONGTI_CHECK_MEMORY``, default 1GB, as the
    key store of ``yigongti check``; its aggregates spill to a temporary folder past it), closed at the end: the run's
    connection is left with nothing of the check (the persons' ids it copied), and its own limit is for the steps.
    ``look``: :func:`claims_look` of the same files, when taken already."""
    spill = Path(tempfile.mkdtemp(prefix="yigongti-check-"))
    con = connect("duckdb", joins_as_written=True, temp_directory=str(spill / "spill"),
                  memory_limit=os.environ.get(CHECK_MEMORY_ENV) or CHECK_MEMORY)
    try:
        return _read_claims(con, claims_path,
                            persons=register_arrow(con, data["persons"].select(["person_id"]), "chk_persons"),
                            institutions=register_arrow(con, data["institutions"].select(["inst_id"]),
                                                        "chk_institutions"), look=look)[1]
    finally:
        con.disconnect()
        shutil.rmtree(spill, ignore_errors=True)


def adjudicated_expr(con: Backend, data: DataFolder, claims_path: Path, designations: pa.Table,
                     policy: Policy | BenefitPolicy, year: int, *, ordered: bool = False,
                     designated: bool = False, columns: list[str] | None = None, checked: bool = False,
                     trim: bool = True, coded: bool = False,
                     designation_codes: list[ir.Table] | None = None) -> ir.Table:
    """The ``adjudicated`` table of Parquet claims as an engine expression (money int64 fen), not executed: for
    writing it, or for aggregating it without ever holding it (``budget.service.settle_year``, which asks for
    the ``designated`` consortium column too). ``columns``: the claims columns wanted (default all): the fewer, the
    less the running sums carry. ``checked``: the claims files were validated already in this use case
    (:func:`check_claims_files`), which said whether to ``trim`` their text cells. ``coded``,
    ``designation_codes``: as ``adjudicate``'s."""
    t = _registered(con, data, designations)
    claims = _parquet_claims(con, claims_path, persons=t["persons"], institutions=t["institutions"], check=not checked,
                             trim=trim)
    return adjudicate(claims, t["persons"], t["institutions"], t["designations"],
                      _benefits(policy), year, ordered=ordered, designated=designated, columns=columns, coded=coded,
                      designation_codes=designation_codes)


def adjudicated_once(con: Backend, data: DataFolder, claims_path: Path, designations: pa.Table,
                     policy: Policy | BenefitPolicy, year: int, spill: Path, *, columns: list[str] | None = None,
                     checked: bool = True, trim: bool = True, without: Sequence[str] = ()) -> ir.Table:
    """The adjudication of a folder's Parquet claims (DuckDB), run once: written into the Parquet file ``spill``
    (the claims ``columns``, default every one, the outputs in int64 fen but those named in ``without`` (which no
    reader of the spill needs), and the designation columns, in no order) and returned as an engine table that reads
    it. ``run`` writes its adjudicated file from it (:func:`write_spilled`) and its appraisal and settlement aggregate
    it, and ``settle``'s streamed path reads it the same way, instead of adjudicating the claims again for each of
    their passes. ``checked``, ``trim``: as :func:`adjudicated_expr`'s.
    The spill holds network_status and rule as their codes and the designation as its row in a small table of the
    year's designations, written beside it (``<spill>.places.parquet``); the table returned names them again
    (:func:`~yigongti.benefits.engine.decoded`): the same columns. Written as names, those five text columns were
    a third of the spill's writing (1.8 of 5.4 CPU s at 7 M claims)."""
    codes: list[ir.Table] = []
    expr = adjudicated_expr(con, data, claims_path, designations, policy, year, designated=True, columns=columns,
                            checked=checked, trim=trim, coded=True, designation_codes=codes)
    if without:
        expr = expr.drop(*without)
    places = spill.with_name(f"{spill.stem}.places.parquet")
    con.to_parquet(codes[0], places)
    with _in_no_order(con):  # the spill is in no order: a faster, parallel write
        con.to_parquet(expr, spill)
    return decoded(con.read_parquet(spill), con.read_parquet(places))


@contextlib.contextmanager
def _in_no_order(con: Backend) -> Iterator[None]:
    """DuckDB's ``preserve_insertion_order`` off while the block writes (in no order, on all the engine's threads);
    the connection's own setting put back after it (the caller's later queries, ``run``'s appraisal and settlement,
    may count on the order they were given)."""
    kept = con.raw_sql("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.raw_sql("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.raw_sql(f"SET preserve_insertion_order = {'true' if kept else 'false'}")


def adjudicated_format(folder: Path, fmt: str | None = None) -> str:
    """The format of the adjudicated file that ``adjudicate`` and ``run`` write for ``folder``: ``fmt`` when given
    (csv or parquet), else the claims' own: claims handed in as Parquet give adjudicated.parquet, claims in CSV or
    Excel give adjudicated.csv. The one default of both commands."""
    if fmt is None:
        return "parquet" if parquet_claims_path(folder) is not None else "csv"
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format {fmt!r}: csv or parquet / 格式须为 csv 或 parquet")
    return fmt


def _sorted_by_default(fmt: str, sort: bool | None) -> bool:
    """Whether the adjudicated file is ordered by claim_id: ``sort`` when given, else CSV yes, Parquet no."""
    return fmt != "parquet" if sort is None else sort


def write_spilled(con: Backend, spilled: ir.Table, out: Path, *, fmt: str = "csv", sort: bool | None = None) -> int:
    """``out/adjudicated.{fmt}`` of :func:`adjudicated_once`'s table (or Spark's parts of the same columns), read by
    ``con`` (DuckDB): the contract's columns (the designation columns dropped), ordered by claim_id when ``sort``
    (default: CSV yes, Parquet no). Parquet is one streamed COPY of the spill (:func:`write_adjudicated_parquet`: no
    sort of the claims, no rendering of text); CSV through :func:`write_adjudicated_stream`. Returns the claims
    written."""
    contract = spilled.drop(*DESIGNATED_COLUMNS)
    ordered = _sorted_by_default(fmt, sort)
    with contextlib.nullcontext() if ordered else _in_no_order(con):
        if ordered:
            contract = contract.order_by("claim_id")
        if fmt == "parquet":
            return write_adjudicated_parquet(con, contract, out)
        return write_adjudicated_stream(contract, out)


def adjudicate_folder(folder: Path, year: int, policy: Policy | BenefitPolicy, out: Path, *, fmt: str = "csv",
                      backend: str = "duckdb", designations: pa.Table | None = None,
                      sort: bool | None = None) -> AdjudicationSummary:
    """Adjudicate a folder whose claims are Parquet, engine to file: ``out/adjudicated.csv`` (money in yuan) or
    ``out/adjudicated.parquet`` (money as decimal yuan). ``sort``: rows ordered by claim_id (the same inputs then give
    a byte-identical file); by default for CSV, not for Parquet, whose readers join by claim_id anyway: sorting a
    province's claims is an external sort of every column (at 100 M claims it costs more than the adjudication).
    The small tables are read and validated as usual; the claims are
    typed by the engine (their row-level checks are ``yigongti check``'s job). The claims stream from Parquet through
    the engine into the file (never as Python rows, never held whole in memory); the summary is read back from the
    written file's status, rule and money columns."""
    data = read_folder(folder, tables=LARGE_INPUT_TABLES)
    path = parquet_claims_path(folder)
    if path is None:
        raise ValueError(f"{folder}: claims are not Parquet; use adjudicate_data / 结算清单不是 Parquet")
    des = designations if designations is not None else designations_for(data, year, policy, backend=backend)
    ordered = _sorted_by_default(fmt, sort)
    con = connect(backend, keep_order=ordered, joins_as_written=True)
    try:
        spark = con.name == "pyspark"
        expr = adjudicated_expr(con, data, path, des, policy, year, ordered=ordered and not spark)
        out.mkdir(parents=True, exist_ok=True)
        if spark:
            return _written_from_spark(con, expr, out, fmt=fmt, ordered=ordered, year=year)
        return _written(con, expr, out, fmt=fmt, year=year)
    finally:
        if con.name != "pyspark":
            con.disconnect()


def _written(con: Backend, expr: ir.Table, out: Path, *, fmt: str, year: int) -> AdjudicationSummary:
    """Write an adjudicated expression of DuckDB (money int64 fen) into ``out/adjudicated.{fmt}`` (money in yuan),
    atomically; the summary is read back from the written file. CSV through :func:`write_adjudicated_stream`, the one
    writer of adjudicated.csv: the bytes of :func:`write_adjudicated`, whatever the claims came from."""
    if fmt != "parquet":
        write_adjudicated_stream(expr, out)
        return _summary_in_engine(con.read_csv(out / "adjudicated.csv", all_varchar=True), year)
    write_adjudicated_parquet(con, expr, out)
    return _summary_in_engine(con.read_parquet(out / "adjudicated.parquet"), year)


def write_adjudicated_parquet(con: Backend, expr: ir.Table, out: Path) -> int:
    """``out/adjudicated.parquet`` of the engine's adjudication ``expr`` (DuckDB, money int64 fen), in the order
    ``expr`` and the connection give: money as decimal yuan, as every contract file has it, and a blank optional text
    null (:func:`_blank_as_null`), written by the engine in one COPY, atomically. Returns the claims written (from
    the file's metadata)."""
    target, tmp = out / "adjudicated.parquet", out / ".adjudicated.parquet.tmp"
    out.mkdir(parents=True, exist_ok=True)
    expr = _blank_as_null(expr)
    money = [c for c in _MONEY if c in expr.columns]
    try:  # money as decimal(20, 2) yuan, converted in 18 digits (38 when a cell is past them)
        in_money_digits(lambda digits: con.to_parquet(
            expr.mutate(**{c: engine_yuan(expr[c], digits).cast("decimal(20, 2)") for c in money}), tmp))
        rows = int(pq.ParquetFile(tmp).metadata.num_rows)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    _drop_other_format(out, "parquet")
    return rows


def _drop_other_format(out: Path, fmt: str) -> None:
    """Remove an adjudicated file of the other format that an earlier run left in ``out`` (adjudicated.csv beside
    a new adjudicated.parquet, or the other way round): a folder holds one adjudicated table, and a reader of it
    (``settle --data OUT``) takes a table given in two formats for a mistake."""
    (out / f"adjudicated.{'csv' if fmt == 'parquet' else 'parquet'}").unlink(missing_ok=True)


def _written_from_spark(spark: Backend, expr: ir.Table, out: Path, *, fmt: str, ordered: bool,
                        year: int) -> AdjudicationSummary:
    """The executors write the adjudicated claims (money int64 fen, in no order) as Parquet parts into a scratch
    folder beside the output (``out/.adjudicated.spark/``: on a cluster, ``--out`` must be storage every machine
    mounts); this machine's DuckDB then streams them, sorted by claim_id when ``ordered``, into the file, so the
    bytes are those DuckDB writes (:func:`_written`) and no claim is held in memory. The scratch folder is removed."""
    import shutil

    scratch = out / ".adjudicated.spark"
    shutil.rmtree(scratch, ignore_errors=True)
    spark.to_parquet(expr, str(scratch.resolve()))
    duck = connect("duckdb", keep_order=ordered)
    try:
        parts = duck.read_parquet(str(scratch / "*.parquet")).select(*expr.columns)
        return _written(duck, parts.order_by("claim_id") if ordered else parts, out, fmt=fmt, year=year)
    finally:
        duck.disconnect()
        shutil.rmtree(scratch, ignore_errors=True)


def _summary_in_engine(t: ir.Table, year: int) -> AdjudicationSummary:
    """The summary of an adjudicated table: money int64 fen, or decimal yuan (as written) or its text."""
    def fen(c: ir.Column) -> ir.IntegerValue:
        return c.cast("int64") if c.type().is_integer() else (c.cast("decimal(20, 2)") * 100).cast("int64")

    g = t.group_by("network_status").aggregate(n=t.count(), fund=fen(t.fund_paid).sum(),
                                               patient=fen(t.patient_paid).sum()).to_pyarrow().to_pylist()
    rules = t.group_by("rule").aggregate(n=t.count()).to_pyarrow().to_pylist()
    return AdjudicationSummary(
        year, sum(int(r["n"]) for r in g), sum(int(r["fund"] or 0) for r in g), sum(int(r["patient"] or 0) for r in g),
        dict(sorted((r["network_status"], (int(r["n"]), int(r["fund"] or 0))) for r in g)),
        dict(sorted((r["rule"], int(r["n"])) for r in rules)))


def write_adjudicated(table: pa.Table, out: Path, *, fmt: str = "csv") -> Path:
    """The contract's ``adjudicated`` file (money in yuan with 2 decimals in CSV, decimal yuan in Parquet), written
    atomically."""
    path = write_table(_in_output_order(table), out, "adjudicated", fmt=fmt)
    _drop_other_format(Path(out), fmt)
    return path


def _in_output_order(table: pa.Table) -> pa.Table:
    return table.select(_output_order(table.column_names))


def _output_order(columns: Sequence[str]) -> list[str]:
    return [*[c for c in columns if c not in OUTPUT_COLUMNS], *OUTPUT_COLUMNS]


# The claims' optional text columns (diagnosis, referral_from): a blank cell is null, as the folder's reader makes it
_OPTIONAL_TEXT = tuple(c.name for c in CLAIMS.columns if c.type is ColType.STR and not c.required)


def _blank_as_null(expr: ir.Table) -> ir.Table:
    """An optional text cell that is ``''`` (a Parquet file's blank, which the engine reads as it is) made null, as
    the folder's reader makes a blank cell of CSV, Excel or Parquet: both written forms of the adjudication (CSV and
    Parquet) then have the same empty cell. One rule, in the engine, for both writers."""
    blank = {c: expr[c].nullif("") for c in _OPTIONAL_TEXT if c in expr.columns and expr[c].type().is_string()}
    return expr.mutate(**blank) if blank else expr


# The adjudication's own text columns: names of STATUS_NAMES and RULE_NAMES, never a formula (tested below)
_NAMED = ("network_status", "rule")


def write_adjudicated_stream(expr: ir.Table, out: Path, *, batch_rows: int = 1_000_000) -> int:
    """``out/adjudicated.csv`` of the engine's adjudication ``expr`` (:func:`adjudicated_expr` ``ordered``, DuckDB),
    streamed from the engine (a province's claims are never held whole): the same bytes as :func:`write_adjudicated`
    of ``adjudicate_data``'s table. Its cells are rendered as text by DuckDB (``write_csv_engine``); only an
    expression with a column that writer does not render goes through Arrow, in batches of ``batch_rows``. Returns
    the number of claims written."""
    rows = _written_csv(expr, out, batch_rows)
    _drop_other_format(out, "csv")
    return rows


def _written_csv(expr: ir.Table, out: Path, batch_rows: int) -> int:
    """:func:`write_adjudicated_stream`'s writing: the claims written."""
    text = _blank_as_null(expr)
    rows = write_csv_engine(text.select(*_output_order(text.columns)), out, "adjudicated", plain=_NAMED)
    if rows is not None:  # DuckDB wrote it itself
        return rows
    written = 0

    def parts() -> Iterator[pa.Table]:
        nonlocal written
        with arrow_batches(_blank_as_null(expr), batch_rows) as reader:
            for batch in reader:
                part = _in_output_order(_typed(pa.Table.from_batches([batch])))
                written += part.num_rows
                yield part
            if not written:  # no claim: the header alone
                yield _in_output_order(_typed(reader.schema.empty_table()))

    write_csv_parts(parts(), out, "adjudicated")
    return written


# ------------------------------------------------------------------------------- a year's inputs

# What settle and appraise need of an ``adjudicated`` table handed in (the contract's output has more columns).
_ADJUDICATED_IN = TableSpec("adjudicated", (
    Column("claim_id", ColType.ID), Column("person_id", ColType.ID), Column("inst_id", ColType.ID),
    Column("fund_paid", ColType.MONEY), Column("rule", ColType.STR),
    Column("admit_date", ColType.DATE, required=False), Column("diagnosis", ColType.STR, required=False),
    Column("unreasonable", ColType.BOOL, required=False, default="false"),
), key=("claim_id",))
ADJUDICATED_COLUMNS = ["claim_id", "person_id", "inst_id", "admit_date", "fund_paid", "rule", "diagnosis",
                       "unreasonable"]


def load_adjudicated(folder: Path, claims: pa.Table | None) -> pa.Table | None:
    """The ``adjudicated`` table of ``folder`` (CSV/Parquet/Excel) typed, or None when absent. Columns it lacks
    (admit_date, diagnosis, unreasonable) are taken from ``claims`` by claim_id."""
    path = find_table_file(folder, "adjudicated")
    if path is None:
        return None
    raw = read_raw_table(path)
    typed, problems = parse_table(_ADJUDICATED_IN, raw, file=path.name)
    if problems:
        raise InvalidInput(problems)
    typed = typed.select([c for c in ADJUDICATED_COLUMNS])
    missing = [c for c in ("admit_date", "diagnosis", "unreasonable") if c not in raw.column_names]
    if missing:
        if claims is None:
            raise InvalidInput([Problem(path.name, 0, ",".join(missing),
                                        "needs these columns or a claims table / 缺少列且无结算清单")])
        extra = claims.select(["claim_id", *missing])
        typed = typed.drop_columns(missing).join(extra, "claim_id", join_type="left outer")
        lost = pc.sum(pc.is_null(typed.column("admit_date"))).as_py() if "admit_date" in missing else 0
        if lost:
            raise InvalidInput([Problem(path.name, 0, "claim_id",
                                        f"{lost} claim(s) not in claims / 结算清单中无此单据")])
        typed = typed.select(ADJUDICATED_COLUMNS)
    return typed


def settlement_inputs(data: DataFolder, year: int, policy: Policy, *,
                      backend: str = "duckdb") -> tuple[pa.Table, pa.Table]:
    """(designations of every year, adjudicated claims of ``year``) of a folder: read when they are there, else
    computed by ``enroll`` and ``adjudicate`` (on ``backend``)."""
    designations = designations_of_every_year(data, year, policy, backend=backend)
    return designations, adjudicated_for(data, year, policy, designations, backend=backend)


def designations_of_every_year(data: DataFolder, year: int, policy: Policy, *, backend: str = "duckdb") -> pa.Table:
    # every year's, not only the year's: a referring admission of last year is classified with last year's
    # designation, as ``adjudicate`` and ``run`` do (with the year's only, its deductible and so the continuous
    # deductible of this year's admission changed, and settle charged other money than run)
    return designations_for(data, year, policy, backend=backend)


def adjudicated_for(data: DataFolder, year: int, policy: Policy, designations: pa.Table, *,
                    backend: str = "duckdb") -> pa.Table:
    a = load_adjudicated(data.path, data.get("claims"))
    if a is not None:
        return a
    return adjudicate_data(data, year, policy, designations, backend=backend).select(ADJUDICATED_COLUMNS)
