"""Use case: validate a data folder (数据校验) with its Parquet claims checked by an engine (Spark's executors).

``yigongti check --engine spark``: the small tables (persons, institutions, choices, ...) are checked on this machine
(the driver) as ``yigongti check`` checks them; the claims, the heavy part, by the engine's one aggregate of
:func:`~yigongti.benefits.service.bad_claims_count` (types, values, the checks across a row's columns, unknown
persons and institutions) and its two scans for repeated claim ids and unknown referring claims, where the claims
are (on a cluster: read by the executors, never through the driver). The problems listed are those of ``yigongti
check`` (``datafolder.service.check_data_folder``), file, row and column: when the engine finds no bad claim and no
cell to warn of, the claims add none; when it finds any, the driver's check lists the folder's problems as DuckDB's
``check`` does (the engine says whether, the driver's check names where).
"""

from __future__ import annotations

import functools
import operator
from pathlib import Path

import ibis
import ibis.expr.types as ir

from yigongti.benefits.service import (
    _read_claims,
    _repeated_claim_ids,
    _unknown_referrals,
    bad_claims_count,
    parquet_claims_path,
    parquet_rows,
)
from yigongti.core.engine import Backend, connect, partition_by_county, register_arrow
from yigongti.core.policy_files import policy_problems
from yigongti.datafolder.folder import DataFolder, check_folder, table_files
from yigongti.datafolder.schema import CLAIMS, INPUT_TABLES, ColType
from yigongti.datafolder.service import PROBLEMS_PER_COLUMN, CheckReport, check_data_folder

__all__ = ["check_claims_on", "check_folder_on", "claims_clear_on"]

# what ``datafolder.folder`` warns of in a text cell (a spreadsheet formula: ``_FORMULA_RE``), as the engine looks
_FORMULA = "^[=+\\-@\\t\\r]"


def check_folder_on(folder: Path, *, engine: str = "duckdb",
                    limit: int | None = PROBLEMS_PER_COLUMN) -> CheckReport:
    """``check_data_folder`` with the folder's Parquet claims checked by ``engine`` (``spark``: on its executors):
    the same report. On DuckDB, or when the claims are not one Parquet table (CSV, Excel, given twice, missing),
    the folder is checked on this machine as ``yigongti check`` checks it."""
    folder = Path(folder)
    path = parquet_claims_path(folder) if engine != "duckdb" else None
    if path is None or len(table_files(folder, "claims")) != 1:
        return check_data_folder(folder, limit=limit)
    others = [name for name in INPUT_TABLES if name != "claims"]
    data, problems = check_folder(folder, tables=others, limit=limit)
    if not claims_clear_on(connect(engine, keep_order=False), data, path):
        return check_data_folder(folder, limit=limit)  # the driver names every problem, as DuckDB's check does
    rows = {name: data[name].num_rows for name in others if data.get(name) is not None}
    rows["claims"] = parquet_rows(path)
    rows = {name: rows[name] for name in INPUT_TABLES if name in rows}  # in the order check lists them
    return CheckReport(sorted(problems + policy_problems(folder / "policy.toml")), rows)


def _references(con: Backend, data: DataFolder) -> tuple[ir.Table | None, ir.Table | None]:
    """The known person and institution ids (checked, trimmed) for the claims' references, on ``con``; None for a
    table the folder lacks (its references are then not checked, as ``yigongti check`` does not check them)."""
    persons, institutions = data.get("persons"), data.get("institutions")
    if persons is not None:
        partition_by_county(con, persons)  # Spark: the claims spread by the person's county
    return (None if persons is None else register_arrow(con, persons.select(["person_id"]), "chk_persons"),
            None if institutions is None else register_arrow(con, institutions.select(["inst_id"]),
                                                             "chk_institutions"))


def check_claims_on(con: Backend, data: DataFolder, path: Path) -> bool:
    """Validate a folder's Parquet claims on ``con`` (Spark: the executors read and check them), with their
    references to ``data``'s persons and institutions: ``check_claims_files`` on the run's engine. Raises
    InvalidInput naming each problem (file, row, column); returns whether a text cell is padded."""
    persons, institutions = _references(con, data)
    return _read_claims(con, path, persons=persons, institutions=institutions)[1]


def claims_clear_on(con: Backend, data: DataFolder, path: Path) -> bool:
    """Whether the engine finds nothing ``yigongti check`` would list in the Parquet claims at ``path``: no bad
    claim (one aggregate), no text cell beginning like a spreadsheet formula (its warning), no claim id twice, no
    unknown referring claim. False when it finds any, or cannot judge (a column of a type it does not judge, an
    unreadable part): the driver's check then decides."""
    try:
        t = _read_claims(con, path, check=False)[0]  # (a part Spark would skip: InvalidInput, not clear)
        persons, institutions = _references(con, data)
        bad = bad_claims_count(t, persons=persons, institutions=institutions, as_written=True)
        if bad is None:
            return False
        schema = t.schema()
        texts = [t[c.name] for c in CLAIMS.columns
                 if c.type in (ColType.STR, ColType.ID) and c.name in schema and schema[c.name].is_string()]
        if texts:  # one job: the check's aggregate with the count of cells to warn of
            formula = functools.reduce(operator.or_, [v.re_search(_FORMULA) for v in texts])
            warned = t.aggregate(warned=ibis.ifelse(formula, 1, 0).sum())
            bad = bad.cross_join(warned)
        row = bad.to_pyarrow().to_pylist()[0]
        if int(row["n"] or 0) or int(row.get("warned") or 0):
            return False
        padded = bool(row["padded"])
        return not _repeated_claim_ids(t, trim=padded) and not _unknown_referrals(t, trim=padded)
    except Exception:  # noqa: BLE001 - an unreadable part or a type the engine refuses: the driver's check names it
        return False
