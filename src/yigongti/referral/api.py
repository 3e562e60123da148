"""``/api/slots`` and ``/api/referrals``: reserved capacity and the two-way referral workflow (号源与双向转诊).

Thin adapters over ``referral.service``: each route parses, checks the caller's scope for the person (the platform's
scope condition, audited), runs one use case in the request's transaction and maps its refusals to HTTP: not a
party / not in scope 404, a role that may not act 403, a move the workflow does not have or no place left 409, a
request contradicting the registry 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, Field

from yigongti.core.dates import china_time
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, ScopeDep, visible_person
from yigongti.platform.deps import run_use_case as _run
from yigongti.referral.domain import STATUS_LABELS
from yigongti.referral.service import (
    RequestReferral,
    book_place,
    catalogues_for,
    claims_check,
    data_year,
    down_referral_worklist,
    move_referral,
    publish_slot,
    referral_letter,
    referrals_of,
    request_referral,
    slots_of,
    treated_here,
    visit_flag,
)
from yigongti.referral.store import ReferralRow, SlotRow
from yigongti.referral.uow import ReferralUnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["referral 双向转诊"])
_ID = Field(min_length=1, max_length=64)

_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not in your scope / 不存在或无权查看"},
           403: {"description": "not allowed for your role / 当前角色无权操作"},
           409: {"description": "not allowed by the workflow, or no place left / 流程不允许或号源已满"},
           422: {"description": "contradicts the registry or the referral / 与机构或转诊单不符"}}


class SlotIn(BaseModel):
    inst_id: str = _ID
    kind: Literal["specialist", "bed", "exam"]
    start: datetime = Field(description="China time (UTC+8) when no zone is given")
    capacity: int = Field(ge=1, le=10_000)


class SlotCreated(BaseModel):
    slot_id: int
    capacity: int
    reserved: int


class SlotOut(BaseModel):
    slot_id: int
    inst_id: str
    kind: str
    start: str
    capacity: int
    reserved: int
    booked: int


class ReferralIn(BaseModel):
    person_id: str = _ID
    from_inst_id: str = _ID
    to_inst_id: str = _ID
    direction: Literal["up", "down"]
    diagnosis: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.\-]+$", description="ICD-10")
    reason: str = Field("", max_length=2000)
    from_claim_id: str | None = Field(None, min_length=1, max_length=64,
                                      description="the referring admission (continuous deductible)")


class ReferralCreated(BaseModel):
    referral_id: int
    status: str


class StatusIn(BaseModel):
    status: Literal["accepted", "declined", "booked", "arrived", "completed", "returned", "cancelled"]
    slot_id: int | None = Field(None, ge=1, le=2**31 - 1)
    care_plan: str | None = Field(None, max_length=4000, description="for returned: the family doctor's plan")


class StatusOut(BaseModel):
    referral_id: int
    status: str
    label: str


class BookingIn(BaseModel):
    person_id: str = _ID
    referral_id: int | None = Field(None, ge=1, le=2**31 - 1)


class BookingOut(BaseModel):
    booking_id: int
    slot_id: int
    referral_id: int | None
    referral_from: str | None


class EventOut(BaseModel):
    at: str
    actor: str
    party: str
    from_status: str | None
    to_status: str
    note: str | None


class ReferralOut(BaseModel):
    referral_id: int
    person_id: str
    from_inst_id: str
    to_inst_id: str
    direction: str
    diagnosis: str
    reason: str
    status: str
    status_label: str
    requested_at: str
    slot_id: int | None
    from_claim_id: str | None
    care_plan: str | None


class VisitIn(BaseModel):
    person_id: str = _ID
    inst_id: str = _ID
    diagnosis: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.\-]+$", description="ICD-10")
    emergency: bool = False


class VisitFlagOut(BaseModel):
    flagged: bool
    disease: str | None = None
    label: str | None = None
    message: str | None = None


class ProposalOut(BaseModel):
    referral_id: int
    person_id: str
    diagnosis: str
    disease: str
    label: str
    status: str
    status_label: str
    next_status: str
    next_label: str
    back_to: str


class LetterOut(ReferralOut):
    """转诊单: the referral with the person's basics, the institutions' names and every move."""

    party: str
    sex: str
    birth_date: str
    from_name: str
    to_name: str
    events: list[EventOut]
    record: str = Field(description="the person's shared health record, opened from this letter (a party of a live "
                                    "referral may open it) / 共享健康档案")






def _uow(db: DbSession) -> ReferralUnitOfWork:
    return ReferralUnitOfWork(db)


def _referral_out(r: ReferralRow) -> dict[str, object]:
    return {"referral_id": r.referral_id, "person_id": r.person_id, "from_inst_id": r.from_inst_id,
            "to_inst_id": r.to_inst_id, "direction": r.direction, "diagnosis": r.diagnosis, "reason": r.reason,
            "status": r.status, "status_label": STATUS_LABELS.get(r.status, r.status),
            "requested_at": r.requested_at.isoformat(timespec="seconds"), "slot_id": r.slot_id,
            "from_claim_id": r.from_claim_id, "care_plan": r.care_plan}


def _slot_out(s: SlotRow) -> SlotOut:
    return SlotOut(slot_id=s.slot_id, inst_id=s.inst_id, kind=s.kind, start=s.start.isoformat(timespec="minutes"),
                   capacity=s.capacity, reserved=s.reserved, booked=s.booked)


@router.post("/slots", response_model=SlotCreated, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_slot(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: SlotIn) -> SlotCreated:
    """发布号源 / Publish a slot (the admin of the institution): ``policy.referral.reserved_share`` of its places,
    rounded up, are reserved for referred patients until ``release_hours`` before it starts."""
    row = _run(lambda: publish_slot(_uow(db), principal, inst_id=body.inst_id, kind=body.kind,
                                    start=china_time(body.start), capacity=body.capacity, policy=ctx.policy.referral,
                                    now=ctx.clock.now()))
    return SlotCreated(slot_id=row.slot_id, capacity=row.capacity, reserved=row.reserved)


@router.get("/slots", response_model=list[SlotOut])
def get_slots(db: DbSession, _p: CurrentPrincipal,
              inst_id: Annotated[str, Query(min_length=1, max_length=64)]) -> list[SlotOut]:
    """An institution's slots, earliest first (no personal data: any signed-in user)."""
    return [_slot_out(s) for s in slots_of(_uow(db), inst_id)]


@router.post("/referrals", response_model=ReferralCreated, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_referral(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                  body: ReferralIn) -> ReferralCreated:
    """发起转诊 / Refer a person (a clinician of ``from_inst_id``; the person must be in their scope, or
    ``from_claim_id`` a claim of the data year of the person at ``from_inst_id``: the patient was treated there)."""
    principal = person_scope.principal
    if principal.role is not Role.CLINICIAN or principal.inst_id != body.from_inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅转出机构的医生可发起转诊 / only a clinician of "
                                                       "from_inst_id refers")
    if not treated_here(lambda: data_year(ctx.figures.get), claim_id=body.from_claim_id, person_id=body.person_id,
                        inst_id=body.from_inst_id):  # the person in scope, or treated here (the claim named)
        visible_person(request, ctx, db, person_scope, body.person_id)
    cmd = RequestReferral(person_id=body.person_id, from_inst_id=body.from_inst_id, to_inst_id=body.to_inst_id,
                          direction=body.direction, diagnosis=body.diagnosis.upper(), reason=body.reason,
                          from_claim_id=body.from_claim_id)
    row = _run(lambda: request_referral(_uow(db), principal, cmd, now=ctx.clock.now()))
    return ReferralCreated(referral_id=row.referral_id, status=row.status)


ReferralIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/referrals", response_model=list[ReferralOut], responses=_ERRORS)
def list_referrals(db: DbSession, principal: CurrentPrincipal) -> list[ReferralOut]:
    """Referrals sent or received by the caller's institution, newest first (clinicians and institution admins)."""
    return [ReferralOut.model_validate(_referral_out(r)) for r in _run(lambda: referrals_of(_uow(db), principal))]


@router.post("/referrals/visit-check", response_model=VisitFlagOut, responses=_ERRORS)
def post_visit_check(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: VisitIn) -> VisitFlagOut:
    """基层首诊提示 / Check a visit as a county-tier institution records it (a clinician or the admin of
    ``inst_id``): flagged when the diagnosis is in the first-visit catalogue, it is no emergency and the person holds
    no accepted, booked or arrived referral to the institution."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or principal.inst_id != body.inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅本机构人员可核对就诊 / staff of inst_id only")
    cats = catalogues_for(ctx.policy.referral)
    flag = _run(lambda: visit_flag(_uow(db), cats, person_id=body.person_id, inst_id=body.inst_id,
                                   diagnosis=body.diagnosis.upper(), emergency=body.emergency))
    if flag is None:
        return VisitFlagOut(flagged=False)
    return VisitFlagOut(flagged=True, disease=flag.disease, label=flag.label, message=flag.message)


@router.get("/referrals/proposals", response_model=list[ProposalOut], responses=_ERRORS)
def get_proposals(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal) -> list[ProposalOut]:
    """建议下转 / The caller's institution's up-referrals with a refer-down disease that have arrived or completed:
    the next move proposed (completed, then returned to the family doctor)."""
    cats = catalogues_for(ctx.policy.referral)
    items = _run(lambda: down_referral_worklist(_uow(db), principal, cats))
    return [ProposalOut(referral_id=p.referral.referral_id, person_id=p.referral.person_id,
                        diagnosis=p.referral.diagnosis, disease=p.disease, label=p.label, status=p.referral.status,
                        status_label=STATUS_LABELS[p.referral.status], next_status=p.next_status.value,
                        next_label=STATUS_LABELS[p.next_status], back_to=p.referral.from_inst_id) for p in items]


class ClaimsCheckOut(BaseModel):
    year: int | None
    inst_id: str
    county_tier: bool
    flags: list[dict[str, str]] = Field(description="claim_id, person_id, inst_id, admit_date, diagnosis, disease, "
                                                    "disease_label")
    proposals: list[dict[str, str]] = Field(description="claim_id, person_id, inst_id, discharge_date, diagnosis, "
                                                        "disease, disease_label, to_inst_id, referral_id (the "
                                                        "referral made from it, or empty)")
    flags_total: int
    proposals_total: int


@router.get("/referrals/claims-check", response_model=ClaimsCheckOut, responses=_ERRORS)
def get_claims_check(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                     limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> ClaimsCheckOut:
    """基层首诊提示与建议下转 / From the data year's claims of the caller's county-tier institution (clinicians and
    admins): visits for a first-visit disease without a referral, and discharged stable refer-down cases nobody
    took back, each with the designated township proposed: the newest ``limit`` of each with the totals (audited
    per person given; empty for a township)."""
    cats = catalogues_for(ctx.policy.referral)
    found = _run(lambda: claims_check(_uow(db), principal, lambda: data_year(ctx.figures.get), cats,
                                      now=ctx.clock.now(), limit=limit))
    return ClaimsCheckOut.model_validate(vars(found))


@router.get("/referrals/{referral_id}", response_model=LetterOut, responses=_ERRORS)
def get_referral(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                 referral_id: ReferralIdPath) -> LetterOut:
    """转诊单 / The referral letter, for the sending and the receiving institution (audited)."""
    letter = _run(lambda: referral_letter(_uow(db), principal, referral_id, now=ctx.clock.now()))
    events = [EventOut(at=e.at.isoformat(timespec="seconds"), actor=e.actor, party=e.party,
                       from_status=e.from_status, to_status=e.to_status, note=e.note) for e in letter.events]
    return LetterOut.model_validate(_referral_out(letter.referral) | {
        "party": letter.party.value, "sex": letter.sex, "birth_date": letter.birth_date,
        "from_name": letter.from_name, "to_name": letter.to_name, "events": events,
        "record": f"/api/persons/{letter.referral.person_id}/record?referral_id={letter.referral.referral_id}"})


@router.post("/referrals/{referral_id}/status", response_model=StatusOut, responses=_ERRORS)
def post_status(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, referral_id: ReferralIdPath,
                body: StatusIn) -> StatusOut:
    """Move a referral along the workflow (``booked`` needs ``slot_id``; ``returned`` takes the care plan)."""
    new = _run(lambda: move_referral(_uow(db), principal, referral_id, body.status, policy=ctx.policy.referral,
                                     now=ctx.clock.now(), slot_id=body.slot_id, care_plan=body.care_plan))
    return StatusOut(referral_id=referral_id, status=new.value, label=STATUS_LABELS[new])


def _may_book_without_referral(principal: Principal) -> bool:
    return principal.role in (Role.CLINICIAN, Role.RESIDENT)


@router.post("/slots/{slot_id}/bookings", response_model=BookingOut, status_code=status.HTTP_201_CREATED,
             responses=_ERRORS)
def post_booking(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                 slot_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: BookingIn) -> BookingOut:
    """预约 / Book a place: a clinician for a person in their scope, a resident for their household; with
    ``referral_id`` (an accepted referral) a party of the referral, and the place may be a reserved one (409 when
    no place is left for that kind of booking)."""
    principal = person_scope.principal
    if body.referral_id is None and not _may_book_without_referral(principal):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生或参保人可预约 / clinicians and residents book")
    if body.referral_id is None or principal.role is Role.RESIDENT:
        visible_person(request, ctx, db, person_scope, body.person_id)
    elif principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "当前角色无权预约 / not allowed for your role")
    result = _run(lambda: book_place(_uow(db), principal, slot_id, person_id=body.person_id,
                                     referral_id=body.referral_id, policy=ctx.policy.referral,
                                     now=ctx.clock.now()))
    return BookingOut(booking_id=result.booking_id, slot_id=result.slot_id, referral_id=result.referral_id,
                      referral_from=result.referral_from)
