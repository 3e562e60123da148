"""Remote diagnosis tables (远程诊断数据表): the orders and each order's moves.

An order moves by a conditional UPDATE (``WHERE status = <the status it was read in>``), so two moves at once cannot
both succeed, on SQLite and PostgreSQL alike. Times are China time (UTC+8) without a zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.centres.domain import ConsultStatus, Kind, Status
from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base
from yigongti.registry.store import InstitutionRow

__all__ = ["ConsultationEventRow", "ConsultationRow", "DiagnosisEventRow", "DiagnosisOrderRow", "OrderRepository"]


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class DiagnosisOrderRow(Base):
    """远程诊断申请单 / an order placed at a primary institution (``from_inst_id``) for a centre (``to_inst_id``): the
    kind, the clinical question, the report the centre returns. ``repeat_of``: a still-valid result of the same kind
    the order repeats (flagged), or, for a ``recognised`` order, the result recognised instead of a new read."""

    __tablename__ = "diagnosis_orders"
    __table_args__ = (
        CheckConstraint(_in("kind", [k.value for k in Kind]), name="kind"),
        CheckConstraint(_in("status", [s.value for s in Status]), name="status"),
        Index(None, "to_inst_id", "status"),
        Index(None, "from_inst_id", "status"),
        Index(None, "person_id", "kind", "reported_at"),
    )

    order_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    from_inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    to_inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    kind: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    repeat_of: Mapped[int | None] = mapped_column(Integer, ForeignKey("diagnosis_orders.order_id"))
    repeat_reason: Mapped[str | None] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)
    abnormal: Mapped[bool | None] = mapped_column()
    ordered_at: Mapped[datetime] = mapped_column(DateTime)
    ordered_by: Mapped[str] = mapped_column(String(128))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime)
    reported_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class DiagnosisEventRow(Base):
    """申请单记录 / one move of an order: from which status to which, who, when (append-only)."""

    __tablename__ = "diagnosis_order_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("diagnosis_orders.order_id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(128))
    party: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))


class ConsultationRow(Base):
    """远程会诊申请 / a tele-consultation requested by a primary clinician (``from_inst_id``) of a county-tier member
    (``to_inst_id``) for a person: the specialty and question, the time the centre schedules, the opinion."""

    __tablename__ = "consultations"
    __table_args__ = (
        CheckConstraint(_in("status", [s.value for s in ConsultStatus]), name="status"),
        Index(None, "to_inst_id", "status"),
        Index(None, "from_inst_id", "status"),
        Index(None, "person_id"),
    )

    consultation_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    from_inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    to_inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    specialty: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime)
    opinion: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    requested_by: Mapped[str] = mapped_column(String(128))
    concluded_at: Mapped[datetime | None] = mapped_column(DateTime)
    concluded_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ConsultationEventRow(Base):
    """会诊记录 / one move of a consultation: from which status to which, who, when (append-only)."""

    __tablename__ = "consultation_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consultation_id: Mapped[int] = mapped_column(Integer, ForeignKey("consultations.consultation_id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(128))
    party: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))


class OrderRepository:
    """Orders and their moves."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: DiagnosisOrderRow) -> DiagnosisOrderRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, order_id: int) -> DiagnosisOrderRow | None:
        return self.session.get(DiagnosisOrderRow, order_id)

    def institution(self, inst_id: str) -> InstitutionRow | None:
        return self.session.get(InstitutionRow, inst_id)

    def members(self, consortium_id: str) -> list[str]:
        return list(self.session.scalars(select(InstitutionRow.inst_id)
                                         .where(InstitutionRow.consortium_id == consortium_id)))

    def move(self, order_id: int, *, from_status: str, to_status: str, at: datetime, **values: object) -> bool:
        """Move the order when it is still in ``from_status`` (one conditional UPDATE); False otherwise."""
        return self._move(DiagnosisOrderRow.order_id == order_id, DiagnosisOrderRow, from_status, to_status, at,
                          values)

    def _move(self, key: ColumnElement[bool], table: type[DiagnosisOrderRow] | type[ConsultationRow],
              from_status: str, to_status: str, at: datetime, values: dict[str, object]) -> bool:
        result = self.session.execute(
            update(table).where(key, table.status == from_status)
            .values(status=to_status, updated_at=at, **values).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def add_event(self, row: DiagnosisEventRow) -> None:
        self.session.add(row)
        self.session.flush()

    def events(self, order_id: int) -> list[DiagnosisEventRow]:
        return list(self.session.scalars(select(DiagnosisEventRow).where(DiagnosisEventRow.order_id == order_id)
                                         .order_by(DiagnosisEventRow.at, DiagnosisEventRow.event_id)))

    def latest_result(self, person_id: str, kind: str, centres: Sequence[str],
                      since: datetime) -> DiagnosisOrderRow | None:
        """The person's newest reported result of ``kind`` read by one of ``centres`` since ``since``."""
        return self.session.scalar(select(DiagnosisOrderRow).where(
            DiagnosisOrderRow.person_id == person_id, DiagnosisOrderRow.kind == kind,
            DiagnosisOrderRow.status == Status.REPORTED.value, DiagnosisOrderRow.to_inst_id.in_(centres),
            DiagnosisOrderRow.reported_at >= since)
            .order_by(DiagnosisOrderRow.reported_at.desc(), DiagnosisOrderRow.order_id.desc()).limit(1))

    def of_institution(self, inst_id: str, *, limit: int = 500) -> list[DiagnosisOrderRow]:
        """Orders placed or received by ``inst_id``, newest first."""
        return list(self.session.scalars(
            select(DiagnosisOrderRow).where(or_(DiagnosisOrderRow.from_inst_id == inst_id,
                                                DiagnosisOrderRow.to_inst_id == inst_id))
            .order_by(DiagnosisOrderRow.ordered_at.desc(), DiagnosisOrderRow.order_id.desc()).limit(limit)))

    def between(self, start: datetime, end: datetime, inst_ids: Sequence[str] | None = None) -> list[DiagnosisOrderRow]:
        """Orders placed in [start, end) (by or for one of ``inst_ids`` when given), oldest first."""
        stmt = select(DiagnosisOrderRow).where(DiagnosisOrderRow.ordered_at >= start,
                                               DiagnosisOrderRow.ordered_at < end)
        if inst_ids is not None:
            stmt = stmt.where(or_(DiagnosisOrderRow.from_inst_id.in_(inst_ids),
                                  DiagnosisOrderRow.to_inst_id.in_(inst_ids)))
        return list(self.session.scalars(stmt.order_by(DiagnosisOrderRow.order_id)))

    def reported(self) -> list[DiagnosisOrderRow]:
        """Every reported order (the export of the contract's ``remote_diagnoses`` table)."""
        return list(self.session.scalars(select(DiagnosisOrderRow).where(
            DiagnosisOrderRow.status == Status.REPORTED.value).order_by(DiagnosisOrderRow.order_id)))

    # ------------------------------------------------------------------------------------------ consultations

    def add_consultation(self, row: ConsultationRow) -> ConsultationRow:
        self.session.add(row)
        self.session.flush()
        return row

    def consultation(self, consultation_id: int) -> ConsultationRow | None:
        return self.session.get(ConsultationRow, consultation_id)

    def move_consultation(self, consultation_id: int, *, from_status: str, to_status: str, at: datetime,
                          **values: object) -> bool:
        """Move the consultation when it is still in ``from_status`` (one conditional UPDATE); False otherwise."""
        return self._move(ConsultationRow.consultation_id == consultation_id, ConsultationRow, from_status, to_status,
                          at, values)

    def add_consultation_event(self, row: ConsultationEventRow) -> None:
        self.session.add(row)
        self.session.flush()

    def consultation_events(self, consultation_id: int) -> list[ConsultationEventRow]:
        return list(self.session.scalars(
            select(ConsultationEventRow).where(ConsultationEventRow.consultation_id == consultation_id)
            .order_by(ConsultationEventRow.at, ConsultationEventRow.event_id)))

    def consultations_of(self, inst_id: str, *, limit: int = 500) -> list[ConsultationRow]:
        """Consultations requested or received by ``inst_id``, newest first."""
        return list(self.session.scalars(
            select(ConsultationRow).where(or_(ConsultationRow.from_inst_id == inst_id,
                                              ConsultationRow.to_inst_id == inst_id))
            .order_by(ConsultationRow.requested_at.desc(), ConsultationRow.consultation_id.desc()).limit(limit)))
