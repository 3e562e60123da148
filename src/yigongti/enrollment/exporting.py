"""Exporting the database to a data folder (导出数据目录): the way back from online choices to the batch commands.

``export_folder(uow, out)`` writes ``institutions``, ``consortia``, ``persons`` (with ``household_head`` and
``lives_away``), ``choices`` (every choice ever recorded, file and online, in the order recorded, with ``chooser_id``,
``status``, ``refusal_code`` and ``channel`` as extra columns) and ``designations`` (all years) in the data
contract's format, so that ``yigongti enroll`` / ``settle`` run on what residents chose online. The files are
written into a temporary folder beside ``out`` and moved in at the end: a failure leaves ``out`` as it was. Same
database, same files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from yigongti.datafolder.folder import write_table
from yigongti.enrollment.store import ChoiceRow, DesignationRow, PersonRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = ["EXPORTED_TABLES", "export_folder", "export_tables", "tables_from_session"]

EXPORTED_TABLES = ("institutions", "consortia", "persons", "choices", "designations")

_S, _I, _F = pa.string(), pa.int64(), pa.float64()
_SCHEMAS: dict[str, tuple[type[Any], list[str], pa.Schema]] = {
    "institutions": (InstitutionRow, ["inst_id"], pa.schema([
        ("inst_id", _S), ("name", _S), ("tier", _S), ("level", _I), ("kind", _S), ("consortium_id", _S),
        ("parent_id", _S), ("county_code", _S), ("lon", _F), ("lat", _F)])),
    "consortia": (ConsortiumRow, ["consortium_id"], pa.schema([
        ("consortium_id", _S), ("name", _S), ("county_code", _S), ("lead_inst_id", _S)])),
    "persons": (PersonRow, ["person_id"], pa.schema([
        ("person_id", _S), ("id_number", _S), ("sex", _S), ("birth_date", pa.date32()), ("household_id", _S),
        ("insurance", _S), ("county_code", _S), ("lon", _F), ("lat", _F), ("household_head", pa.bool_()),
        ("lives_away", pa.bool_())])),
    "choices": (ChoiceRow, ["choice_id"], pa.schema([
        ("person_id", _S), ("year", _I), ("consortium_id", _S), ("township_id", _S), ("village_id", _S),
        ("chosen_at", pa.timestamp("s")), ("chooser_id", _S), ("status", _S), ("refusal_code", _S),
        ("channel", _S)])),
    "designations": (DesignationRow, ["year", "person_id"], pa.schema([
        ("person_id", _S), ("year", _I), ("consortium_id", _S), ("township_id", _S), ("village_id", _S),
        ("source", _S)])),
}


def tables_from_session(session: Session, *, id_numbers: bool = True) -> dict[str, pa.Table]:
    """The exported tables as Arrow, typed as ``datafolder.folder.read_folder`` types them, read in the session's
    current transaction (its own uncommitted writes included). ``id_numbers=False``: an empty ``id_number``.

    Rows are fetched through the driver without per-value ORM processing and typed column-wise by Arrow."""
    conn = session.connection()
    q = conn.dialect.identifier_preparer.quote
    out: dict[str, pa.Table] = {}
    for name in EXPORTED_TABLES:
        model, order, schema = _SCHEMAS[name]
        cols = ", ".join(q(f.name) for f in schema)
        sql = f"SELECT {cols} FROM {q(model.__tablename__)} ORDER BY {', '.join(q(o) for o in order)}"
        rows = conn.exec_driver_sql(sql).fetchall()
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
        arrays = {f.name: _arrow(values, f.type) for values, f in zip(columns, schema, strict=True)}
        if name == "persons" and not id_numbers:
            arrays["id_number"] = pa.nulls(len(rows), pa.string())
        out[name] = pa.table(arrays, schema=schema)
    return out


def _arrow(values: Sequence[Any], typ: pa.DataType) -> pa.Array:
    """Driver values as an Arrow column: SQLite gives dates and date-times as ISO text and booleans as 0/1."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, str) and (pa.types.is_date(typ) or pa.types.is_timestamp(typ)):
        text = pa.array(values, pa.string())
        if pa.types.is_date(typ):
            return text.cast(typ)
        return pc.cast(pc.strptime(pc.utf8_slice_codeunits(text, 0, 19), format="%Y-%m-%d %H:%M:%S", unit="s"), typ)
    if type(sample) is int and pa.types.is_boolean(typ):  # not a bool (bool is an int subclass)
        return pa.array(values, pa.int64()).cast(typ)
    return pa.array(values, typ)


def export_tables(uow: SqlAlchemyUnitOfWork, *, id_numbers: bool = True) -> dict[str, pa.Table]:
    """The exported tables as Arrow, read in one transaction (give a ``read_only`` unit of work for a consistent
    snapshot on PostgreSQL)."""
    with uow:
        return tables_from_session(uow.session, id_numbers=id_numbers)


def export_folder(uow: SqlAlchemyUnitOfWork, out: Path | str, *, id_numbers: bool = True) -> dict[str, int]:
    """Write the database as a data folder into ``out`` (all or nothing); returns rows written per table."""
    out = Path(out)
    tables = export_tables(uow, id_numbers=id_numbers)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, table in tables.items():
            write_table(table, tmp, name)
        if not out.exists():
            tmp.rename(out)
        else:
            for name in tables:
                os.replace(tmp / f"{name}.csv", out / f"{name}.csv")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return {name: t.num_rows for name, t in tables.items()}
