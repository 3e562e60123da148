"""Repositories (仓储): one per aggregate, over a SQLAlchemy session the unit of work owns.

- :class:`RegistryRepository`: consortia and institutions, returned as the domain's :class:`Registry`;
- :class:`PersonRepository`: persons and their households (locking a household's rows for a change);
- :class:`ChoiceRepository`: the append-only choices;
- :class:`DesignationRepository`: one designation per (person, year);
- :class:`AuditRepository`: the append-only audit log.

Bulk writes (loading a data folder) go through :func:`upsert_rows` and :func:`insert_new_rows`, which work on SQLite
and PostgreSQL alike (``INSERT ... ON CONFLICT``) in batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yigongti.domain.enrollment import Designation, Source
from yigongti.domain.household import Member
from yigongti.domain.registry import Consortium, Institution, Registry, Tier
from yigongti.store.models import AuditRow, ChoiceRow, ConsortiumRow, DesignationRow, InstitutionRow, PersonRow

__all__ = [
    "RegistryRepository",
    "PersonRepository",
    "ChoiceRepository",
    "DesignationRepository",
    "AuditRepository",
    "upsert_rows",
    "insert_new_rows",
    "BATCH_ROWS",
]

BATCH_ROWS = 5_000


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
        insts = self.session.scalars(select(InstitutionRow).where(InstitutionRow.inst_id.in_(i_ids))) if i_ids else []
        cons = (self.session.scalars(select(ConsortiumRow).where(ConsortiumRow.consortium_id.in_(c_ids)))
                if c_ids else [])
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
            stmt = stmt.with_for_update()
        return list(self.session.scalars(stmt))

    @staticmethod
    def members(rows: Sequence[PersonRow]) -> list[Member]:
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

    def for_person(self, person_id: str, year: int | None = None) -> list[ChoiceRow]:
        """A person's choices in the order they were made (chosen_at, then choice_id)."""
        stmt = select(ChoiceRow).where(ChoiceRow.person_id == person_id)
        if year is not None:
            stmt = stmt.where(ChoiceRow.year == year)
        return list(self.session.scalars(stmt.order_by(ChoiceRow.chosen_at, ChoiceRow.choice_id)))

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
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail is not None else None
        self.session.add(AuditRow(at=at, actor=actor, action=action, person_id=person_id, detail=text))

    def for_person(self, person_id: str) -> list[AuditRow]:
        return list(self.session.scalars(select(AuditRow).where(AuditRow.person_id == person_id)
                                          .order_by(AuditRow.at, AuditRow.audit_id)))


# ------------------------------------------------------------------------------------------------ bulk writes

def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _dialect_insert(session: Session, table: Table) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return pg_insert(table)
    if name == "sqlite":
        return sqlite_insert(table)
    raise NotImplementedError(f"bulk upsert on {name} / 不支持的数据库")


def _batches(rows: Sequence[Mapping[str, Any]], size: int) -> Iterable[Sequence[Mapping[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def upsert_rows(session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]], *,
                key: Sequence[str], keep: Sequence[str] = (), touch: Sequence[str] = (),
                only_where: ColumnElement[bool] | None = None) -> None:
    """Insert ``rows`` or, when the ``key`` exists, update the other columns, and only where a value differs (an
    identical row is left untouched). Columns in ``keep`` are written on insert and never changed afterwards;
    columns in ``touch`` (an ``updated_at``) are not compared, only updated along with a real change.
    ``only_where``: a condition on the existing row, which is left alone when it does not hold."""
    if not rows:
        return
    table: Table = model.__table__
    stmt = _dialect_insert(session, table)
    changing = [c for c in rows[0] if c not in key and c not in keep]
    if not changing:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    else:
        differs: ColumnElement[bool] = or_(false(), *(table.c[c].is_distinct_from(stmt.excluded[c])
                                                      for c in changing if c not in touch))
        if only_where is not None:
            differs = and_(only_where, differs)
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={c: stmt.excluded[c] for c in changing},
                                          where=differs)
    for batch in _batches(rows, BATCH_ROWS):
        session.execute(stmt, list(batch))


def insert_new_rows(session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]], *,
                    key: Sequence[str]) -> None:
    """Insert the rows whose ``key`` (a unique key) is not in the table yet; leave existing rows alone."""
    if not rows:
        return
    stmt = _dialect_insert(session, model.__table__).on_conflict_do_nothing(index_elements=list(key))
    for batch in _batches(rows, BATCH_ROWS):
        session.execute(stmt, list(batch))
