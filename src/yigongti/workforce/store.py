"""Workforce tables (人员数据表) and their repository: the staff registry, income per year, stationing stints,
training sessions, reviewed prescriptions and checked medical records.

A prescription is drawn for review at most once per institution (a unique key on ``inst_id, prescription_id``), a
record checked at most once (``inst_id, record_id``); a review is scored by a conditional UPDATE
(``WHERE score IS NULL``), so two reviewers at once cannot both score it. Times are China time (UTC+8) without a zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base
from yigongti.registry.store import ConsortiumRow, InstitutionRow
from yigongti.workforce.domain import Profession, Title

__all__ = ["EmergencyTeamRow", "RecordCheckRow", "ReviewRow", "StaffIncomeRow", "StaffRow", "StintRow",
           "TeamMemberRow", "TrainingRow", "WorkforceRepository"]

_TITLES = ", ".join(repr(t.value) for t in Title)
_PROFESSIONS = ", ".join(repr(p.value) for p in Profession)


class StaffRow(Base):
    """人员 / one person of the consortium's staff registry: employer (编制/聘用单位) and where they work."""

    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(f"title IN ({_TITLES})", name="title"),
                      CheckConstraint(f"profession IN ({_PROFESSIONS})", name="profession"),
                      Index(None, "employer_id"), Index(None, "works_at_id"))

    staff_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(32))
    profession: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(100))
    employer_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    works_at_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class StaffIncomeRow(Base):
    """人员收入 / a person's total income in a year, in fen."""

    __tablename__ = "staff_income"
    __table_args__ = (CheckConstraint("income >= 0", name="income"),)

    staff_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("staff.staff_id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    income: Mapped[int] = mapped_column(BigInteger)


class StintRow(Base):
    """派驻 / a person stationed at an institution from ``start_date`` to ``end_date`` (both included)."""

    __tablename__ = "staff_stints"
    __table_args__ = (CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
                      Index(None, "to_inst_id", "start_date"), Index(None, "staff_id"))

    stint_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("staff.staff_id"))
    to_inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(128))


class TrainingRow(Base):
    """培训 / a training session a person attended, in minutes."""

    __tablename__ = "staff_training"
    __table_args__ = (CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes"),
                      Index(None, "staff_id", "date"))

    training_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("staff.staff_id"))
    date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    course: Mapped[str | None] = mapped_column(String(200))


class ReviewRow(Base):
    """处方点评 / a prescription drawn for review and, once reviewed, its score (0-100)."""

    __tablename__ = "prescription_reviews"
    __table_args__ = (UniqueConstraint("inst_id", "prescription_id"),
                      CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score"),
                      Index(None, "inst_id", "period"))

    review_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    period: Mapped[str] = mapped_column(String(16))
    prescription_id: Mapped[str] = mapped_column(String(_ID))
    staff_id: Mapped[str | None] = mapped_column(String(_ID), ForeignKey("staff.staff_id"))
    seed: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[datetime] = mapped_column(DateTime)
    score: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(128))


class RecordCheckRow(Base):
    """病历质控 / a medical record checked against the checklist: the items passed and the score (0-100)."""

    __tablename__ = "record_checks"
    __table_args__ = (UniqueConstraint("inst_id", "record_id"),
                      CheckConstraint("score >= 0 AND score <= 100", name="score"),
                      Index(None, "inst_id", "checked_at"))

    check_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    record_id: Mapped[str] = mapped_column(String(_ID))
    staff_id: Mapped[str | None] = mapped_column(String(_ID), ForeignKey("staff.staff_id"))
    passed: Mapped[str] = mapped_column(Text)  # the item codes passed, comma-separated
    score: Mapped[int] = mapped_column(Integer)
    checked_at: Mapped[datetime] = mapped_column(DateTime)
    checked_by: Mapped[str] = mapped_column(String(128))


class EmergencyTeamRow(Base):
    """应急队伍 / an emergency team of a consortium (传染病防控、紧急医学救援、中毒处置), based at a member."""

    __tablename__ = "emergency_teams"
    __table_args__ = (CheckConstraint("kind IN ('epidemic', 'rescue', 'poisoning')", name="kind"),
                      UniqueConstraint("consortium_id", "name"))

    team_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consortium_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("consortia.consortium_id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    base_inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class TeamMemberRow(Base):
    """应急队员 / a person on a team's roster: the duty, where they work; on the roster once."""

    __tablename__ = "emergency_team_members"
    __table_args__ = (CheckConstraint("duty IN ('leader', 'deputy', 'member')", name="duty"),
                      UniqueConstraint("team_id", "staff_id"), Index(None, "staff_id"))

    member_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(Integer, ForeignKey("emergency_teams.team_id"))
    staff_id: Mapped[str] = mapped_column(String(_ID))
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(32))
    speciality: Mapped[str | None] = mapped_column(String(100))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    duty: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(DateTime)


class WorkforceRepository:
    """Staff, income, stints, training, reviews and record checks."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def institution(self, inst_id: str) -> InstitutionRow | None:
        return self.session.get(InstitutionRow, inst_id)

    def institutions(self, consortium_id: str | None = None) -> list[InstitutionRow]:
        stmt = select(InstitutionRow).order_by(InstitutionRow.inst_id)
        if consortium_id is not None:
            stmt = stmt.where(InstitutionRow.consortium_id == consortium_id)
        return list(self.session.scalars(stmt))

    def consortia(self) -> list[ConsortiumRow]:
        return list(self.session.scalars(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id)))

    def staff(self, staff_id: str) -> StaffRow | None:
        return self.session.get(StaffRow, staff_id)

    def put_staff(self, row: StaffRow) -> None:
        self.session.merge(row)
        self.session.flush()

    def staff_at(self, inst_ids: Iterable[str] | None) -> list[StaffRow]:
        """Staff employed by or working at one of ``inst_ids`` (None: everyone), by id."""
        stmt = select(StaffRow).order_by(StaffRow.staff_id)
        if inst_ids is not None:
            ids = list(inst_ids)
            stmt = stmt.where(or_(StaffRow.employer_id.in_(ids), StaffRow.works_at_id.in_(ids)))
        return list(self.session.scalars(stmt))

    def staff_by_ids(self, staff_ids: Iterable[str]) -> list[StaffRow]:
        ids = list(set(staff_ids))
        return list(self.session.scalars(select(StaffRow).where(StaffRow.staff_id.in_(ids)))) if ids else []

    def put_income(self, staff_id: str, year: int, income: int) -> None:
        self.session.merge(StaffIncomeRow(staff_id=staff_id, year=year, income=income))
        self.session.flush()

    def incomes(self, year: int) -> dict[str, int]:
        rows = self.session.execute(select(StaffIncomeRow.staff_id, StaffIncomeRow.income)
                                    .where(StaffIncomeRow.year == year))
        return {str(s): int(i) for s, i in rows}

    def add(self, row: StintRow | TrainingRow | ReviewRow | RecordCheckRow) -> None:
        self.session.add(row)
        self.session.flush()

    def stints_to(self, inst_ids: Iterable[str], year: int) -> list[StintRow]:
        """Stints at ``inst_ids`` that touch ``year``."""
        return list(self.session.scalars(
            select(StintRow).where(StintRow.to_inst_id.in_(list(inst_ids)), StintRow.start_date <= date(year, 12, 31),
                                   or_(StintRow.end_date.is_(None), StintRow.end_date >= date(year, 1, 1)))
            .order_by(StintRow.to_inst_id, StintRow.start_date, StintRow.stint_id)))

    def training(self, staff_ids: Iterable[str], year: int) -> list[TrainingRow]:
        return list(self.session.scalars(
            select(TrainingRow).where(TrainingRow.staff_id.in_(list(staff_ids)),
                                      TrainingRow.date >= date(year, 1, 1), TrainingRow.date <= date(year, 12, 31))
            .order_by(TrainingRow.staff_id, TrainingRow.date)))

    def drawn(self, inst_id: str, prescription_ids: Iterable[str]) -> set[str]:
        ids = list(prescription_ids)
        if not ids:
            return set()
        return set(self.session.scalars(select(ReviewRow.prescription_id).where(
            ReviewRow.inst_id == inst_id, ReviewRow.prescription_id.in_(ids))))

    def review(self, review_id: int) -> ReviewRow | None:
        return self.session.get(ReviewRow, review_id)

    def score_review(self, review_id: int, *, score: int, note: str | None, at: datetime, by: str) -> bool:
        result = self.session.execute(
            update(ReviewRow).where(ReviewRow.review_id == review_id, ReviewRow.score.is_(None))
            .values(score=score, note=note, reviewed_at=at, reviewed_by=by)
            .execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def reviews(self, inst_ids: Iterable[str], *, since: datetime | None = None,
                until: datetime | None = None) -> list[ReviewRow]:
        stmt = select(ReviewRow).where(ReviewRow.inst_id.in_(list(inst_ids)))
        if since is not None:
            stmt = stmt.where(ReviewRow.drawn_at >= since)
        if until is not None:
            stmt = stmt.where(ReviewRow.drawn_at < until)
        return list(self.session.scalars(stmt.order_by(ReviewRow.inst_id, ReviewRow.review_id)))

    def record_check(self, inst_id: str, record_id: str) -> RecordCheckRow | None:
        return self.session.scalar(select(RecordCheckRow).where(RecordCheckRow.inst_id == inst_id,
                                                                RecordCheckRow.record_id == record_id))

    def record_checks(self, inst_ids: Iterable[str], *, since: datetime | None = None,
                      until: datetime | None = None) -> list[RecordCheckRow]:
        stmt = select(RecordCheckRow).where(RecordCheckRow.inst_id.in_(list(inst_ids)))
        if since is not None:
            stmt = stmt.where(RecordCheckRow.checked_at >= since)
        if until is not None:
            stmt = stmt.where(RecordCheckRow.checked_at < until)
        return list(self.session.scalars(stmt.order_by(RecordCheckRow.inst_id, RecordCheckRow.check_id)))

    def stamp(self, year: int) -> tuple[object, ...]:
        """Counts, sums and last ids of the workforce tables as they bear on ``year`` (see
        ``service.workforce_stamp``)."""
        since, until = datetime(year, 1, 1), datetime(year + 1, 1, 1)
        in_year = (ReviewRow.drawn_at >= since, ReviewRow.drawn_at < until)
        parts = [select(func.count()).select_from(StaffRow), select(func.max(StaffRow.updated_at)),
                 select(func.count()).select_from(StaffIncomeRow).where(StaffIncomeRow.year == year),
                 select(func.sum(StaffIncomeRow.income)).where(StaffIncomeRow.year == year),
                 select(func.count()).select_from(StintRow), select(func.max(StintRow.stint_id)),
                 select(func.count()).select_from(TrainingRow), select(func.max(TrainingRow.training_id)),
                 select(func.count()).select_from(ReviewRow).where(*in_year),
                 select(func.count(ReviewRow.score)).where(*in_year), select(func.sum(ReviewRow.score)).where(*in_year),
                 select(func.count()).select_from(RecordCheckRow), select(func.max(RecordCheckRow.check_id))]
        row = self.session.execute(select(*(p.scalar_subquery() for p in parts))).one()  # one round trip
        return tuple(None if v is None else str(v) for v in row)

    def teams(self, consortium_ids: Iterable[str] | None) -> list[EmergencyTeamRow]:
        stmt = select(EmergencyTeamRow)
        if consortium_ids is not None:
            stmt = stmt.where(EmergencyTeamRow.consortium_id.in_(list(consortium_ids)))
        return list(self.session.scalars(stmt.order_by(EmergencyTeamRow.consortium_id, EmergencyTeamRow.team_id)))

    def team(self, team_id: int) -> EmergencyTeamRow | None:
        return self.session.get(EmergencyTeamRow, team_id)

    def add_team(self, row: EmergencyTeamRow | TeamMemberRow) -> None:
        self.session.add(row)
        self.session.flush()

    def members(self, team_ids: Iterable[int]) -> list[TeamMemberRow]:
        return list(self.session.scalars(select(TeamMemberRow).where(TeamMemberRow.team_id.in_(list(team_ids)))
                                         .order_by(TeamMemberRow.team_id, TeamMemberRow.member_id)))

    def member(self, team_id: int, staff_id: str) -> TeamMemberRow | None:
        return self.session.scalar(select(TeamMemberRow).where(TeamMemberRow.team_id == team_id,
                                                               TeamMemberRow.staff_id == staff_id))
