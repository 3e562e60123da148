"""Database tables (数据库表) as SQLAlchemy 2 typed models: the registry, persons, choices, designations, audit log.

The domain never sees these classes: repositories (``store.repositories``) turn rows into domain values.
Times are China time (UTC+8) without a zone, as everywhere in yigongti. ``choices`` and ``audit_log`` are
append-only: the migrations add triggers that refuse UPDATE and DELETE on them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "APPEND_ONLY_TABLES",
    "CHOICE_STATUSES",
    "DESIGNATION_SOURCES",
    "NAMING_CONVENTION",
    "AuditRow",
    "Base",
    "ChoiceRow",
    "ConsortiumRow",
    "DesignationRow",
    "InstitutionRow",
    "PersonRow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CHOICE_STATUSES = ("valid", "refused")
DESIGNATION_SOURCES = ("choice", "carried", "household", "nearest")
APPEND_ONLY_TABLES = ("choices", "audit_log")

_ID = 64  # identifiers of the data contract (person_id, inst_id ...)


class Base(DeclarativeBase):
    """Declarative base of every yigongti table; other store modules (accounts) share its metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ConsortiumRow(Base):
    """医共体 / a county medical community. ``lead_inst_id`` is checked by the registry rules, not by a foreign key
    (consortia and institutions refer to each other)."""

    __tablename__ = "consortia"

    consortium_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    lead_inst_id: Mapped[str] = mapped_column(String(_ID))


class InstitutionRow(Base):
    """医疗机构 / an institution: a consortium member (county, township, village tier) or an outside hospital."""

    __tablename__ = "institutions"
    __table_args__ = (
        CheckConstraint("tier IN ('county', 'township', 'village', 'outside')", name="tier"),
        CheckConstraint("level BETWEEN 0 AND 3", name="level"),
    )

    inst_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    consortium_id: Mapped[str | None] = mapped_column(
        String(_ID), ForeignKey("consortia.consortium_id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(_ID), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class PersonRow(Base):
    """参保人 / an insured person. ``id_number`` is personal data: never logged unmasked (``__repr__`` leaves it out).
    ``household_head`` marks the household's head (户主) for ``household_mode = head_for_all_adults``."""

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


class AuditRow(Base):
    """审计日志 / append-only audit log: who did what, when, to which person."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "person_id", "at"),)

    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str | None] = mapped_column(String(_ID))
    detail: Mapped[str | None] = mapped_column(Text)
