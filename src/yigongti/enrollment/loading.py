"""Loading a data folder into the database (导入数据目录): one transaction, all or nothing, idempotent.

``load_folder(folder, uow)`` validates the folder (``datafolder.folder.read_folder``: nothing is loaded from a folder
with any problem), then in ONE transaction:

- upserts consortia, institutions and persons by their ids (a row whose values did not change is left untouched),
  persons with their optional ``household_head`` and ``lives_away`` (常年外出; false when the column is absent);
- appends the choices not loaded before (each row's ``choice_key`` is derived from its content, see
  ``enrollment.choice_status``), with its status valid / refused and refusal code, checked against its year's window;
- upserts the folder's designations (earlier years) by (person_id, year);
- with ``year``: computes the designations for that year (``enrollment.service.enroll_data``: choice, carry-over,
  household, nearest) from what the database then holds (this folder and earlier loads, and every choice made
  online with ``enrollment.choices.submit_choice``), and upserts them. A designation whose consortium, township,
  village and source do not change is left untouched (it keeps its link to the online choice that set it). A person
  now living away keeps no default designation of that year (source ``nearest``), as in the batch.
Loading the same folder twice leaves the same rows. Persons or institutions missing from a later folder are kept.
Writes are batched (``INSERT ... ON CONFLICT`` over thousands of rows per statement).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, select, text

from yigongti.core.bulk import upsert_table
from yigongti.core.engine import connect
from yigongti.core.policy import Policy
from yigongti.core.policy_files import folder_policy
from yigongti.datafolder.folder import DataFolder, read_folder
from yigongti.enrollment.choice_status import checked_choices
from yigongti.enrollment.choices import china_now
from yigongti.enrollment.domain import Source
from yigongti.enrollment.engine import LIVES_AWAY_COLUMN
from yigongti.enrollment.exporting import tables_from_session
from yigongti.enrollment.service import enroll_data
from yigongti.enrollment.store import ChoiceRow, DesignationRow, PersonRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = ["HEAD_COLUMN", "LIVES_AWAY_COLUMN", "LOADED_TABLES", "LoadReport", "load_data", "load_folder"]

LOADED_TABLES = ("institutions", "consortia", "persons", "choices", "designations")
"""The tables of a data folder that go into the database (claims stay in files for the engine)."""

HEAD_COLUMN = "household_head"
"""Optional column of ``persons`` marking the household head (户主): true/false, 1/0, 是/否 (domain.schema)."""
_DESIGNATION_COLUMNS = ["person_id", "year", "consortium_id", "township_id", "village_id", "source"]


@dataclass(frozen=True)
class LoadReport:
    """What a load did: rows read per table, rows in the database afterwards, designations computed for ``year``."""

    folder: Path | None
    rows: dict[str, int]
    database: dict[str, int]
    seconds: float
    year: int | None = None
    designated: int = 0
    refused_choices: int = 0
    by_source: dict[str, int] = field(default_factory=dict)


def load_folder(folder: Path | str, uow: SqlAlchemyUnitOfWork, *, policy: Policy | None = None,
                year: int | None = None, now: datetime | None = None) -> LoadReport:
    """Validate the :data:`LOADED_TABLES` of ``folder`` and load them (see the module doc). Raises
    ``InvalidInput`` listing every problem."""
    folder = Path(folder)
    data = read_folder(folder, tables=LOADED_TABLES)
    return load_data(data, uow, policy=policy or folder_policy(folder), year=year, now=now)


def load_data(data: DataFolder, uow: SqlAlchemyUnitOfWork, *, policy: Policy, year: int | None = None,
              now: datetime | None = None) -> LoadReport:
    """Load the typed tables of a validated folder in one transaction."""
    started = time.perf_counter()
    now = now or china_now()
    choices = _checked(data, policy)
    computed = None
    rows = {name: t.num_rows for name, t in data.tables.items() if name in LOADED_TABLES}
    with uow:
        s = uow.session
        upsert_table(s, ConsortiumRow, data["consortia"].select(["consortium_id", "name", "county_code",
                                                                 "lead_inst_id"]), key=["consortium_id"])
        upsert_table(s, InstitutionRow, data["institutions"].select([
            "inst_id", "name", "tier", "level", "kind", "consortium_id", "parent_id", "county_code", "lon", "lat"]),
            key=["inst_id"])
        upsert_table(s, PersonRow, _with_flags(data["persons"]).select([
            "person_id", "id_number", "sex", "birth_date", "household_id", HEAD_COLUMN, LIVES_AWAY_COLUMN,
            "insurance", "county_code", "lon", "lat"]), key=["person_id"])
        new_choices = _with_constants(choices.append_column("chooser_id", choices.column("person_id")).select([
            "choice_key", "person_id", "chooser_id", "year", "consortium_id", "township_id", "village_id",
            "chosen_at", "status", "refusal_code", "refusal_message"]), channel="file", recorded_at=now)
        upsert_table(s, ChoiceRow, new_choices, key=["choice_key"], insert_only=True)
        earlier = data.get("designations")
        if earlier is not None:
            _upsert_designations(uow, earlier, now=now)
        if year is not None:
            if s.get_bind().dialect.name == "postgresql":
                # online choices wait until the computed designations are in: none is overwritten by a designation
                # computed before it was made (SQLite serialises writers anyway)
                s.execute(text("LOCK TABLE designations IN SHARE ROW EXCLUSIVE MODE"))
            stored = DataFolder(data.path, tables_from_session(s))
            computed = enroll_data(stored, year, policy)
            _upsert_designations(uow, computed.designations, now=now)
            # a default designation of someone who now lives away all year goes: the batch gives them none
            s.execute(delete(DesignationRow).where(
                DesignationRow.year == year, DesignationRow.source == Source.NEAREST.value,
                DesignationRow.person_id.in_(select(PersonRow.person_id).where(PersonRow.lives_away.is_(True)))))
        uow.commit()
    with uow:
        database = {**uow.registry.counts(), "persons": uow.persons.count(), "choices": uow.choices.count(),
                    "designations": uow.designations.count()}
    return LoadReport(
        folder=data.path, rows=rows, database=database, seconds=time.perf_counter() - started, year=year,
        designated=computed.persons if computed else 0,
        refused_choices=int(pc.sum(pc.equal(choices.column("status"), "refused")).as_py() or 0),
        by_source=dict(computed.by_source) if computed else {},
    )


def _checked(data: DataFolder, policy: Policy) -> pa.Table:
    con = connect("duckdb")
    try:
        raw = data.get("choices")
        if raw is None:
            raw = pa.table({c: pa.array([], pa.string()) for c in ("person_id", "consortium_id", "township_id",
                                                                   "village_id")}
                           | {"year": pa.array([], pa.int64()), "chosen_at": pa.array([], pa.timestamp("s"))})
        return checked_choices(con, choices=raw, persons=data["persons"], institutions=data["institutions"],
                               consortia=data["consortia"], window=policy.enrollment.window)
    finally:
        con.disconnect()


def _with_flags(persons: pa.Table) -> pa.Table:
    """``persons`` with its booleans ``household_head`` and ``lives_away`` (the contract's optional columns; false
    when absent or empty)."""
    for name in (HEAD_COLUMN, LIVES_AWAY_COLUMN):
        if name in persons.column_names:
            i = persons.column_names.index(name)
            persons = persons.set_column(i, name, pc.fill_null(persons.column(name).cast(pa.bool_()), False))
        else:
            persons = persons.append_column(name, pa.array([False] * persons.num_rows, pa.bool_()))
    return persons


def _with_constants(table: pa.Table, **constants: str | datetime) -> pa.Table:
    for name, value in constants.items():
        typ = pa.timestamp("s") if isinstance(value, datetime) else pa.string()
        table = table.append_column(name, pa.array([value] * table.num_rows, typ))
    return table


def _upsert_designations(uow: SqlAlchemyUnitOfWork, table: pa.Table, *, now: datetime) -> None:
    """Designations from a file or computed: a row that changes loses its link to an online choice."""
    rows = table.select(_DESIGNATION_COLUMNS)
    rows = rows.append_column("choice_id", pa.array([None] * rows.num_rows, pa.int64()))
    rows = rows.append_column("chosen_at", pa.array([None] * rows.num_rows, pa.timestamp("s")))
    rows = _with_constants(rows, updated_at=now)
    upsert_table(uow.session, DesignationRow, rows, key=["person_id", "year"],
                 touch=["updated_at", "choice_id", "chosen_at"])
