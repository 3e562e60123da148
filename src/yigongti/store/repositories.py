"""Repositories (仓储): one per aggregate, over a SQLAlchemy session the unit of work owns.

- :class:`RegistryRepository`: consortia and institutions, returned as the domain's :class:`Registry`;
- :class:`PersonRepository`: persons and their households (locking a household's rows for a change);
- :class:`ChoiceRepository`: the append-only choices;
- :class:`DesignationRepository`: one designation per (person, year);
- :class:`AuditRepository`: the append-only audit log.

Bulk writes (loading a data folder) go through :func:`upsert_table`, which takes Arrow tables and works on SQLite and
PostgreSQL alike (``INSERT ... ON CONFLICT``; ``COPY`` on PostgreSQL).
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import ColumnElement, DateTime, Row, String, Table, bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from yigongti.domain.enrollment import Designation, Source
from yigongti.domain.household import Member
from yigongti.domain.idnumber import mask_id_number
from yigongti.domain.registry import Consortium, Institution, Registry, Tier
from yigongti.store.models import (
    AuditRow,
    ChoiceRow,
    ConsortiumRow,
    DesignationRow,
    InstitutionRow,
    PersonRow,
)

__all__ = [
    "AuditRepository",
    "BulkWriteError",
    "ChoiceRepository",
    "DesignationRepository",
    "PersonRepository",
    "RegistryRepository",
    "scrub_id_numbers",
    "upsert_table",
]

_ID_NUMBER_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


# Statements of the choice path, built once (building and cache-keying them cost more than running them)
_P = PersonRow.__table__.c
_HOUSEHOLD_OF = (select(_P.person_id, _P.birth_date, _P.household_head, _P.county_code)
                 .where(_P.household_id == select(_P.household_id)
                        .where(_P.person_id == bindparam("person_id")).scalar_subquery())
                 .order_by(_P.person_id))
_HOUSEHOLD_OF_LOCKED = _HOUSEHOLD_OF.with_for_update(of=PersonRow.__table__)
_INSERT_CHOICE = insert(cast(Table, ChoiceRow.__table__)).returning(ChoiceRow.__table__.c.choice_id)
_INSERT_AUDIT = insert(cast(Table, AuditRow.__table__))
_UPSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}


@functools.cache
def _latest_choice_upsert(dialect: str) -> Any:
    """``INSERT INTO designations ... SELECT <the last valid choice> ON CONFLICT (person_id, year) DO UPDATE ...
    WHERE <not already on it> RETURNING ...`` with the parameters person_id, year and now (Core, no ORM)."""
    d = DesignationRow.__table__.c
    c = ChoiceRow.__table__.c
    latest = (select(c.person_id, c.year, func.coalesce(c.consortium_id, ""), func.coalesce(c.township_id, ""),
                     func.coalesce(c.village_id, ""), literal(Source.CHOICE.value, String()), c.choice_id,
                     c.chosen_at, bindparam("now", type_=DateTime()))
              .where(c.person_id == bindparam("person_id"), c.year == bindparam("year"), c.status == "valid")
              .order_by(c.chosen_at.desc(), c.choice_id.desc()).limit(1))
    cols = ["person_id", "year", "consortium_id", "township_id", "village_id", "source", "choice_id", "chosen_at",
            "updated_at"]
    stmt: Any = _UPSERTS[dialect](cast(Table, DesignationRow.__table__)).from_select(cols, latest)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[d.person_id, d.year],
        set_={col: excluded[col] for col in cols[2:]},
        where=d.choice_id.is_distinct_from(excluded.choice_id) | (d.source != excluded.source),
    ).returning(d.consortium_id, d.township_id, d.village_id, d.source)


class BulkWriteError(RuntimeError):
    """A bulk write the database refused; the message names the table, with any ID number masked."""


def scrub_id_numbers(text: str) -> str:
    """``text`` with every 18-character resident ID number masked (a database error may quote a whole row)."""
    return _ID_NUMBER_RE.sub(lambda m: mask_id_number(m.group(0)), text)


def _institution(row: InstitutionRow) -> Institution:
    return Institution(row.inst_id, row.name, Tier(row.tier), row.level, row.kind, row.consortium_id, row.parent_id,
                       row.county_code, row.lon, row.lat)


def _consortium(row: ConsortiumRow) -> Consortium:
    return Consortium(row.consortium_id, row.name, row.county_code, row.lead_inst_id)


class RegistryRepository:
    """The registry (机构登记): consortia and institutions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self) -> Registry:
        """The whole registry."""
        insts = self.session.scalars(select(InstitutionRow).order_by(InstitutionRow.inst_id))
        cons = self.session.scalars(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id))
        return Registry.of((_institution(r) for r in insts), (_consortium(r) for r in cons))

    def subset(self, *, consortium_ids: Iterable[str], inst_ids: Iterable[str]) -> Registry:
        """The named consortia and institutions only (what checking one choice needs); unknown ids are left out."""
        c_ids = sorted({c for c in consortium_ids if c})
        i_ids = sorted({i for i in inst_ids if i})
        insts: list[InstitutionRow] = list(self.session.scalars(
            select(InstitutionRow).where(InstitutionRow.inst_id.in_(i_ids)))) if i_ids else []
        cons: list[ConsortiumRow] = list(self.session.scalars(
            select(ConsortiumRow).where(ConsortiumRow.consortium_id.in_(c_ids)))) if c_ids else []
        return Registry.of((_institution(r) for r in insts), (_consortium(r) for r in cons))

    def counts(self) -> dict[str, int]:
        return {"consortia": _count(self.session, ConsortiumRow), "institutions": _count(self.session, InstitutionRow)}


class PersonRepository:
    """Insured persons (参保人) and households (家庭)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, person_id: str) -> PersonRow | None:
        return self.session.get(PersonRow, person_id)

    def household(self, household_id: str, *, lock: bool = False) -> list[PersonRow]:
        """The members of a household by person_id. ``lock``: take row locks (``SELECT ... FOR UPDATE`` on
        PostgreSQL, in person_id order so that two transactions cannot deadlock; SQLite serialises writers anyway)."""
        stmt = select(PersonRow).where(PersonRow.household_id == household_id).order_by(PersonRow.person_id)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return list(self.session.scalars(stmt))

    def household_of(self, person_id: str, *, lock: bool = False) -> list[Row[Any]]:
        """The members of ``person_id``'s household (empty when the person is unknown) as rows of person_id,
        birth_date, household_head and county_code, in ONE statement (no ORM objects); ``lock`` as in
        :meth:`household`."""
        stmt = _HOUSEHOLD_OF_LOCKED if lock else _HOUSEHOLD_OF
        return list(self.session.execute(stmt, {"person_id": person_id}))

    @staticmethod
    def members(rows: Sequence[PersonRow | Row[Any]]) -> list[Member]:
        """Household members as the domain sees them."""
        return [Member(r.person_id, r.birth_date, bool(r.household_head)) for r in rows]

    def count(self) -> int:
        return _count(self.session, PersonRow)


class ChoiceRepository:
    """Choices (定点选择): append-only; a row is never changed."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ChoiceRow) -> ChoiceRow:
        """Append a choice; its ``choice_id`` is set on return."""
        self.session.add(row)
        self.session.flush()
        return row

    def insert(self, values: Mapping[str, Any]) -> int:
        """Append a choice given as column values (one Core statement, no ORM object); returns its choice_id."""
        return int(self.session.execute(_INSERT_CHOICE, dict(values)).scalar_one())

    def for_person(self, person_id: str, year: int | None = None) -> list[ChoiceRow]:
        """A person's choices in the order they were made (chosen_at, then choice_id)."""
        stmt = select(ChoiceRow).where(ChoiceRow.person_id == person_id)
        if year is not None:
            stmt = stmt.where(ChoiceRow.year == year)
        return list(self.session.scalars(stmt.order_by(ChoiceRow.chosen_at, ChoiceRow.choice_id)))

    def latest_valid(self, person_id: str, year: int) -> ChoiceRow | None:
        """The person's last valid choice for ``year``: the latest ``chosen_at``, equal times the later recorded."""
        return self.session.scalar(
            select(ChoiceRow).where(ChoiceRow.person_id == person_id, ChoiceRow.year == year,
                                    ChoiceRow.status == "valid")
            .order_by(ChoiceRow.chosen_at.desc(), ChoiceRow.choice_id.desc()).limit(1))

    def count(self, **where: Any) -> int:
        stmt = select(func.count()).select_from(ChoiceRow)
        for key, value in where.items():
            stmt = stmt.where(getattr(ChoiceRow, key) == value)
        return int(self.session.scalar(stmt) or 0)


class DesignationRepository:
    """Designations (定点): at most one per (person_id, year), enforced by a unique key."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, person_id: str, year: int) -> DesignationRow | None:
        return self.session.scalar(select(DesignationRow).where(DesignationRow.person_id == person_id,
                                                                DesignationRow.year == year))

    def put(self, designation: Designation, *, now: datetime, choice_id: int | None = None,
            chosen_at: datetime | None = None) -> DesignationRow:
        """Set the designation of ``designation.person_id`` for its year (insert or change the one row)."""
        row = self.get(designation.person_id, designation.year)
        if row is None:
            row = DesignationRow(person_id=designation.person_id, year=designation.year)
            self.session.add(row)
        row.consortium_id = designation.consortium_id
        row.township_id = designation.township_id
        row.village_id = designation.village_id
        row.source = designation.source.value
        row.choice_id = choice_id
        row.chosen_at = chosen_at
        row.updated_at = now
        self.session.flush()
        return row

    def put_latest_choice(self, person_id: str, year: int, *, now: datetime) -> Designation | None:
        """Set the designation of ``person_id`` for ``year`` to their last valid choice (latest ``chosen_at``, equal
        times the later recorded) in ONE statement (``INSERT ... SELECT ... ON CONFLICT DO UPDATE ... RETURNING``);
        a row already on that choice is left alone (``updated_at`` kept). None when the person has no valid choice.
        """
        dialect = self.session.get_bind().dialect.name
        if dialect not in _UPSERTS:
            raise NotImplementedError(f"designations on {dialect} / 不支持的数据库")
        stmt = _latest_choice_upsert(dialect)
        changed = self.session.execute(stmt, {"person_id": person_id, "year": year, "now": now}).first()
        if changed is None:  # no valid choice, or the row is already on it
            current = self.get(person_id, year)
            if current is None or current.choice_id is None:
                return None
            return self.as_domain(current)
        return Designation(person_id, year, changed[0], changed[1], changed[2], Source(changed[3]))

    @staticmethod
    def as_domain(row: DesignationRow) -> Designation:
        return Designation(row.person_id, row.year, row.consortium_id, row.township_id, row.village_id,
                           Source(row.source))

    def for_year(self, year: int) -> list[DesignationRow]:
        return list(self.session.scalars(select(DesignationRow).where(DesignationRow.year == year)
                                          .order_by(DesignationRow.person_id)))

    def count(self, year: int | None = None) -> int:
        stmt = select(func.count()).select_from(DesignationRow)
        if year is not None:
            stmt = stmt.where(DesignationRow.year == year)
        return int(self.session.scalar(stmt) or 0)


class AuditRepository:
    """The audit log (审计日志): who did what, when, to which person. Append-only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, actor: str, action: str, at: datetime, person_id: str | None = None,
            detail: Mapping[str, Any] | None = None) -> None:
        """Append an entry; ``detail`` is stored as JSON (never put an unmasked ID number in it)."""
        self.session.add(AuditRow(at=at, actor=actor, action=action, person_id=person_id,
                                  detail=_audit_detail(detail)))

    def insert(self, *, actor: str, action: str, at: datetime, person_id: str | None = None,
               detail: Mapping[str, Any] | None = None) -> None:
        """:meth:`add`, written at once by one Core statement (no ORM object to flush)."""
        self.session.execute(_INSERT_AUDIT, {"at": at, "actor": actor, "action": action, "person_id": person_id,
                                             "detail": _audit_detail(detail)})

    def for_person(self, person_id: str) -> list[AuditRow]:
        return list(self.session.scalars(select(AuditRow).where(AuditRow.person_id == person_id)
                                          .order_by(AuditRow.at, AuditRow.audit_id)))


def _audit_detail(detail: Mapping[str, Any] | None) -> str | None:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail is not None else None


# ------------------------------------------------------------------------------------------------ bulk writes

def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def upsert_table(session: Session, model: type[Any], rows: pa.Table, *, key: Sequence[str],
                 touch: Sequence[str] = (), only_where: ColumnElement[bool] | None = None,
                 insert_only: bool = False) -> None:
    """Write the Arrow table ``rows`` (columns named as the table's) into ``model``'s table, in the session's
    transaction: a row whose ``key`` is new is inserted; an existing one is updated, and only where a value differs
    (an identical row is left untouched). Columns in ``touch`` (an ``updated_at``) are not compared, only updated
    along with a real change. ``only_where``: a condition on the existing row, which is left alone when it does not
    hold. ``insert_only``: existing rows are never changed.

    PostgreSQL: ``COPY`` into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT``. SQLite: one
    ``executemany`` of ``INSERT ... ON CONFLICT``. No per-row SQLAlchemy processing, so 174,000 persons take seconds.
    Raises :class:`BulkWriteError` (ID numbers masked in its message) when the database refuses the rows.
    """
    if rows.num_rows == 0:
        return
    try:
        _upsert_table(session, model, rows, key=key, touch=touch, only_where=only_where, insert_only=insert_only)
    except DBAPIError as exc:
        reason = scrub_id_numbers(str(exc.orig))
        raise BulkWriteError(f"writing {model.__table__.name} failed / 写入失败: {reason}") from None


def _upsert_table(session: Session, model: type[Any], rows: pa.Table, *, key: Sequence[str],
                  touch: Sequence[str], only_where: ColumnElement[bool] | None, insert_only: bool) -> None:
    conn = session.connection()
    dialect = conn.dialect
    table: Table = model.__table__
    q = dialect.identifier_preparer.quote
    cols = list(rows.column_names)
    name = q(table.name)
    changing = [c for c in cols if c not in key]
    compared = [c for c in changing if c not in touch]
    if insert_only or not changing:
        conflict = f"ON CONFLICT ({', '.join(q(k) for k in key)}) DO NOTHING"
    else:
        distinct = "IS DISTINCT FROM" if dialect.name == "postgresql" else "IS NOT"
        differs = " OR ".join(f"{name}.{q(c)} {distinct} excluded.{q(c)}" for c in compared) or "false"
        where = f"({differs})"
        if only_where is not None:
            cond = only_where.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            where = f"({cond}) AND {where}"
        sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in changing)
        conflict = f"ON CONFLICT ({', '.join(q(k) for k in key)}) DO UPDATE SET {sets} WHERE {where}"
    col_list = ", ".join(q(c) for c in cols)
    if dialect.name == "postgresql":
        stage = q(f"_stage_{table.name}")
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} AS SELECT {col_list} FROM {name} WITH NO DATA")
        # rows keep their order (serial ids follow it, as on SQLite): later rows of a file are recorded later
        conn.exec_driver_sql(f"ALTER TABLE {stage} ADD COLUMN _ord BIGSERIAL")
        buf = io.BytesIO()
        pacsv.write_csv(rows, buf, write_options=pacsv.WriteOptions(quoting_style="needed"))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {stage} ({col_list}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(buf.getvalue())
        # keys are unique in ``rows`` (validated input): ON CONFLICT may not meet one key twice in a statement
        conn.exec_driver_sql(f"INSERT INTO {name} ({col_list}) SELECT {col_list} FROM {stage} ORDER BY _ord "
                             f"{conflict}")
        conn.exec_driver_sql(f"DROP TABLE {stage}")
        return
    if dialect.name == "sqlite":
        marks = ", ".join("?" for _ in cols)
        values = list(zip(*(_sqlite_values(rows.column(c)) for c in cols), strict=True))
        conn.exec_driver_sql(f"INSERT INTO {name} ({col_list}) VALUES ({marks}) {conflict}", values)
        return
    raise NotImplementedError(f"bulk writes on {dialect.name} / 不支持的数据库")


def _sqlite_values(col: pa.ChunkedArray) -> list[Any]:
    """A column as SQLite stores it through SQLAlchemy: dates and date-times as ISO text, booleans as 0/1."""
    t = col.type
    if pa.types.is_timestamp(t):
        text = pc.strftime(pc.cast(col, pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
        col = pc.binary_join_element_wise(text, ".000000", "")
    elif pa.types.is_date(t):
        col = pc.strftime(col, format="%Y-%m-%d")
    elif pa.types.is_boolean(t):
        col = pc.cast(col, pa.int64())
    values: list[Any] = col.to_pylist()
    return values
