"""Two-way referral as FHIR R4 (转诊的 FHIR 表达): ``ServiceRequest/R{id}`` (the referral letter), ``Task/R{id}`` (where
it stands in the workflow, who holds it), ``Slot/{slot_id}`` (a published slot and its places) and
``Appointment/B{booking_id}`` (a place booked in a slot, with the referral it was booked from).

An appointment is personal data: the staff of the slot's institution, a party of its referral, whoever booked it
and the person's household read it (audited); anyone else 404. Its status: ``booked`` -> booked, ``cancelled`` ->
cancelled; with a referral that arrived or completed -> fulfilled.

The referral resources go through the same party check and audit as ``/api/referrals/{id}`` (the sending and the
receiving institution; anyone else 404). A slot is not personal data: any signed-in user, like ``/api/slots``.
Task status from the workflow: requested -> requested, accepted -> accepted, declined -> rejected, booked and
arrived -> in-progress, completed and returned -> completed, cancelled -> cancelled, expired -> failed; the
workflow's own status is the ``businessStatus``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.responses import Response
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.slot import Slot
from fhir.resources.R4B.task import Task

from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession
from yigongti.platform.deps import run_use_case as _run
from yigongti.referral.domain import STATUS_LABELS, Status
from yigongti.referral.service import BookingDetail, ReferralLetter, booking_detail, referral_letter, slot_of
from yigongti.referral.store import SlotRow
from yigongti.referral.uow import ReferralUnitOfWork

__all__ = ["appointment", "router", "service_request", "slot", "task"]

router = APIRouter(prefix="/api/fhir", tags=["FHIR"])
FHIR_JSON = "application/fhir+json"
CHINA = timezone(timedelta(hours=8))
REFERRAL_SYSTEM = "urn:yigongti:referral"
STATUS_SYSTEM = "urn:yigongti:referral-status"
_TASK = {Status.REQUESTED: "requested", Status.ACCEPTED: "accepted", Status.DECLINED: "rejected",
         Status.BOOKED: "in-progress", Status.ARRIVED: "in-progress", Status.COMPLETED: "completed",
         Status.RETURNED: "completed", Status.CANCELLED: "cancelled", Status.EXPIRED: "failed"}
_OPEN = frozenset({Status.REQUESTED, Status.ACCEPTED, Status.BOOKED, Status.ARRIVED})
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not in your scope"}}
SLOT_MINUTES = 30


def _instant(at: datetime) -> str:
    return at.replace(tzinfo=CHINA).isoformat(timespec="seconds")


def service_request(letter: ReferralLetter) -> ServiceRequest:
    r = letter.referral
    st = Status(r.status)
    state = "active" if st in _OPEN else "completed" if st in (Status.COMPLETED, Status.RETURNED) else "revoked"
    return ServiceRequest.model_validate({
        "id": f"R{r.referral_id}",
        "identifier": [{"system": REFERRAL_SYSTEM, "value": str(r.referral_id)}],
        "status": state,
        "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005",
                                  "display": "Patient referral"}],
                      "text": "上转 up" if r.direction == "up" else "下转 down"}],
        "code": {"text": "转诊 referral"},
        "subject": {"reference": f"Patient/{r.person_id}"},
        "authoredOn": _instant(r.requested_at),
        "requester": {"reference": f"Organization/{r.from_inst_id}", "display": letter.from_name},
        "performer": [{"reference": f"Organization/{r.to_inst_id}", "display": letter.to_name}],
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": r.diagnosis}],
                        "text": r.reason or None}],
        "note": [{"text": r.care_plan}] if r.care_plan else None,
    })


def task(letter: ReferralLetter) -> Task:
    r = letter.referral
    st = Status(r.status)
    return Task.model_validate({
        "id": f"R{r.referral_id}",
        "identifier": [{"system": REFERRAL_SYSTEM, "value": str(r.referral_id)}],
        "basedOn": [{"reference": f"ServiceRequest/R{r.referral_id}"}],
        "status": _TASK[st],
        "businessStatus": {"coding": [{"system": STATUS_SYSTEM, "code": r.status}],
                           "text": STATUS_LABELS.get(r.status, r.status)},
        "intent": "order",
        "focus": {"reference": f"ServiceRequest/R{r.referral_id}"},
        "for": {"reference": f"Patient/{r.person_id}"},
        "authoredOn": _instant(r.requested_at),
        "lastModified": _instant(r.updated_at),
        "requester": {"reference": f"Organization/{r.from_inst_id}"},
        "owner": {"reference": f"Organization/{r.to_inst_id}"},
        "output": [{"type": {"text": "care plan 康复/随访计划"}, "valueString": r.care_plan}] if r.care_plan else None,
    })


def slot(row: SlotRow) -> Slot:
    return Slot.model_validate({
        "id": str(row.slot_id),
        "serviceType": [{"coding": [{"system": "urn:yigongti:slot-kind", "code": row.kind}]}],
        "schedule": {"reference": f"Schedule/{row.inst_id}-{row.kind}",
                     "display": f"Organization/{row.inst_id}"},
        "status": "busy" if row.booked >= row.capacity else "free",
        "start": _instant(row.start),
        "end": _instant(row.start + timedelta(minutes=SLOT_MINUTES)),
        "overbooked": False,
        "comment": (f"places {row.capacity}, reserved for referrals {row.reserved}, booked {row.booked} / "
                    f"号源 {row.capacity}，预留 {row.reserved}，已预约 {row.booked}"),
    })


def appointment(d: BookingDetail) -> Appointment:
    b, s, r = d.booking, d.slot, d.referral
    done = r is not None and r.status in (Status.ARRIVED, Status.COMPLETED, Status.RETURNED)
    state = "cancelled" if b.status == "cancelled" else "fulfilled" if done else "booked"
    doc: dict[str, Any] = {
        "id": f"B{b.booking_id}",
        "identifier": [{"system": "urn:yigongti:booking", "value": str(b.booking_id)}],
        "status": state,
        "serviceType": [{"coding": [{"system": "urn:yigongti:slot-kind", "code": s.kind}]}],
        "start": _instant(s.start),
        "end": _instant(s.start + timedelta(minutes=SLOT_MINUTES)),
        "created": _instant(b.booked_at),
        "slot": [{"reference": f"Slot/{s.slot_id}"}],
        "participant": [
            {"actor": {"reference": f"Patient/{b.person_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Organization/{s.inst_id}"}, "status": "accepted"}],
    }
    if r is not None:
        doc["basedOn"] = [{"reference": f"ServiceRequest/R{r.referral_id}"}]
        doc["reasonReference"] = [{"reference": f"ServiceRequest/R{r.referral_id}"}]
        doc["comment"] = "转诊患者（绿色通道）/ referred patient (green channel)"
    return Appointment.model_validate(doc)


def _fhir(resource: Any) -> Response:
    return Response(resource.model_dump_json(exclude_none=True), media_type=FHIR_JSON)


RefId = Annotated[str, Path(pattern=r"^R[0-9]{1,10}$")]


def _letter(ctx: Any, db: Any, principal: Any, ref: str) -> ReferralLetter:
    rid = int(ref[1:])
    if rid > 2**31 - 1:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such referral / 无此转诊单")
    return _run(lambda: referral_letter(ReferralUnitOfWork(db), principal, rid, now=ctx.clock.now()))


@router.get("/ServiceRequest/{ref}", responses=_NOT_FOUND, response_class=Response)
def read_service_request(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, ref: RefId) -> Response:
    """A referral (``R<referral_id>``) as the letter it is: who, from where to where, why (audited)."""
    return _fhir(service_request(_letter(ctx, db, principal, ref)))


@router.get("/Task/{ref}", responses=_NOT_FOUND, response_class=Response)
def read_task(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, ref: RefId) -> Response:
    """Where a referral (``R<referral_id>``) stands in the workflow (audited)."""
    return _fhir(task(_letter(ctx, db, principal, ref)))


@router.get("/Slot/{slot_id}", responses=_NOT_FOUND, response_class=Response)
def read_slot(db: DbSession, _p: CurrentPrincipal, slot_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    """A published slot: free or busy, its places and its reserve (not personal data)."""
    row = slot_of(ReferralUnitOfWork(db), slot_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such slot / 无此号源")
    return _fhir(slot(row))


@router.get("/Appointment/{ref}", responses=_NOT_FOUND, response_class=Response)
def read_appointment(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                     ref: Annotated[str, Path(pattern=r"^B[0-9]{1,10}$")]) -> Response:
    """A booking (``B<booking_id>``) as an Appointment: the slot, the patient, the institution, the referral it was
    booked from (audited)."""
    bid = int(ref[1:])
    if bid > 2**31 - 1:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such booking / 无此预约")
    d = _run(lambda: booking_detail(ReferralUnitOfWork(db), principal, bid, now=ctx.clock.now()))
    return _fhir(appointment(d))
