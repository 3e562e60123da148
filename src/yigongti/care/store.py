"""Family-doctor and chronic-disease tables (家庭医生与慢病数据表) and their repositories: teams and their members,
contracts, the chronic-disease registry, follow-ups. Dates are China dates; times China time without a zone."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.care.domain import Control, Disease, KeyPopulation, TeamRole
from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base
from yigongti.enrollment.store import DesignationRow, PersonRow
from yigongti.registry.store import InstitutionRow

__all__ = [
    "CareRepository",
    "ContractRow",
    "FollowupRow",
    "KeyRegisterRow",
    "KeyServiceRow",
    "LongPrescriptionRow",
    "RegistryRow",
    "TeamMemberRow",
    "TeamRow",
]


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_DISEASES = [d.value for d in Disease]


class TeamRow(Base):
    """家庭医生团队 / a family-doctor team of an institution (a village clinic or township centre)."""

    __tablename__ = "care_teams"

    team_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(128))


class TeamMemberRow(Base):
    """团队成员 / a member of a team: GP, nurse, public-health doctor, specialist of the county hospital;
    ``username`` the member's account when they have one (a GP's worklist is theirs)."""

    __tablename__ = "care_team_members"
    __table_args__ = (CheckConstraint(_in("role", [r.value for r in TeamRole]), name="role"),)

    member_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(Integer, ForeignKey("care_teams.team_id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    username: Mapped[str | None] = mapped_column(String(128), index=True)


class ContractRow(Base):
    """签约 / a yearly contract of a resident with a team and its GP, from ``start_date`` to ``end_date``
    (inclusive); ``household_id`` when signed for the household; ``pregnant`` and ``conditions`` (tuberculosis,
    mental) as declared at signing, for the key populations."""

    __tablename__ = "care_contracts"
    __table_args__ = (Index(None, "gp_member_id", "end_date"), Index(None, "person_id", "end_date"))

    contract_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    team_id: Mapped[int] = mapped_column(Integer, ForeignKey("care_teams.team_id"))
    gp_member_id: Mapped[int] = mapped_column(Integer, ForeignKey("care_team_members.member_id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    household_id: Mapped[str | None] = mapped_column(String(_ID))
    pregnant: Mapped[bool] = mapped_column(Boolean, default=False)
    conditions: Mapped[str] = mapped_column(String(64), default="")
    signed_at: Mapped[datetime] = mapped_column(DateTime)
    signed_by: Mapped[str] = mapped_column(String(128))


class RegistryRow(Base):
    """慢病登记 / a person registered for a chronic disease: when, where, and from what (a claim's diagnosis or a
    screening at a follow-up). One row per person and disease."""

    __tablename__ = "care_registry"
    __table_args__ = (
        UniqueConstraint("person_id", "disease"),
        CheckConstraint(_in("disease", _DISEASES), name="disease"),
        CheckConstraint(_in("source", ["claim", "screening", "manual"]), name="source"),
        Index(None, "inst_id", "disease"),
    )

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    disease: Mapped[str] = mapped_column(String(16))
    registered_on: Mapped[date] = mapped_column(Date)
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    source: Mapped[str] = mapped_column(String(16))
    claim_id: Mapped[str | None] = mapped_column(String(_ID))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class FollowupRow(Base):
    """随访 / a face-to-face follow-up: readings, medicines, the next date, the control status of the reading."""

    __tablename__ = "care_followups"
    __table_args__ = (
        CheckConstraint(_in("disease", _DISEASES), name="disease"),
        CheckConstraint(_in("control", [c.value for c in Control]), name="control"),
        Index(None, "person_id", "disease", "date"),
        Index(None, "inst_id", "date"),
    )

    followup_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    disease: Mapped[str] = mapped_column(String(16))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    date: Mapped[_dt.date] = mapped_column(Date)
    systolic: Mapped[int | None] = mapped_column(Integer)
    diastolic: Mapped[int | None] = mapped_column(Integer)
    fasting_glucose: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    hba1c: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    medicines: Mapped[str] = mapped_column(Text, default="")
    next_date: Mapped[_dt.date | None] = mapped_column(Date)
    control: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(128))


_REGISTERED = [KeyPopulation.PREGNANT.value, KeyPopulation.TUBERCULOSIS.value, KeyPopulation.MENTAL.value]
_SCHEDULED = [KeyPopulation.ELDERLY.value, KeyPopulation.CHILD.value, *_REGISTERED]


class KeyRegisterRow(Base):
    """重点人群登记 / a person on the register of a key population known from an episode, not the birth date: a
    pregnancy (``start_date`` the last menstrual period, ``end_date`` the delivery), a tuberculosis treatment (its
    start, the day it stopped), a severe mental disorder (registered, deregistered). One row per episode."""

    __tablename__ = "care_key_registers"
    __table_args__ = (
        UniqueConstraint("person_id", "population", "start_date"),
        CheckConstraint(_in("population", _REGISTERED), name="population"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        Index(None, "population", "start_date"),
    )

    register_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"), index=True)
    population: Mapped[str] = mapped_column(String(16))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(128))


class KeyServiceRow(Base):
    """重点人群服务记录 / a service given to a person of a key population: a health check of the elderly, a child
    health visit, a prenatal visit, a tuberculosis or mental-disorder follow-up; one per person, population and
    day."""

    __tablename__ = "care_key_services"
    __table_args__ = (
        UniqueConstraint("person_id", "population", "date"),
        CheckConstraint(_in("population", _SCHEDULED), name="population"),
        Index(None, "date"),
    )

    service_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    population: Mapped[str] = mapped_column(String(16))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    date: Mapped[_dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(128))


class LongPrescriptionRow(Base):
    """长处方 / a long prescription issued (more than 30 days, up to the policy's ``care.long_prescription_days``) to
    a stable contracted chronic patient: ``gp_member_id`` the family doctor (GP seat) of the person's contract that
    day, whose count it is; ``inst_id`` and ``issued_by`` the prescribing clinician's institution and account."""

    __tablename__ = "care_long_prescriptions"
    __table_args__ = (
        CheckConstraint(_in("disease", _DISEASES), name="disease"),
        CheckConstraint("days >= 1", name="days"),
        Index(None, "gp_member_id", "issued_at"),
        Index(None, "person_id"),
    )

    rx_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    disease: Mapped[str] = mapped_column(String(16))
    days: Mapped[int] = mapped_column(Integer)
    gp_member_id: Mapped[int] = mapped_column(Integer, ForeignKey("care_team_members.member_id"))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    issued_by: Mapped[str] = mapped_column(String(128))


class CareRepository:
    """Reads and writes of the care tables over one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Base) -> None:
        self.session.add(row)
        self.session.flush()

    # teams
    def team(self, team_id: int) -> TeamRow | None:
        return self.session.get(TeamRow, team_id)

    def member(self, member_id: int) -> TeamMemberRow | None:
        return self.session.get(TeamMemberRow, member_id)

    def members(self, team_ids: Sequence[int]) -> list[TeamMemberRow]:
        if not team_ids:
            return []
        return list(self.session.scalars(select(TeamMemberRow).where(TeamMemberRow.team_id.in_(team_ids))
                                         .order_by(TeamMemberRow.team_id, TeamMemberRow.member_id)))

    def teams_of(self, inst_ids: Sequence[str]) -> list[TeamRow]:
        return list(self.session.scalars(select(TeamRow).where(TeamRow.inst_id.in_(inst_ids))
                                         .order_by(TeamRow.team_id)))

    def institution(self, inst_id: str) -> InstitutionRow | None:
        return self.session.get(InstitutionRow, inst_id)

    def designation(self, person_id: str, year: int) -> DesignationRow | None:
        return self.session.scalar(select(DesignationRow).where(DesignationRow.person_id == person_id,
                                                                DesignationRow.year == year))

    def person(self, person_id: str) -> PersonRow | None:
        return self.session.get(PersonRow, person_id)

    # contracts
    def panel_size(self, gp_member_id: int, on: date, *, lock: bool = False) -> int:
        """Persons under an active contract with this GP on ``on``. ``lock``: take the GP's row first (FOR UPDATE
        on PostgreSQL), so that two signings for one GP at once count one after the other."""
        if lock:
            self.session.execute(select(TeamMemberRow.member_id).where(TeamMemberRow.member_id == gp_member_id)
                                 .with_for_update())
        return int(self.session.scalar(select(func.count()).select_from(ContractRow).where(
            ContractRow.gp_member_id == gp_member_id, ContractRow.start_date <= on, ContractRow.end_date >= on)) or 0)

    def active_contract(self, person_id: str, on: date) -> ContractRow | None:
        return self.session.scalar(select(ContractRow).where(
            ContractRow.person_id == person_id, ContractRow.start_date <= on, ContractRow.end_date >= on)
            .order_by(ContractRow.contract_id.desc()).limit(1))

    def overlapping(self, person_ids: Sequence[str], start: date, end: date) -> list[ContractRow]:
        return list(self.session.scalars(select(ContractRow).where(
            ContractRow.person_id.in_(person_ids), ContractRow.start_date <= end, ContractRow.end_date >= start)))

    def contracts_of_gp(self, gp_member_id: int, on: date) -> list[ContractRow]:
        return list(self.session.scalars(select(ContractRow).where(
            ContractRow.gp_member_id == gp_member_id, ContractRow.start_date <= on, ContractRow.end_date >= on)
            .order_by(ContractRow.person_id)))

    def contracted_ids(self, on: date) -> set[str]:
        return set(self.session.scalars(select(ContractRow.person_id).where(
            ContractRow.start_date <= on, ContractRow.end_date >= on)))

    def declared(self, on: date) -> list[ContractRow]:
        """Active contracts that declare a key population (pregnant, a condition)."""
        return list(self.session.scalars(select(ContractRow).where(
            ContractRow.start_date <= on, ContractRow.end_date >= on,
            or_(ContractRow.pregnant.is_(True), ContractRow.conditions != ""))))

    # registry and follow-ups
    def registry_entry(self, person_id: str, disease: str) -> RegistryRow | None:
        return self.session.scalar(select(RegistryRow).where(RegistryRow.person_id == person_id,
                                                             RegistryRow.disease == disease))

    def registry_of(self, person_ids: Sequence[str]) -> list[RegistryRow]:
        if not person_ids:
            return []
        return list(self.session.scalars(select(RegistryRow).where(RegistryRow.person_id.in_(person_ids))
                                         .order_by(RegistryRow.person_id, RegistryRow.disease)))

    def registered_ids(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for pid, dis in self.session.execute(select(RegistryRow.person_id, RegistryRow.disease)):
            out.setdefault(dis, set()).add(pid)
        return out

    def last_followups(self, person_ids: Sequence[str]) -> dict[tuple[str, str], FollowupRow]:
        """The latest follow-up of each (person, disease) among ``person_ids``."""
        if not person_ids:
            return {}
        rows = self.session.scalars(select(FollowupRow).where(FollowupRow.person_id.in_(person_ids))
                                    .order_by(FollowupRow.date, FollowupRow.followup_id))
        return {(r.person_id, r.disease): r for r in rows}

    def followups(self, person_id: str, *, limit: int = 200) -> list[FollowupRow]:
        return list(self.session.scalars(select(FollowupRow).where(FollowupRow.person_id == person_id)
                                         .order_by(FollowupRow.date.desc(), FollowupRow.followup_id.desc())
                                         .limit(limit)))

    # key populations
    def key_registers(self, person_ids: Sequence[str] | None = None, *, since: date | None = None,
                      until: date | None = None) -> list[KeyRegisterRow]:
        """Register episodes (of ``person_ids``, else everyone's) open on some day of ``[since, until]``."""
        q = select(KeyRegisterRow)
        if person_ids is not None:
            if not person_ids:
                return []
            q = q.where(KeyRegisterRow.person_id.in_(person_ids))
        if until is not None:
            q = q.where(KeyRegisterRow.start_date <= until)
        if since is not None:
            q = q.where(or_(KeyRegisterRow.end_date.is_(None), KeyRegisterRow.end_date >= since))
        return list(self.session.scalars(q.order_by(KeyRegisterRow.person_id, KeyRegisterRow.start_date)))

    def key_register(self, person_id: str, population: str, start: date) -> KeyRegisterRow | None:
        return self.session.scalar(select(KeyRegisterRow).where(
            KeyRegisterRow.person_id == person_id, KeyRegisterRow.population == population,
            KeyRegisterRow.start_date == start))

    def key_service(self, person_id: str, population: str, on: date) -> KeyServiceRow | None:
        return self.session.scalar(select(KeyServiceRow).where(
            KeyServiceRow.person_id == person_id, KeyServiceRow.population == population, KeyServiceRow.date == on))

    def key_services(self, person_ids: Sequence[str] | None = None, *, since: date,
                     until: date) -> dict[tuple[str, str], list[date]]:
        """(person, population) -> the dates of their services in ``[since, until]``, sorted."""
        q = select(KeyServiceRow.person_id, KeyServiceRow.population, KeyServiceRow.date).where(
            KeyServiceRow.date >= since, KeyServiceRow.date <= until)
        if person_ids is not None:
            if not person_ids:
                return {}
            q = q.where(KeyServiceRow.person_id.in_(person_ids))
        out: dict[tuple[str, str], list[date]] = {}
        for pid, pop, d in self.session.execute(q.order_by(KeyServiceRow.date)):
            out.setdefault((pid, pop), []).append(d)
        return out

    # long prescriptions
    def long_prescription_counts(self, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
        """GP seat -> (long prescriptions, their days) issued from ``start`` (inclusive) to ``end`` (exclusive)."""
        rows = self.session.execute(
            select(LongPrescriptionRow.gp_member_id, func.count(), func.sum(LongPrescriptionRow.days))
            .where(LongPrescriptionRow.issued_at >= start, LongPrescriptionRow.issued_at < end)
            .group_by(LongPrescriptionRow.gp_member_id))
        return {int(gp): (int(n), int(d or 0)) for gp, n, d in rows}
