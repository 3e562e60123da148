"""``/api/diagnoses``: remote diagnosis orders of the shared centres (远程诊断申请单).

Thin adapters over ``centres.service``: each route parses, checks the caller's scope for the person (the platform's
scope condition, audited), runs one use case in the request's transaction and maps its refusals to HTTP: not a
party 404, a role that may not act 403, a move the workflow does not have 409, a request contradicting the registry
422.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, Field

from yigongti.centres.domain import CONSULT_LABELS, STATUS_LABELS, Kind
from yigongti.centres.service import (
    PlaceOrder,
    RequestConsultation,
    centre_figures,
    consultation_detail,
    consultation_worklist,
    move_consultation,
    move_order,
    order_detail,
    order_worklist,
    place_order,
    request_consultation,
)
from yigongti.centres.store import ConsultationRow, DiagnosisOrderRow
from yigongti.centres.uow import CentresUnitOfWork
from yigongti.platform.accounts import Role
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, ScopeDep, visible_person
from yigongti.platform.deps import run_use_case as _run

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["centres 资源共享中心"])
_ID = Field(min_length=1, max_length=64)
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not in your scope / 不存在或无权查看"},
           403: {"description": "not allowed for your role / 当前角色无权操作"},
           409: {"description": "not allowed by the workflow / 流程不允许"},
           422: {"description": "contradicts the registry / 与机构登记不符"}}


class OrderIn(BaseModel):
    person_id: str = _ID
    from_inst_id: str = _ID
    to_inst_id: str = _ID
    kind: Kind
    question: str = Field("", max_length=2000, description="the clinical question / 临床问题")
    repeat_reason: str | None = Field(None, max_length=2000, description="order again although a valid result "
                                                                         "exists: why (flagged as a repeat)")


class OrderCreated(BaseModel):
    order_id: int
    status: str
    repeat_of: int | None


class OrderMoveIn(BaseModel):
    status: Literal["accepted", "rejected", "reported", "cancelled"]
    report: str | None = Field(None, max_length=8000)
    abnormal: bool | None = None


class OrderOut(BaseModel):
    order_id: int
    person_id: str
    from_inst_id: str
    to_inst_id: str
    kind: str
    question: str
    status: str
    status_label: str
    repeat_of: int | None
    repeat_reason: str | None
    ordered_at: str
    reported_at: str | None
    report: str | None
    abnormal: bool | None


class EventOut(BaseModel):
    at: str
    actor: str
    party: str
    from_status: str | None
    to_status: str


class DetailOut(OrderOut):
    party: str
    valid_until: str | None
    earlier: OrderOut | None
    events: list[EventOut]


class CentreOut(BaseModel):
    centre_id: str
    name: str
    orders: int
    reported: int
    median_hours: str | None
    p90_hours: str | None
    repeats_flagged: int
    repeats_avoided: int
    by_kind: dict[str, int]


def _out(r: DiagnosisOrderRow) -> OrderOut:
    return OrderOut(order_id=r.order_id, person_id=r.person_id, from_inst_id=r.from_inst_id, to_inst_id=r.to_inst_id,
                    kind=r.kind, question=r.question, status=r.status, status_label=STATUS_LABELS.get(r.status, ""),
                    repeat_of=r.repeat_of, repeat_reason=r.repeat_reason,
                    ordered_at=r.ordered_at.isoformat(timespec="seconds"),
                    reported_at=r.reported_at.isoformat(timespec="seconds") if r.reported_at else None,
                    report=r.report, abnormal=r.abnormal)


OrderIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/diagnoses", response_model=OrderCreated, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_order(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep, body: OrderIn) -> OrderCreated:
    """申请远程诊断 / Order a remote diagnosis (a clinician of the primary ``from_inst_id``; the person in their
    scope) from a county-tier centre of the consortium. A valid result of the kind already read for the person makes
    the order ``recognised`` (结果互认: no new read) unless ``repeat_reason`` is given."""
    principal = person_scope.principal
    if principal.role is not Role.CLINICIAN or principal.inst_id != body.from_inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅申请机构的医生可申请 / only a clinician of from_inst_id")
    visible_person(request, ctx, db, person_scope, body.person_id)
    cmd = PlaceOrder(person_id=body.person_id, from_inst_id=body.from_inst_id, to_inst_id=body.to_inst_id,
                     kind=body.kind.value, question=body.question.strip(), repeat_reason=body.repeat_reason)
    row = _run(lambda: place_order(CentresUnitOfWork(db), principal, cmd, policy=ctx.policy.referral,
                                   now=ctx.clock.now()))
    return OrderCreated(order_id=row.order_id, status=row.status, repeat_of=row.repeat_of)


@router.get("/diagnoses", response_model=list[OrderOut], responses=_ERRORS)
def list_orders(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal) -> list[OrderOut]:
    """Orders placed or received by the caller's institution, newest first (clinicians and institution admins)."""
    work = _run(lambda: order_worklist(CentresUnitOfWork(db), principal, now=ctx.clock.now()))
    return [_out(i.order) for i in sorted(work.incoming + work.outgoing, key=lambda i: -i.order.order_id)]


@router.get("/diagnoses/centres", response_model=list[CentreOut], responses=_ERRORS)
def get_centres(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> list[CentreOut]:
    """Each centre's year: orders, reports, turnaround hours (median, p90), repeats flagged and avoided."""
    y = year or ctx.clock.today().year
    found = _run(lambda: centre_figures(CentresUnitOfWork(db), principal, year=y))
    return [CentreOut(centre_id=f.centre_id, name=f.name, orders=f.orders, reported=f.reported,
                      median_hours=None if f.median_hours is None else str(f.median_hours),
                      p90_hours=None if f.p90_hours is None else str(f.p90_hours), repeats_flagged=f.repeats_flagged,
                      repeats_avoided=f.repeats_avoided, by_kind=f.by_kind) for f in found]


@router.get("/diagnoses/{order_id}", response_model=DetailOut, responses=_ERRORS)
def get_order(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, order_id: OrderIdPath) -> DetailOut:
    """The order with its report and every move, for the ordering institution and the centre (audited)."""
    d = _run(lambda: order_detail(CentresUnitOfWork(db), principal, order_id, policy=ctx.policy.referral,
                                  now=ctx.clock.now()))
    events = [EventOut(at=e.at.isoformat(timespec="seconds"), actor=e.actor, party=e.party,
                       from_status=e.from_status, to_status=e.to_status) for e in d.events]
    return DetailOut.model_validate(_out(d.order).model_dump() | {
        "party": d.party.value, "valid_until": d.valid_until.isoformat(timespec="seconds") if d.valid_until else None,
        "earlier": _out(d.earlier) if d.earlier is not None and d.party.value == "requester" else None,
        "events": events})


@router.post("/diagnoses/{order_id}/status", response_model=OrderOut, responses=_ERRORS)
def post_order_status(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, order_id: OrderIdPath,
                      body: OrderMoveIn) -> OrderOut:
    """Move an order: the centre accepts, rejects or reports (``report`` text); either side cancels."""
    _run(lambda: move_order(CentresUnitOfWork(db), principal, order_id, body.status, now=ctx.clock.now(),
                            report=body.report, abnormal=body.abnormal))
    d = _run(lambda: order_detail(CentresUnitOfWork(db), principal, order_id, policy=ctx.policy.referral,
                                  now=ctx.clock.now()))
    return _out(d.order)


# ------------------------------------------------------------------------------------------------ tele-consultation

class ConsultationIn(BaseModel):
    person_id: str = _ID
    from_inst_id: str = _ID
    to_inst_id: str = _ID
    specialty: str = Field("", max_length=64, description="the specialty asked for / 会诊科室")
    question: str = Field(min_length=1, max_length=2000, description="the clinical question / 会诊问题")


class ConsultationMoveIn(BaseModel):
    status: Literal["scheduled", "declined", "held", "concluded", "cancelled"]
    scheduled_at: datetime | None = Field(None, description="China time, no zone / 会诊时间（北京时间）")
    opinion: str | None = Field(None, max_length=8000, description="the specialist's opinion / 会诊意见")


class ConsultationOut(BaseModel):
    consultation_id: int
    person_id: str
    from_inst_id: str
    to_inst_id: str
    specialty: str
    question: str
    status: str
    status_label: str
    scheduled_at: str | None
    opinion: str | None
    requested_at: str
    concluded_at: str | None


class ConsultationDetailOut(ConsultationOut):
    party: str
    events: list[EventOut]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at is not None else None


def _consult_out(r: ConsultationRow) -> ConsultationOut:
    return ConsultationOut(consultation_id=r.consultation_id, person_id=r.person_id, from_inst_id=r.from_inst_id,
                           to_inst_id=r.to_inst_id, specialty=r.specialty, question=r.question, status=r.status,
                           status_label=CONSULT_LABELS.get(r.status, ""), scheduled_at=_iso(r.scheduled_at),
                           opinion=r.opinion, requested_at=r.requested_at.isoformat(timespec="seconds"),
                           concluded_at=_iso(r.concluded_at))


ConsultIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/consultations", response_model=ConsultationOut, status_code=status.HTTP_201_CREATED,
             responses=_ERRORS)
def post_consultation(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                      body: ConsultationIn) -> ConsultationOut:
    """申请远程会诊 / Request a tele-consultation (a clinician of the primary ``from_inst_id``; the person in their
    scope) with a county-tier member of the consortium, which schedules it."""
    principal = person_scope.principal
    if principal.role is not Role.CLINICIAN or principal.inst_id != body.from_inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅申请机构的医生可申请 / only a clinician of from_inst_id")
    visible_person(request, ctx, db, person_scope, body.person_id)
    cmd = RequestConsultation(person_id=body.person_id, from_inst_id=body.from_inst_id, to_inst_id=body.to_inst_id,
                              specialty=body.specialty, question=body.question)
    row = _run(lambda: request_consultation(CentresUnitOfWork(db), principal, cmd, now=ctx.clock.now()))
    return _consult_out(row)


@router.get("/consultations", response_model=list[ConsultationOut], responses=_ERRORS)
def list_consultations(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal) -> list[ConsultationOut]:
    """Consultations requested or received by the caller's institution, newest first."""
    incoming, outgoing = _run(lambda: consultation_worklist(CentresUnitOfWork(db), principal, now=ctx.clock.now()))
    items = sorted(incoming + outgoing, key=lambda i: -i.consultation.consultation_id)
    return [_consult_out(i.consultation) for i in items]


@router.get("/consultations/{consultation_id}", response_model=ConsultationDetailOut, responses=_ERRORS)
def get_consultation(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                     consultation_id: ConsultIdPath) -> ConsultationDetailOut:
    """A consultation with every move, for the requesting institution and the specialist's (audited)."""
    d = _run(lambda: consultation_detail(CentresUnitOfWork(db), principal, consultation_id, now=ctx.clock.now()))
    events = [EventOut(at=e.at.isoformat(timespec="seconds"), actor=e.actor, party=e.party,
                       from_status=e.from_status, to_status=e.to_status) for e in d.events]
    return ConsultationDetailOut.model_validate(_consult_out(d.consultation).model_dump() | {
        "party": d.party.value, "events": events})


@router.post("/consultations/{consultation_id}/status", response_model=ConsultationOut, responses=_ERRORS)
def post_consultation_status(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                             consultation_id: ConsultIdPath, body: ConsultationMoveIn) -> ConsultationOut:
    """Move a consultation: the centre schedules (``scheduled_at``), declines, holds and concludes it
    (``opinion``); either side cancels it before it is held. 409 for a move the workflow does not have."""
    at = body.scheduled_at
    if at is not None and at.tzinfo is not None:  # an instant with its zone: as China time, as stored
        at = at.astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None)
    _run(lambda: move_consultation(CentresUnitOfWork(db), principal, consultation_id, body.status,
                                   now=ctx.clock.now(), scheduled_at=at, opinion=body.opinion))
    d = _run(lambda: consultation_detail(CentresUnitOfWork(db), principal, consultation_id, now=ctx.clock.now()))
    return _consult_out(d.consultation)
