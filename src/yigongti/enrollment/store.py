"""Database tables (数据库表) as SQLAlchemy 2 typed models: persons, choices, designations, and their repositories.

The domain never sees these classes: repositories (``enrollment.repositories``) turn rows into domain values.
Times are China time (UTC+8) without a zone, as everywhere in yigongti. ``choices`` and ``audit_log`` are
append-only: the migrations add triggers that refuse UPDATE and DELETE on them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    false,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.core.audit import AuditRepository, AuditRow, audit_detail
from yigongti.core.bulk import count_rows as _count
from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base, DriverStatement
from yigongti.enrollment.domain import Designation, Source
from yigongti.enrollment.household import Member

__all__ = [
    "CHOICE_STATUSES",
    "DESIGNATION_SOURCES",
    "ChoiceRepository",
    "ChoiceRow",
    "DesignationRepository",
    "DesignationRow",
    "HouseholdMember",
    "PersonRepository",
    "PersonRow",
]

_UPSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}

CHOICE_STATUSES = ("valid", "refused")
DESIGNATION_SOURCES = ("choice", "carried", "household", "nearest")


class PersonRow(Base):
    """参保人 / an insured person. ``id_number`` is personal data: never logged unmasked (``__repr__`` leaves it out).
    ``household_head`` marks the household's head (户主) for ``household_mode = head_for_all_adults``;
    ``lives_away`` a person who lives and works away all year (常年外出): no default designation, no heads unless
    they chose (as the batch, ``enrollment.engine``)."""

    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("sex IN ('M', 'F')", name="sex"),
        CheckConstraint("insurance IN ('resident', 'employee')", name="insurance"),
    )

    person_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    id_number: Mapped[str | None] = mapped_column(String(18))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    household_id: Mapped[str] = mapped_column(String(_ID), index=True)
    household_head: Mapped[bool] = mapped_column(Boolean, default=False)
    lives_away: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    insurance: Mapped[str] = mapped_column(String(16))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)

    def __repr__(self) -> str:
        return f"PersonRow(person_id={self.person_id!r}, household_id={self.household_id!r})"


class ChoiceRow(Base):
    """定点选择 / one choice, kept for ever (append-only) with its status and, when refused, the refusal code.

    ``person_id`` is whose designation the choice is for; ``chooser_id`` who made it (the person, or a household
    member choosing for them). ``choice_key`` makes loading a data folder idempotent: rows from a file get a key
    derived from their content, choices submitted online a random one.
    """

    __tablename__ = "choices"
    __table_args__ = (
        CheckConstraint("status IN ('valid', 'refused')", name="status"),
        Index(None, "person_id", "year", "chosen_at"),
    )

    choice_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    choice_key: Mapped[str] = mapped_column(String(80), unique=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    chooser_id: Mapped[str] = mapped_column(String(_ID))
    year: Mapped[int] = mapped_column(Integer)
    consortium_id: Mapped[str | None] = mapped_column(String(_ID))
    township_id: Mapped[str | None] = mapped_column(String(_ID))
    village_id: Mapped[str | None] = mapped_column(String(_ID))
    chosen_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(8))
    refusal_code: Mapped[str | None] = mapped_column(String(48))
    refusal_message: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16), default="file")
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class DesignationRow(Base):
    """定点 / the designation of a person for a year: one row per (person_id, year), enforced by a unique key."""

    __tablename__ = "designations"
    __table_args__ = (
        UniqueConstraint("person_id", "year"),
        CheckConstraint("source IN ('choice', 'carried', 'household', 'nearest')", name="source"),
        Index(None, "year", "village_id"),
    )

    designation_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    year: Mapped[int] = mapped_column(Integer)
    consortium_id: Mapped[str] = mapped_column(String(_ID))
    township_id: Mapped[str] = mapped_column(String(_ID))
    village_id: Mapped[str] = mapped_column(String(_ID))
    source: Mapped[str] = mapped_column(String(16))
    choice_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("choices.choice_id"))
    chosen_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)



# Statements of the choice path, built once (building and cache-keying them cost more than running them)
_P = PersonRow.__table__.c
_HOUSEHOLD_OF = (select(_P.person_id, _P.birth_date, _P.household_head, _P.county_code)
                 .where(_P.household_id == select(_P.household_id)
                        .where(_P.person_id == bindparam("person_id")).scalar_subquery())
                 .order_by(_P.person_id))
_HOUSEHOLD_OF_LOCKED = _HOUSEHOLD_OF.with_for_update(of=PersonRow.__table__)
_HOUSEHOLD_STATEMENTS = {False: DriverStatement(_HOUSEHOLD_OF), True: DriverStatement(_HOUSEHOLD_OF_LOCKED)}


class HouseholdMember(NamedTuple):
    """A household member as the choice path reads it (:meth:`PersonRepository.household_of`)."""

    person_id: str
    birth_date: date
    household_head: bool
    county_code: str

_INSERT_CHOICE = insert(cast(Table, ChoiceRow.__table__)).returning(ChoiceRow.__table__.c.choice_id)


_LATEST_COLS = ["person_id", "year", "consortium_id", "township_id", "village_id", "source", "choice_id", "chosen_at",
                "updated_at"]


def _upsert_latest(dialect: str, valid: Any) -> Any:
    """``INSERT INTO designations ... SELECT <the last of the valid choices ``valid``> ON CONFLICT (person_id, year)
    DO UPDATE ... WHERE <not already on it> RETURNING ...`` (THE designation rule, rules.md A3-A4: the latest
    ``chosen_at``, equal times the later recorded); ``valid``: the person-year's valid choices (a subquery of
    person_id, year, consortium_id, township_id, village_id, choice_id, chosen_at); parameter ``now``."""
    d = DesignationRow.__table__.c
    latest = (select(valid.c.person_id, valid.c.year, func.coalesce(valid.c.consortium_id, ""),
                     func.coalesce(valid.c.township_id, ""), func.coalesce(valid.c.village_id, ""),
                     literal(Source.CHOICE.value, String()), valid.c.choice_id, valid.c.chosen_at,
                     bindparam("now", type_=DateTime()))
              .order_by(valid.c.chosen_at.desc(), valid.c.choice_id.desc()).limit(1))
    stmt: Any = _UPSERTS[dialect](cast(Table, DesignationRow.__table__)).from_select(_LATEST_COLS, latest)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[d.person_id, d.year],
        set_={col: excluded[col] for col in _LATEST_COLS[2:]},
        where=d.choice_id.is_distinct_from(excluded.choice_id) | (d.source != excluded.source),
    ).returning(d.consortium_id, d.township_id, d.village_id, d.source)


def _valid_choices() -> Any:
    """The valid choices of the person-year given by the parameters person_id and year."""
    c = ChoiceRow.__table__.c
    return (select(c.person_id, c.year, c.consortium_id, c.township_id, c.village_id, c.choice_id, c.chosen_at)
            .where(c.person_id == bindparam("person_id"), c.year == bindparam("year"), c.status == "valid"))


@functools.cache
def _latest_choice_upsert(dialect: str) -> Any:
    """:func:`_upsert_latest` over the person-year's valid choices in the table; parameters person_id, year, now."""
    return _upsert_latest(dialect, _valid_choices().subquery("valid"))


_CHOICE_COLS = ["choice_key", "person_id", "chooser_id", "year", "consortium_id", "township_id", "village_id",
                "chosen_at", "status", "refusal_code", "refusal_message", "channel", "recorded_at"]
_AUDIT_DETAIL_HEAD = '{"choice_id": '  # the audit detail's first key (keys sorted): filled in by the statement


@functools.cache
def _accept_choice_pg() -> DriverStatement:
    """PostgreSQL: a valid choice's three writes as ONE statement (one round trip): the choice row, the designation
    (:func:`_upsert_latest` over the table's valid choices and the new row, which the statement's snapshot does not
    see), and the audit entry, whose detail text is ``:head || choice_id || :tail``. Returns the choice_id and the
    designation's columns (NULL when the designation was already on its latest choice)."""
    c = ChoiceRow.__table__.c
    a = cast(Table, AuditRow.__table__)
    new = (insert(cast(Table, ChoiceRow.__table__)).values({k: bindparam(f"c_{k}", type_=c[k].type)
                                                            for k in _CHOICE_COLS})
           .returning(c.person_id, c.year, c.consortium_id, c.township_id, c.village_id, c.choice_id, c.chosen_at)
           .cte("new_choice"))
    valid = union_all(_valid_choices(), select(new.c.person_id, new.c.year, new.c.consortium_id, new.c.township_id,
                                               new.c.village_id, new.c.choice_id, new.c.chosen_at))
    designated = _upsert_latest("postgresql", valid.subquery("valid")).cte("designated")
    detail = (bindparam("a_head", type_=Text()) + sa_cast(new.c.choice_id, Text())
              + bindparam("a_tail", type_=Text()))
    audited = (insert(a).from_select(["at", "actor", "action", "person_id", "detail"],
                                     select(bindparam("now", type_=DateTime()), bindparam("a_actor", type_=String()),
                                            bindparam("a_action", type_=String()), new.c.person_id, detail))
               .cte("audited"))
    return DriverStatement(select(new.c.choice_id, designated.c.consortium_id, designated.c.township_id,
                                  designated.c.village_id, designated.c.source)
                           .select_from(new.outerjoin(designated, true())).add_cte(audited))


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

    def household_of(self, person_id: str, *, lock: bool = False) -> list[HouseholdMember]:
        """The members of ``person_id``'s household (empty when the person is unknown), in ONE statement (no ORM
        objects; on PostgreSQL on the driver's cursor); ``lock`` as in :meth:`household`."""
        return [HouseholdMember(*r) for r in _HOUSEHOLD_STATEMENTS[lock].rows(self.session, {"person_id": person_id})]

    @staticmethod
    def members(rows: Sequence[PersonRow | HouseholdMember]) -> list[Member]:
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

    def insert_accepted(self, values: Mapping[str, Any], *, now: datetime, actor: str, action: str,
                        detail: Mapping[str, Any]) -> tuple[int, Designation]:
        """Append a valid choice (column values), set the person's designation for the year to their last valid
        choice (:meth:`DesignationRepository.put_latest_choice`) and append the audit entry ``detail`` with the
        new ``choice_id`` added: one statement on PostgreSQL, three elsewhere. Returns (choice_id, designation)."""
        if self.session.get_bind().dialect.name != "postgresql":
            choice_id = self.insert(values)
            designations = DesignationRepository(self.session)
            designation = designations.put_latest_choice(values["person_id"], values["year"], now=now)
            AuditRepository(self.session).insert(actor=actor, action=action, at=now, person_id=values["person_id"],
                                                 detail={**detail, "choice_id": choice_id})
            assert designation is not None  # a valid choice was just added
            return choice_id, designation
        text = audit_detail({**detail, "choice_id": 0})
        assert text is not None and text.startswith(_AUDIT_DETAIL_HEAD + "0")  # keys sorted: choice_id first
        params = {f"c_{k}": values[k] for k in _CHOICE_COLS}
        params |= {"person_id": values["person_id"], "year": values["year"], "now": now, "a_actor": actor,
                   "a_action": action, "a_head": _AUDIT_DETAIL_HEAD, "a_tail": text[len(_AUDIT_DETAIL_HEAD) + 1:]}
        (row,) = _accept_choice_pg().rows(self.session, params)
        choice_id = int(row[0])
        person_id, year = values["person_id"], values["year"]
        if row[4] is None:  # the designation was already on the latest valid choice (a later chosen_at)
            current = DesignationRepository(self.session).get(person_id, year)
            assert current is not None and current.choice_id is not None
            return choice_id, DesignationRepository.as_domain(current)
        return choice_id, Designation(person_id, year, row[1], row[2], row[3], Source(row[4]))

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


