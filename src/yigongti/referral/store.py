"""Referral tables (转诊数据表) and their repositories: slots, referrals, each referral's transitions, bookings.

No double booking (不重复预约), on SQLite and PostgreSQL alike: a place is taken by ONE conditional UPDATE
(``booked = booked + 1 ... WHERE booked < capacity [AND booked_open < capacity - reserved]``), which the database
evaluates on the row it locks, so two bookings at once can never both take the last place; a person holds at most
one live booking per slot and a referral at most one (unique partial indexes). A referral moves by a conditional
UPDATE too (``WHERE status = <the status it was read in>``), so two moves at once cannot both succeed.
Times are China time (UTC+8) without a zone, as everywhere in yigongti.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base
from yigongti.enrollment.store import DesignationRow
from yigongti.referral.domain import Direction, SlotKind, Status
from yigongti.registry.store import InstitutionRow

__all__ = [
    "BOOKING_STATUSES",
    "BookingRow",
    "ReferralEventRow",
    "ReferralRepository",
    "ReferralRow",
    "SlotRepository",
    "SlotRow",
]

BOOKING_STATUSES = ("booked", "cancelled")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class SlotRow(Base):
    """号源 / a slot a receiving institution publishes: specialist appointments, beds or exam bookings starting at
    ``start``; ``reserved`` of its ``capacity`` places are kept for referred patients until the release."""

    __tablename__ = "referral_slots"
    __table_args__ = (
        CheckConstraint(_in("kind", [k.value for k in SlotKind]), name="kind"),
        CheckConstraint("capacity > 0", name="capacity"),
        CheckConstraint("reserved >= 0 AND reserved <= capacity", name="reserved"),
        CheckConstraint("booked_open >= 0 AND booked_open <= booked AND booked <= capacity", name="booked"),
        Index(None, "inst_id", "start"),
    )

    slot_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    kind: Mapped[str] = mapped_column(String(16))
    start: Mapped[datetime] = mapped_column(DateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    booked_open: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(128))


class ReferralRow(Base):
    """转诊单 / a referral, the letter the receiving clinician reads: who, from where to where, the diagnosis and
    the reason; ``from_claim_id`` the referring admission (becomes the admission's ``referral_from``)."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint(_in("direction", [d.value for d in Direction]), name="direction"),
        CheckConstraint(_in("status", [s.value for s in Status]), name="status"),
        Index(None, "to_inst_id", "status"),
        Index(None, "from_inst_id", "status"),
    )

    referral_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"), index=True)
    from_inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    to_inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    direction: Mapped[str] = mapped_column(String(8))
    diagnosis: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    from_claim_id: Mapped[str | None] = mapped_column(String(_ID))
    status: Mapped[str] = mapped_column(String(16))
    slot_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("referral_slots.slot_id"))
    care_plan: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    requested_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReferralEventRow(Base):
    """转诊记录 / one move of a referral: from which status to which, who, when (append-only)."""

    __tablename__ = "referral_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[int] = mapped_column(Integer, ForeignKey("referrals.referral_id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(128))
    party: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


_LIVE = "status = 'booked'"


class BookingRow(Base):
    """预约 / a place of a slot taken by a person, with or without a referral. ``referral_from``: the referring
    admission's claim, carried into the claim of an admission booked from a referral (continuous deductible)."""

    __tablename__ = "slot_bookings"
    __table_args__ = (
        CheckConstraint(_in("status", BOOKING_STATUSES), name="status"),
        Index("uq_slot_bookings_live_person", "slot_id", "person_id", unique=True,
              sqlite_where=text(_LIVE), postgresql_where=text(_LIVE)),
        Index("uq_slot_bookings_live_referral", "referral_id", unique=True,
              sqlite_where=text(_LIVE), postgresql_where=text(_LIVE)),
    )

    booking_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slot_id: Mapped[int] = mapped_column(Integer, ForeignKey("referral_slots.slot_id"), index=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("referrals.referral_id"))
    referral_from: Mapped[str | None] = mapped_column(String(_ID))
    status: Mapped[str] = mapped_column(String(16))
    booked_at: Mapped[datetime] = mapped_column(DateTime)
    booked_by: Mapped[str] = mapped_column(String(128))


class SlotRepository:
    """Slots and their bookings."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: SlotRow) -> SlotRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, slot_id: int) -> SlotRow | None:
        return self.session.get(SlotRow, slot_id)

    def of_institution(self, inst_id: str, *, since: datetime | None = None, limit: int = 500) -> list[SlotRow]:
        stmt = select(SlotRow).where(SlotRow.inst_id == inst_id)
        if since is not None:
            stmt = stmt.where(SlotRow.start >= since)
        return list(self.session.scalars(stmt.order_by(SlotRow.start, SlotRow.slot_id).limit(limit)))

    def take_place(self, slot_id: int, *, referred: bool, released: bool) -> bool:
        """Take one place with ONE conditional UPDATE (the row's lock makes it atomic); False when none is left
        for this kind of booking (the condition of ``domain.can_book``)."""
        cond = SlotRow.booked < SlotRow.capacity
        if not referred and not released:
            cond = and_(cond, SlotRow.booked_open < SlotRow.capacity - SlotRow.reserved)
        values = {"booked": SlotRow.booked + 1}
        if not referred:
            values["booked_open"] = SlotRow.booked_open + 1
        result = self.session.execute(update(SlotRow).where(SlotRow.slot_id == slot_id, cond).values(values)
                                      .execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def give_back(self, slot_id: int, *, referred: bool) -> None:
        values = {"booked": SlotRow.booked - 1}
        if not referred:
            values["booked_open"] = SlotRow.booked_open - 1
        self.session.execute(update(SlotRow).where(SlotRow.slot_id == slot_id).values(values)
                             .execution_options(synchronize_session=False))

    def add_booking(self, row: BookingRow) -> BookingRow:
        self.session.add(row)
        self.session.flush()
        return row

    def booking(self, booking_id: int) -> BookingRow | None:
        return self.session.get(BookingRow, booking_id)

    def live_booking_of_referral(self, referral_id: int) -> BookingRow | None:
        return self.session.scalar(select(BookingRow).where(BookingRow.referral_id == referral_id,
                                                            BookingRow.status == "booked"))

    def admission_links(self) -> list[tuple[BookingRow, SlotRow]]:
        """Live bookings of beds that carry a referring admission (``referral_from``)."""
        rows = self.session.execute(
            select(BookingRow, SlotRow).join(SlotRow, SlotRow.slot_id == BookingRow.slot_id)
            .where(BookingRow.status == "booked", BookingRow.referral_from.is_not(None))
            .order_by(BookingRow.booking_id))
        return [(r[0], r[1]) for r in rows]

    def live_bookings(self, slot_id: int) -> list[BookingRow]:
        return list(self.session.scalars(select(BookingRow).where(BookingRow.slot_id == slot_id,
                                                                  BookingRow.status == "booked")))


class ReferralRepository:
    """Referrals and their moves."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ReferralRow) -> ReferralRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, referral_id: int) -> ReferralRow | None:
        return self.session.get(ReferralRow, referral_id)

    def institution(self, inst_id: str) -> InstitutionRow | None:
        return self.session.get(InstitutionRow, inst_id)

    def move(self, referral_id: int, *, from_status: str, to_status: str, at: datetime,
             **values: object) -> bool:
        """Move the referral when it is still in ``from_status`` (one conditional UPDATE); False otherwise."""
        result = self.session.execute(
            update(ReferralRow).where(ReferralRow.referral_id == referral_id, ReferralRow.status == from_status)
            .values(status=to_status, updated_at=at, **values).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def add_event(self, row: ReferralEventRow) -> None:
        self.session.add(row)
        self.session.flush()

    def events(self, referral_id: int) -> list[ReferralEventRow]:
        return list(self.session.scalars(select(ReferralEventRow).where(ReferralEventRow.referral_id == referral_id)
                                         .order_by(ReferralEventRow.at, ReferralEventRow.event_id)))

    def of_institution(self, inst_id: str, *, limit: int = 500) -> list[ReferralRow]:
        """Referrals sent or received by ``inst_id``, newest first."""
        return list(self.session.scalars(
            select(ReferralRow).where(or_(ReferralRow.from_inst_id == inst_id, ReferralRow.to_inst_id == inst_id))
            .order_by(ReferralRow.requested_at.desc(), ReferralRow.referral_id.desc()).limit(limit)))

    def stale(self, statuses: Sequence[str], before: datetime) -> list[ReferralRow]:
        """Referrals in ``statuses`` last moved before ``before`` (what expires)."""
        return list(self.session.scalars(select(ReferralRow).where(ReferralRow.status.in_(statuses),
                                                                   ReferralRow.updated_at < before)))

    def every(self, *, completed_only: bool = False) -> list[ReferralRow]:
        """Every referral, or the completed and returned ones (the export of the contract's ``referrals`` table)."""
        stmt = select(ReferralRow)
        if completed_only:
            stmt = stmt.where(ReferralRow.status.in_([Status.COMPLETED.value, Status.RETURNED.value]))
        return list(self.session.scalars(stmt.order_by(ReferralRow.referral_id)))

    def live_to(self, person_id: str, to_inst_id: str, statuses: Sequence[str]) -> bool:
        """Whether the person holds a referral to ``to_inst_id`` in one of ``statuses``."""
        return self.session.scalar(select(ReferralRow.referral_id).where(
            ReferralRow.person_id == person_id, ReferralRow.to_inst_id == to_inst_id,
            ReferralRow.status.in_(statuses)).limit(1)) is not None

    def received(self, inst_id: str, statuses: Sequence[str], *, limit: int = 500) -> list[ReferralRow]:
        """Referrals received by ``inst_id`` in one of ``statuses``, oldest first."""
        return list(self.session.scalars(
            select(ReferralRow).where(ReferralRow.to_inst_id == inst_id, ReferralRow.status.in_(statuses))
            .order_by(ReferralRow.requested_at, ReferralRow.referral_id).limit(limit)))

    def designated_township(self, person_id: str, year: int) -> str | None:
        """The township the person is designated to: the latest designation up to ``year`` (None without one)."""
        return self.session.scalar(select(DesignationRow.township_id).where(
            DesignationRow.person_id == person_id, DesignationRow.year <= year)
            .order_by(DesignationRow.year.desc()).limit(1))

    def from_claims(self, claim_ids: Sequence[str]) -> dict[str, int]:
        """The latest referral naming each of ``claim_ids`` as its referring admission (``from_claim_id``)."""
        if not claim_ids:
            return {}
        rows = self.session.execute(select(ReferralRow.from_claim_id, ReferralRow.referral_id).where(
            ReferralRow.from_claim_id.in_(list(claim_ids))).order_by(ReferralRow.referral_id)).all()
        return {str(claim): int(rid) for claim, rid in rows}
