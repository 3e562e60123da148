"""Referral use cases (转诊用例), one transaction each: publish a slot, request a referral, move it along the workflow,
book a place, read the referral letter, let stale referrals expire, export completed referrals.

Who acts is a :class:`~yigongti.platform.accounts.Principal`. The sender of a referral is a clinician of its
``from_inst_id``; the receiver a clinician or the admin of its ``to_inst_id``; anyone else is not a party and is told
the referral does not exist (:class:`NotFound`, 404), so that existence is not disclosed. Every change writes the
audit log (who, what, when, which person) and, for a referral, one ``referral_events`` row per move.

Continuous deductible (连续计算起付线): a referral may name the referring admission (``from_claim_id``); a bed booked
from it records that claim as the booking's ``referral_from``, which :func:`admission_links` exports for the
hospital system to put on the admission's claim (the data contract's ``claims.referral_from``), and the benefit
rules then count the deductible continuously.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.exc import IntegrityError

from yigongti.core.policy import ReferralPolicy
from yigongti.core.problems import Conflict, InvalidInput, InvalidRequest, NotAllowed, NotFound
from yigongti.datafolder.folder import DataFolder
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.audit import actor_of
from yigongti.referral.domain import (
    Catalogues,
    Direction,
    Party,
    SlotKind,
    Status,
    TransitionNotAllowed,
    allowed_next,
    check_transition,
    first_visit_flag,
    is_released,
    reserved_places,
)
from yigongti.referral.engine import down_referral_proposals, first_visit_flags, load_catalogues
from yigongti.referral.store import BookingRow, ReferralEventRow, ReferralRow, SlotRow
from yigongti.referral.uow import ReferralUnitOfWork
from yigongti.registry.domain import Tier

__all__ = [
    "CONTRACT_COLUMNS",
    "ClaimsCheck",
    "LINK_COLUMNS",
    "BookingDetail",
    "BookingResult",
    "InvalidRequest",
    "NoPlaceLeft",
    "NotAllowed",
    "NotFound",
    "DownProposal",
    "FirstVisitFlag",
    "ReferralLetter",
    "Worklist",
    "WorkItem",
    "RequestReferral",
    "admission_links",
    "book_place",
    "booking_detail",
    "catalogues_for",
    "claims_check",
    "data_year",
    "treated_here",
    "completed_referrals",
    "down_referral_worklist",
    "expire_referrals",
    "move_referral",
    "party_of",
    "publish_slot",
    "referral_letter",
    "referral_rows",
    "referrals_of",
    "request_referral",
    "slot_of",
    "slots_of",
    "visit_flag",
    "worklist",
]

_TIER_RANK = {Tier.VILLAGE.value: 0, Tier.TOWNSHIP.value: 1, Tier.COUNTY.value: 2}
CONTRACT_COLUMNS = ("referral_id", "person_id", "from_inst_id", "to_inst_id", "direction", "diagnosis",
                    "requested_at", "status", "completed_at")
"""The data contract's ``referrals`` table."""
LINK_COLUMNS = ("booking_id", "person_id", "inst_id", "start", "referral_id", "referral_from")
"""Admissions booked from a referral: the claim of the admission carries ``referral_from``."""





class NoPlaceLeft(Conflict, RuntimeError):
    """No place left for this kind of booking, or the person already holds one in the slot (409)."""


def _audit(uow: ReferralUnitOfWork, principal: Principal | None, action: str, person_id: str, at: datetime,
           detail: dict[str, Any]) -> None:
    uow.audit.add(actor=actor_of(principal) if principal is not None else "system", action=action, at=at,
                  person_id=person_id, detail=detail)


# ------------------------------------------------------------------------------------------------ slots

def publish_slot(uow: ReferralUnitOfWork, principal: Principal, *, inst_id: str, kind: str, start: datetime,
                 capacity: int, policy: ReferralPolicy, now: datetime) -> SlotRow:
    """Publish a slot of ``capacity`` places (admin of ``inst_id`` only); ``policy.reserved_share`` of them, rounded
    up, are reserved for referred patients."""
    if principal.role is not Role.INSTITUTION_ADMIN or principal.inst_id != inst_id:
        raise NotAllowed("仅本机构管理员可发布号源 / only the institution's admin publishes its slots")
    try:
        slot_kind = SlotKind(kind)
    except ValueError:
        raise InvalidRequest("kind", f"must be one of {', '.join(k.value for k in SlotKind)}") from None
    if capacity < 1:
        raise InvalidRequest("capacity", "must be at least 1")
    with uow:
        if uow.referrals.institution(inst_id) is None:
            raise NotFound(f"机构 {inst_id} 不存在 / no institution {inst_id}")
        row = uow.slots.add(SlotRow(inst_id=inst_id, kind=slot_kind.value, start=start, capacity=capacity,
                                    reserved=reserved_places(capacity, policy.reserved_share), booked=0,
                                    booked_open=0, created_at=now, created_by=actor_of(principal)))
        uow.commit()
    return row


def slots_of(uow: ReferralUnitOfWork, inst_id: str, *, since: datetime | None = None) -> list[SlotRow]:
    with uow:
        return uow.slots.of_institution(inst_id, since=since)


def slot_of(uow: ReferralUnitOfWork, slot_id: int) -> SlotRow | None:
    """One published slot (not personal data)."""
    with uow:
        return uow.slots.get(slot_id)


# ------------------------------------------------------------------------------------------------ referrals

@dataclass(frozen=True)
class RequestReferral:
    person_id: str
    from_inst_id: str
    to_inst_id: str
    direction: str
    diagnosis: str
    reason: str
    from_claim_id: str | None = None


def request_referral(uow: ReferralUnitOfWork, principal: Principal, cmd: RequestReferral, *,
                     now: datetime) -> ReferralRow:
    """A clinician of ``cmd.from_inst_id`` refers a person (whose scope the adapter has checked) to another
    institution, up or down the tiers (the direction must match the tiers)."""
    if principal.role is not Role.CLINICIAN or principal.inst_id != cmd.from_inst_id:
        raise NotAllowed("仅转出机构的医生可发起转诊 / only a clinician of from_inst_id refers")
    try:
        direction = Direction(cmd.direction)
    except ValueError:
        raise InvalidRequest("direction", "must be up or down / 须为 up 或 down") from None
    if cmd.from_inst_id == cmd.to_inst_id:
        raise InvalidRequest("to_inst_id", "must differ from from_inst_id / 转入机构不能与转出机构相同")
    with uow:
        if uow.persons.get(cmd.person_id) is None:
            raise NotFound(f"参保人 {cmd.person_id} 不存在 / no person {cmd.person_id}")
        src, dst = uow.referrals.institution(cmd.from_inst_id), uow.referrals.institution(cmd.to_inst_id)
        if src is None:
            raise InvalidRequest("from_inst_id", f"no institution {cmd.from_inst_id} / 机构不存在")
        if dst is None:
            raise InvalidRequest("to_inst_id", f"no institution {cmd.to_inst_id} / 机构不存在")
        up = _TIER_RANK.get(dst.tier, 3) > _TIER_RANK.get(src.tier, 3)
        down = _TIER_RANK.get(dst.tier, 3) < _TIER_RANK.get(src.tier, 3)
        if (direction is Direction.UP and not up) or (direction is Direction.DOWN and not down):
            raise InvalidRequest("direction", f"{direction.value} does not match the tiers {src.tier} -> {dst.tier}"
                                              f" / 转诊方向与机构层级不符")
        row = uow.referrals.add(ReferralRow(
            person_id=cmd.person_id, from_inst_id=cmd.from_inst_id, to_inst_id=cmd.to_inst_id,
            direction=direction.value, diagnosis=cmd.diagnosis, reason=cmd.reason, from_claim_id=cmd.from_claim_id,
            status=Status.REQUESTED.value, requested_at=now, requested_by=actor_of(principal), updated_at=now))
        uow.referrals.add_event(ReferralEventRow(referral_id=row.referral_id, at=now, actor=actor_of(principal),
                                                 party=Party.SENDER.value, from_status=None,
                                                 to_status=Status.REQUESTED.value, note=None))
        _audit(uow, principal, "referral request", cmd.person_id, now, {"referral_id": row.referral_id})
        uow.commit()
    return row


def party_of(principal: Principal, referral: ReferralRow) -> Party | None:
    """The principal's side of the referral: sender (a clinician of from_inst_id), receiver (a clinician or the
    admin of to_inst_id), or None."""
    if principal.inst_id == referral.from_inst_id and principal.role is Role.CLINICIAN:
        return Party.SENDER
    if principal.inst_id == referral.to_inst_id and principal.role in (Role.CLINICIAN, Role.INSTITUTION_ADMIN):
        return Party.RECEIVER
    return None


def _referral_for(uow: ReferralUnitOfWork, principal: Principal, referral_id: int) -> tuple[ReferralRow, Party]:
    row = uow.referrals.get(referral_id)
    party = party_of(principal, row) if row is not None else None
    if row is None or party is None:
        raise NotFound(f"转诊单 {referral_id} 不存在或无权查看 / no referral {referral_id} in your scope")
    return row, party


@dataclass(frozen=True)
class BookingResult:
    booking_id: int
    slot_id: int
    referral_id: int | None
    referral_from: str | None


def _take(uow: ReferralUnitOfWork, slot: SlotRow, *, person_id: str, referral: ReferralRow | None,
          policy: ReferralPolicy, now: datetime, actor: str) -> BookingRow:
    referred = referral is not None
    released = is_released(slot.start, now, policy.release_hours)
    if not uow.slots.take_place(slot.slot_id, referred=referred, released=released):
        raise NoPlaceLeft("号源已满（预留号源仅供转诊患者）/ no place left for this booking"
                          + ("" if referred or released else " (the reserve is for referred patients until "
                                                             f"{policy.release_hours} h before the start)"))
    link = referral.from_claim_id if referral is not None and slot.kind == SlotKind.BED else None
    try:  # a unique violation rolls the whole use case back, the place taken above with it
        return uow.slots.add_booking(BookingRow(
            slot_id=slot.slot_id, person_id=person_id, referral_id=referral.referral_id if referral else None,
            referral_from=link, status="booked", booked_at=now, booked_by=actor))
    except IntegrityError:
        raise NoPlaceLeft("此人已预约该号源 / the person already holds a place in this slot") from None


def _move(uow: ReferralUnitOfWork, principal: Principal | None, row: ReferralRow, party: Party, target: str, *,
          now: datetime, note: str | None = None, **values: object) -> Status:
    new = check_transition(row.status, target, party)
    if not uow.referrals.move(row.referral_id, from_status=row.status, to_status=new.value, at=now, **values):
        raise TransitionNotAllowed(row.status, target)  # moved by someone else meanwhile
    uow.referrals.add_event(ReferralEventRow(referral_id=row.referral_id, at=now,
                                             actor=actor_of(principal) if principal else "system",
                                             party=party.value, from_status=row.status, to_status=new.value,
                                             note=note))
    _audit(uow, principal, f"referral {new.value}", row.person_id, now, {"referral_id": row.referral_id})
    return new


def move_referral(uow: ReferralUnitOfWork, principal: Principal, referral_id: int, target: str, *,
                  policy: ReferralPolicy, now: datetime, slot_id: int | None = None,
                  care_plan: str | None = None) -> Status:
    """Move a referral (the workflow of ``domain.TRANSITIONS``). ``booked`` takes a place of ``slot_id`` (a slot of
    the receiving institution; the reserve is the referral's); ``cancelled`` gives a booked place back;
    ``returned`` records the care plan for the family doctor."""
    with uow:
        row, party = _referral_for(uow, principal, referral_id)
        values: dict[str, object] = {}
        new = check_transition(row.status, target, party)
        if new is Status.BOOKED:
            if slot_id is None:
                raise InvalidRequest("slot_id", "booking a referral needs a slot / 预约须指定号源")
            slot = uow.slots.get(slot_id)
            if slot is None or slot.inst_id != row.to_inst_id:
                raise InvalidRequest("slot_id", f"no slot {slot_id} of {row.to_inst_id} / 非转入机构的号源")
            _take(uow, slot, person_id=row.person_id, referral=row, policy=policy, now=now, actor=actor_of(principal))
            values["slot_id"] = slot.slot_id
        elif new is Status.CANCELLED and row.status == Status.BOOKED:
            _release(uow, row.referral_id)
        elif new is Status.COMPLETED:
            values["completed_at"] = now
        elif new is Status.RETURNED and care_plan:
            values["care_plan"] = care_plan
        _move(uow, principal, row, party, target, now=now, note=care_plan, **values)
        uow.commit()
    return new


def _release(uow: ReferralUnitOfWork, referral_id: int) -> None:
    booking = uow.slots.live_booking_of_referral(referral_id)
    if booking is not None:
        uow.slots.give_back(booking.slot_id, referred=True)
        booking.status = "cancelled"
        uow.session.flush()


def book_place(uow: ReferralUnitOfWork, principal: Principal, slot_id: int, *, person_id: str,
               referral_id: int | None, policy: ReferralPolicy, now: datetime) -> BookingResult:
    """Book one place of a slot for a person. With ``referral_id`` (an accepted referral of that person to the
    slot's institution) the booking may take a reserved place and moves the referral to ``booked``; without, it
    takes an open place only, until the reserve is released. The caller's right to book for the person (a
    clinician: the person in their scope; a resident: their household) is checked by the adapter; with a referral,
    a party of it (or the person's household) may book."""
    with uow:
        slot = uow.slots.get(slot_id)
        if slot is None:
            raise NotFound(f"号源 {slot_id} 不存在 / no slot {slot_id}")
        referral: ReferralRow | None = None
        party = Party.SENDER
        if referral_id is not None:
            referral = uow.referrals.get(referral_id)
            if principal.role is Role.RESIDENT:
                if referral is None or referral.person_id != person_id:
                    raise NotFound(f"转诊单 {referral_id} 不存在或无权查看 / no referral {referral_id} in your scope")
            else:
                referral, party = _referral_for(uow, principal, referral_id)
            if referral.person_id != person_id:
                raise InvalidRequest("person_id", "is not the referral's person / 与转诊单患者不符")
            if referral.to_inst_id != slot.inst_id:
                raise InvalidRequest("slot_id", f"is not a slot of {referral.to_inst_id} / 非转入机构的号源")
            check_transition(referral.status, Status.BOOKED, party)
        elif uow.persons.get(person_id) is None:
            raise NotFound(f"参保人 {person_id} 不存在 / no person {person_id}")
        booking = _take(uow, slot, person_id=person_id, referral=referral, policy=policy, now=now,
                        actor=actor_of(principal))
        if referral is not None:
            _move(uow, principal, referral, party, Status.BOOKED, now=now, slot_id=slot.slot_id)
        else:
            _audit(uow, principal, "slot booking", person_id, now, {"slot_id": slot_id})
        uow.commit()
    return BookingResult(booking.booking_id, slot.slot_id, referral_id, booking.referral_from)


@dataclass(frozen=True)
class BookingDetail:
    """预约 / a booking with its slot, and its referral when booked from one."""

    booking: BookingRow
    slot: SlotRow
    referral: ReferralRow | None


def booking_detail(uow: ReferralUnitOfWork, principal: Principal, booking_id: int, *, now: datetime) -> BookingDetail:
    """A booking for whoever may see it (audited): the staff of the slot's institution, a party of the referral it
    was booked from, whoever booked it, the person's household; anyone else :class:`NotFound`."""
    with uow:
        booking = uow.slots.booking(booking_id)
        slot = uow.slots.get(booking.slot_id) if booking is not None else None
        referral = uow.referrals.get(booking.referral_id) if booking is not None and booking.referral_id else None
        allowed = False
        if booking is not None and slot is not None:
            if principal.role is Role.RESIDENT:
                person = uow.persons.get(booking.person_id)
                allowed = bool(principal.household_id) and person is not None and \
                    person.household_id == principal.household_id
            else:
                allowed = (principal.inst_id == slot.inst_id and principal.role in (Role.CLINICIAN,
                                                                                    Role.INSTITUTION_ADMIN)) \
                    or (referral is not None and party_of(principal, referral) is not None) \
                    or booking.booked_by == actor_of(principal)
        if booking is None or slot is None or not allowed:
            raise NotFound(f"预约 {booking_id} 不存在或无权查看 / no booking {booking_id} in your scope")
        _audit(uow, principal, "booking read", booking.person_id, now, {"booking_id": booking_id})
        uow.commit()
    return BookingDetail(booking, slot, referral)


@dataclass(frozen=True)
class ReferralLetter:
    """转诊单 / what the receiving clinician reads: the referral, the person's basics and every move so far."""

    referral: ReferralRow
    party: Party
    sex: str
    birth_date: str
    from_name: str
    to_name: str
    events: list[ReferralEventRow] = field(default_factory=list)


def referral_letter(uow: ReferralUnitOfWork, principal: Principal, referral_id: int, *,
                    now: datetime) -> ReferralLetter:
    """The referral letter for a party of the referral (audited); :class:`NotFound` for anyone else."""
    with uow:
        row, party = _referral_for(uow, principal, referral_id)
        person = uow.persons.get(row.person_id)
        src, dst = uow.referrals.institution(row.from_inst_id), uow.referrals.institution(row.to_inst_id)
        letter = ReferralLetter(row, party, sex=person.sex if person else "", birth_date=person.birth_date.isoformat()
                                if person else "", from_name=src.name if src else "", to_name=dst.name if dst else "",
                                events=uow.referrals.events(referral_id))
        _audit(uow, principal, "referral letter read", row.person_id, now, {"referral_id": referral_id})
        uow.commit()
    return letter


def referrals_of(uow: ReferralUnitOfWork, principal: Principal) -> list[ReferralRow]:
    """Referrals sent or received by the principal's institution (clinicians and institution admins)."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise NotAllowed("仅医生和机构管理员可查看转诊单 / clinicians and institution admins only")
    with uow:
        return uow.referrals.of_institution(principal.inst_id)


def expire_referrals(uow: ReferralUnitOfWork, *, policy: ReferralPolicy, now: datetime) -> int:
    """Referrals requested or accepted and untouched for ``policy.expire_days`` expire (the system's move; 0: never)."""
    if policy.expire_days == 0:
        return 0
    before = now - timedelta(days=policy.expire_days)
    n = 0
    with uow:
        for row in uow.referrals.stale([Status.REQUESTED.value, Status.ACCEPTED.value], before):
            _move(uow, None, row, Party.SYSTEM, Status.EXPIRED, now=now)
            n += 1
        uow.commit()
    return n


def completed_referrals(uow: ReferralUnitOfWork) -> list[dict[str, str]]:
    """Completed (and returned) referrals as rows of the data contract's ``referrals`` table."""
    return referral_rows(uow, completed_only=True)


def referral_rows(uow: ReferralUnitOfWork, *, completed_only: bool = False) -> list[dict[str, str]]:
    """Every referral of the workflow (or only the completed ones) as rows of the data contract's ``referrals``
    table: what ``yigongti referral export`` writes for the appraisal's indicators."""
    with uow:
        rows = uow.referrals.every(completed_only=completed_only)
    return [{"referral_id": str(r.referral_id), "person_id": r.person_id, "from_inst_id": r.from_inst_id,
             "to_inst_id": r.to_inst_id, "direction": r.direction, "diagnosis": r.diagnosis,
             "requested_at": r.requested_at.isoformat(timespec="seconds"), "status": r.status,
             "completed_at": r.completed_at.isoformat(timespec="seconds") if r.completed_at else ""} for r in rows]


def admission_links(uow: ReferralUnitOfWork) -> list[dict[str, str]]:
    """Beds booked from a referral that names its referring admission: the claim of the admission carries
    ``referral_from`` (the continuous deductible applies)."""
    with uow:
        rows = uow.slots.admission_links()
    return [{"booking_id": str(b.booking_id), "person_id": b.person_id, "inst_id": s.inst_id,
             "start": s.start.isoformat(timespec="seconds"), "referral_id": str(b.referral_id),
             "referral_from": b.referral_from or ""} for b, s in rows]


# ------------------------------------------------------------------------------------------------ catalogues

_catalogues: dict[tuple[str, str], Catalogues] = {}


def catalogues_for(policy: ReferralPolicy, base: Path | None = None) -> Catalogues:
    """The disease catalogues of the policy (ours with the county's file over them), read once per process."""
    key = (policy.catalogues, str(base))
    if key not in _catalogues:
        _catalogues[key] = load_catalogues(policy, base)
    return _catalogues[key]


_REFERRED = (Status.ACCEPTED.value, Status.BOOKED.value, Status.ARRIVED.value)


@dataclass(frozen=True)
class FirstVisitFlag:
    """基层首诊提示 / a county-tier visit for a first-visit disease without a referral."""

    person_id: str
    inst_id: str
    diagnosis: str
    disease: str
    label: str

    @property
    def message(self) -> str:
        return (f"{self.label}：基层首诊病种，未经转诊到县级机构就诊 / a disease first seen at primary level, at a "
                f"county-tier institution without a referral")


def visit_flag(uow: ReferralUnitOfWork, catalogues: Catalogues, *, person_id: str, inst_id: str,
               diagnosis: str, emergency: bool = False) -> FirstVisitFlag | None:
    """The flag of a visit (the platform's check when a county-tier institution records one): a first-visit disease,
    not an emergency, and no accepted, booked or arrived referral of the person to that institution."""
    with uow:
        inst = uow.referrals.institution(inst_id)
        if inst is None:
            raise NotFound(f"机构 {inst_id} 不存在 / no institution {inst_id}")
        referred = uow.referrals.live_to(person_id, inst_id, _REFERRED)
    hit = first_visit_flag(catalogues, tier=inst.tier, diagnosis=diagnosis, referred=referred, emergency=emergency)
    return FirstVisitFlag(person_id, inst_id, diagnosis, *hit) if hit else None


@dataclass(frozen=True)
class DownProposal:
    """建议下转 / a referred patient with a refer-down disease, ready to go back: the next move proposed."""

    referral: ReferralRow
    disease: str
    label: str
    next_status: Status


def down_referral_worklist(uow: ReferralUnitOfWork, principal: Principal,
                           catalogues: Catalogues) -> list[DownProposal]:
    """The receiving institution's up-referrals that have arrived or completed with a disease of the refer-down
    catalogue: each proposed to move on (arrived -> completed, completed -> returned to the family doctor)."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise NotAllowed("仅医生和机构管理员可查看转诊单 / clinicians and institution admins only")
    with uow:
        rows = uow.referrals.received(principal.inst_id, (Status.ARRIVED.value, Status.COMPLETED.value))
    out: list[DownProposal] = []
    for r in rows:
        hit = catalogues.refer_down.match(r.diagnosis) if r.direction == Direction.UP else None
        if hit is not None:
            nxt = Status.COMPLETED if r.status == Status.ARRIVED else Status.RETURNED
            out.append(DownProposal(r, hit[0], hit[1], nxt))
    return out


@dataclass(frozen=True)
class ClaimsCheck:
    """基层首诊提示与建议下转 / what the data year's claims of one county-tier institution show: visits for a
    first-visit disease without a referral (``flags``) and discharged stable refer-down cases nobody took back
    (``proposals``, each with the township proposed to take the patient back, and ``referral_id`` once the workflow
    has a referral naming that admission). Rows in the columns of ``engine.FLAG_COLUMNS`` and
    ``engine.PROPOSAL_COLUMNS`` (dates as ISO text)."""

    year: int | None
    inst_id: str
    county_tier: bool
    flags: list[dict[str, str]] = field(default_factory=list)
    proposals: list[dict[str, str]] = field(default_factory=list)
    flags_total: int = 0
    proposals_total: int = 0


def _rows_of(table: pa.Table, inst_id: str, date_column: str, limit: int) -> tuple[list[dict[str, str]], int]:
    """The institution's rows, newest first, at most ``limit`` of them (dates as ISO text), and how many it has."""
    mine = table.filter(pc.equal(table.column("inst_id"), inst_id))
    if mine.num_rows == 0:
        return [], 0
    top = mine.sort_by([(date_column, "descending"), ("claim_id", "ascending")]).slice(0, limit)
    return [{k: "" if v is None else v.isoformat() if hasattr(v, "isoformat") else str(v) for k, v in r.items()}
            for r in top.to_pylist()], mine.num_rows


def data_year(figures: Callable[[], Any]) -> tuple[DataFolder | None, int | None]:
    """The data folder and year of the app's year figures (``figures()`` gives ``budget.analytics.YearFigures``, held
    by the platform as Any); (None, None) when no data folder is loaded or the figures cannot be computed (the
    dashboards say why; the worklist goes on without the claims)."""
    try:
        found = figures()
    except InvalidInput:
        return None, None
    if found is None or not isinstance(found.data, DataFolder):
        return None, None
    return found.data, int(found.year)


def treated_here(load: Callable[[], tuple[DataFolder | None, int | None]], *, claim_id: str | None, person_id: str,
                 inst_id: str) -> bool:
    """Whether ``claim_id`` is a claim of the data year of ``person_id`` at ``inst_id``: the institution treated the
    person, so its clinician may refer them on from that admission (a proposed down-referral of a patient designated
    elsewhere) even when the person is outside their designation scope."""
    if not claim_id:
        return False
    data, _ = load()
    claims = data.get("claims") if data is not None else None
    if claims is None:
        return False
    return any(r["person_id"] == person_id and r["inst_id"] == inst_id for r in
               claims.filter(pc.equal(claims.column("claim_id"), claim_id)).select(["person_id", "inst_id"])
               .to_pylist())


_lists: list[tuple[DataFolder, int, Catalogues, pa.Table, pa.Table]] = []  # the last one computed
_lists_lock = threading.Lock()


def _claims_lists(data: DataFolder, year: int, catalogues: Catalogues) -> tuple[pa.Table, pa.Table]:
    """Every institution's flags and proposals of the data year, computed once per data folder, year and catalogues
    (the app's folder does not change while it runs; a new one replaces the last)."""
    with _lists_lock:
        for d, y, c, flags, proposals in _lists:
            if d is data and y == year and c is catalogues:
                return flags, proposals
        flags, proposals = first_visit_flags(data, year, catalogues), down_referral_proposals(data, year, catalogues)
        _lists[:] = [(data, year, catalogues, flags, proposals)]
        return flags, proposals


def claims_check(uow: ReferralUnitOfWork, principal: Principal,
                 load: Callable[[], tuple[DataFolder | None, int | None]], catalogues: Catalogues, *,
                 now: datetime, limit: int = 200) -> ClaimsCheck:
    """The caller's institution's first-visit flags and proposed down-referrals from the app's data year (the same
    engine as ``yigongti referral flags``), for its clinicians and admin; empty for a township or village, or when
    no data folder is loaded. A proposal without a designated township in the folder takes the person's designation
    in the database (the latest up to the year). ``load`` gives the data folder and its year, asked for only when
    the institution is county-tier. The newest ``limit`` of each list are given, with the totals; every person
    given is audited."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise NotAllowed("仅医生和机构管理员可查看 / clinicians and institution admins only")
    inst_id = principal.inst_id
    with uow:
        inst = uow.referrals.institution(inst_id)
        county = inst is not None and inst.tier == Tier.COUNTY.value
        if not county:
            return ClaimsCheck(None, inst_id, county)
        data, year = load()
        if data is None or year is None or data.get("claims") is None:
            return ClaimsCheck(year, inst_id, county)
        every_flag, every_proposal = _claims_lists(data, year, catalogues)
        flags, n_flags = _rows_of(every_flag, inst_id, "admit_date", limit)
        proposals, n_proposals = _rows_of(every_proposal, inst_id, "discharge_date", limit)
        sent = uow.referrals.from_claims([p["claim_id"] for p in proposals])
        for p in proposals:
            if not p["to_inst_id"]:
                p["to_inst_id"] = uow.referrals.designated_township(p["person_id"], year) or ""
            p["referral_id"] = str(sent.get(p["claim_id"], ""))
        for person_id in sorted({r["person_id"] for r in flags + proposals}):
            _audit(uow, principal, "referral claims check", person_id, now, {"year": year})
        uow.commit()
    return ClaimsCheck(year, inst_id, county, flags, proposals, n_flags, n_proposals)


# ------------------------------------------------------------------------------------------------ worklist

@dataclass(frozen=True)
class WorkItem:
    """One referral on the worklist: the caller's side, the moves they may make, the proposed down-referral."""

    referral: ReferralRow
    party: Party
    moves: tuple[Status, ...]
    proposal: DownProposal | None = None


@dataclass(frozen=True)
class Worklist:
    """转诊工作台 / a clinician's referrals in (received) and out (sent), with the open slots of the institutions
    their accepted referrals go to (for booking) and the institution's names."""

    incoming: list[WorkItem]
    outgoing: list[WorkItem]
    slots: dict[str, list[SlotRow]]
    names: dict[str, str]


def worklist(uow: ReferralUnitOfWork, principal: Principal, catalogues: Catalogues, *, now: datetime) -> Worklist:
    """The worklist of the principal's institution (clinicians and institution admins), in one transaction; the
    persons shown are audited."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise NotAllowed("仅医生和机构管理员可查看转诊单 / clinicians and institution admins only")
    proposals = {p.referral.referral_id: p for p in down_referral_worklist(uow, principal, catalogues)}
    incoming: list[WorkItem] = []
    outgoing: list[WorkItem] = []
    with uow:
        rows = uow.referrals.of_institution(principal.inst_id)
        for r in rows:
            party = party_of(principal, r)
            if party is None:
                continue
            item = WorkItem(r, party, tuple(allowed_next(Status(r.status), party)), proposals.get(r.referral_id))
            (incoming if party is Party.RECEIVER else outgoing).append(item)
        wanted = {i.referral.to_inst_id for i in incoming + outgoing if Status.BOOKED in i.moves}
        slots = {inst: [s for s in uow.slots.of_institution(inst, since=now) if s.booked < s.capacity]
                 for inst in sorted(wanted)}
        names = {i.inst_id: i.name for i in uow.registry.get().institutions.values()}
        for person_id in sorted({r.person_id for r in rows}):
            _audit(uow, principal, "referral worklist", person_id, now, {})
        uow.commit()
    return Worklist(incoming, outgoing, slots, names)
