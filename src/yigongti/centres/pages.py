"""The shared centres' pages (远程诊断): the primary clinician orders a remote diagnosis (from a patient's record:
``/diagnoses?person_id=ID``) and reads the reports; the centre's worklist accepts, rejects and writes the report;
``/diagnoses/centres`` shows each centre's turnaround and the repeats avoided (officials and staff), with a CSV.
Forms post with the page's CSRF token and answer with a redirect (post/redirect/get); a refusal is the error page
with its status (403, 404, 409, 422)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yigongti.centres.domain import KIND_LABELS, STATUS_LABELS, Status
from yigongti.centres.service import (
    ConsultationWork,
    OrderWork,
    PlaceOrder,
    RequestConsultation,
    centre_figures,
    consultation_worklist,
    move_consultation,
    move_order,
    order_detail,
    order_worklist,
    place_order,
    request_consultation,
)
from yigongti.centres.uow import CentresUnitOfWork
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, ScopeDep, visible_person
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of
from yigongti.platform.pages import CheckedCsrf, PagePrincipal, render
from yigongti.platform.tables import TableQuery, TableQueryDep, labels_text, pages_of, second_table_query

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
OrderId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Year = Annotated[int | None, Query(ge=2000, le=2100)]


def _staff(principal: Principal) -> Principal:
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "仅医生和机构管理员可用 / clinicians and institution admins only")
    return principal


@router.get("/diagnoses", response_class=HTMLResponse)
def diagnoses_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, query: TableQueryDep,
                   consult_query: Annotated[TableQuery, Depends(second_table_query("c"))],
                   person_id: Annotated[str, Query(max_length=64)] = "",
                   done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """远程诊断 / Orders placed (with their reports) and received (the centre's worklist); one search box and one sort
    for both tables of orders, each paged; the tele-consultations (received and requested) likewise with their own
    box (``cq``, ``csort``, ``cdir``, ``cpage``)."""
    me = _staff(principal)
    work = _run(lambda: order_worklist(CentresUnitOfWork(db), me, now=ctx.clock.now()))
    consults_in, consults_out = _run(lambda: consultation_worklist(CentresUnitOfWork(db), me, now=ctx.clock.now()))

    def text(item: OrderWork) -> str:
        o = item.order
        return " ".join((str(o.order_id), o.person_id, o.from_inst_id, o.to_inst_id, work.names.get(o.from_inst_id, ""),
                         work.names.get(o.to_inst_id, ""), KIND_LABELS.get(o.kind, o.kind),
                         STATUS_LABELS.get(o.status, o.status)))

    keys = {n: (lambda i, n=n: getattr(i.order, n)) for n in ("order_id", "person_id", "ordered_at", "status")}
    incoming, outgoing = pages_of((work.incoming, work.outgoing), query, text=text, keys=keys,
                                  extra={"person_id": person_id, **dict(consult_query.params)})

    def consult_text(item: ConsultationWork) -> str:
        c = item.consultation
        return " ".join((str(c.consultation_id), c.person_id, c.specialty, c.question, c.from_inst_id, c.to_inst_id,
                         work.names.get(c.from_inst_id, ""), work.names.get(c.to_inst_id, ""),
                         labels_text("consult_status", c.status)))

    consult_keys = {n: (lambda i, n=n: getattr(i.consultation, n))
                    for n in ("consultation_id", "person_id", "scheduled_at", "status")}
    c_in, c_out = pages_of((consults_in, consults_out), consult_query, text=consult_text, keys=consult_keys,
                           extra={"person_id": person_id, **dict(query.params)})
    return render(request, ctx, "diagnoses.html", me, work=work, incoming=incoming, outgoing=outgoing,
                  person_id=person_id, done=done, consults_in=c_in, consults_out=c_out,
                  kind_labels=KIND_LABELS, status_labels=STATUS_LABELS, reported=Status.REPORTED,
                  recognised=Status.RECOGNISED, may_order=me.role is Role.CLINICIAN and bool(work.centres),
                  validity=ctx.policy.referral.validity_days)


@router.post("/diagnoses", response_class=HTMLResponse)
def new_order(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, person_scope: ScopeDep,
              _csrf: CheckedCsrf, person_id: Annotated[str, Form(min_length=1, max_length=64)],
              to_inst_id: Annotated[str, Form(min_length=1, max_length=64)],
              kind: Annotated[str, Form(pattern="^(imaging|ecg|ultrasound|lab|pathology)$")],
              question: Annotated[str, Form(max_length=2000)] = "",
              repeat_reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """申请 / One action: order a remote diagnosis for a person in the clinician's scope."""
    me = _staff(principal)
    if me.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可申请远程诊断 / only clinicians order")
    visible_person(request, ctx, db, person_scope, person_id.strip())
    cmd = PlaceOrder(person_id=person_id.strip(), from_inst_id=me.inst_id or "", to_inst_id=to_inst_id, kind=kind,
                     question=question.strip(), repeat_reason=repeat_reason.strip() or None)
    row = _run(lambda: place_order(CentresUnitOfWork(db), me, cmd, policy=ctx.policy.referral,
                                   now=ctx.clock.now()))
    return RedirectResponse(f"/diagnoses/{row.order_id}", status.HTTP_303_SEE_OTHER)


@router.get("/diagnoses/centres", response_class=HTMLResponse)
def centres_page(request: Request, ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                 year: Year = None) -> Response:
    """各中心报告时长与结果互认 / Each centre's year: orders, reports, turnaround (median, p90), repeats."""
    y = year or ctx.clock.today().year
    found = _run(lambda: centre_figures(CentresUnitOfWork(db), principal, year=y))
    return render(request, ctx, "diagnosis_centres.html", principal, year=y, found=found, kind_labels=KIND_LABELS)


@router.get("/diagnoses/centres.csv")
def centres_csv(request: Request, ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                year: Year = None) -> Response:
    y = year or ctx.clock.today().year
    found = _run(lambda: centre_figures(CentresUnitOfWork(db), principal, year=y))
    cols = ("centre_id", "name", "orders", "reported", "median_hours", "p90_hours", "repeats_avoided")
    return csv_response(f"diagnosis-centres-{y}.csv", cols, (
        [f.centre_id, f.name, f.orders, f.reported, "" if f.median_hours is None else f.median_hours,
         "" if f.p90_hours is None else f.p90_hours, f.repeats_avoided] for f in found), lang=lang_of(request))


@router.get("/diagnoses/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
               order_id: OrderId) -> Response:
    """申请单与报告 / One order: the question, the report (or the recognised result), every move."""
    me = _staff(principal)
    d = _run(lambda: order_detail(CentresUnitOfWork(db), me, order_id, policy=ctx.policy.referral,
                                  now=ctx.clock.now()))
    return render(request, ctx, "diagnosis.html", me, d=d, kind_labels=KIND_LABELS, status_labels=STATUS_LABELS,
                  recognised=Status.RECOGNISED)


@router.post("/diagnoses/{order_id}/move", response_class=HTMLResponse)
def move(ctx: ContextDep, db: DbSession, principal: PagePrincipal, _csrf: CheckedCsrf, order_id: OrderId,
         to: Annotated[str, Form(pattern="^(accepted|rejected|reported|cancelled)$")],
         report: Annotated[str, Form(max_length=8000)] = "",
         abnormal: Annotated[str, Form(pattern="^(|yes|no)$")] = "") -> Response:
    """One action: move the order (``reported`` takes the report text)."""
    me = _staff(principal)
    _run(lambda: move_order(CentresUnitOfWork(db), me, order_id, to, now=ctx.clock.now(), report=report,
                            abnormal={"yes": True, "no": False}.get(abnormal)))
    return RedirectResponse(f"/diagnoses?done={order_id}#o{order_id}", status.HTTP_303_SEE_OTHER)


# ------------------------------------------------------------------------------------------------ tele-consultation

@router.post("/consultations", response_class=HTMLResponse)
def new_consultation(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                     person_scope: ScopeDep, _csrf: CheckedCsrf,
                     person_id: Annotated[str, Form(min_length=1, max_length=64)],
                     to_inst_id: Annotated[str, Form(min_length=1, max_length=64)],
                     question: Annotated[str, Form(min_length=1, max_length=2000)],
                     specialty: Annotated[str, Form(max_length=64)] = "") -> Response:
    """申请远程会诊 / One action: request a tele-consultation for a person in the clinician's scope."""
    me = _staff(principal)
    if me.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可申请会诊 / only clinicians request")
    visible_person(request, ctx, db, person_scope, person_id.strip())
    cmd = RequestConsultation(person_id=person_id.strip(), from_inst_id=me.inst_id or "", to_inst_id=to_inst_id,
                              specialty=specialty, question=question)
    row = _run(lambda: request_consultation(CentresUnitOfWork(db), me, cmd, now=ctx.clock.now()))
    return RedirectResponse(f"/diagnoses?done={row.consultation_id}#c{row.consultation_id}",
                            status.HTTP_303_SEE_OTHER)


@router.post("/consultations/{consultation_id}/move", response_class=HTMLResponse)
def move_consult(ctx: ContextDep, db: DbSession, principal: PagePrincipal, _csrf: CheckedCsrf,
                 consultation_id: OrderId,
                 to: Annotated[str, Form(pattern="^(scheduled|declined|held|concluded|cancelled)$")],
                 scheduled_at: Annotated[str, Form(max_length=32)] = "",
                 opinion: Annotated[str, Form(max_length=8000)] = "") -> Response:
    """One action: schedule (the time picked), decline, hold, conclude (the opinion) or cancel."""
    me = _staff(principal)
    when: datetime | None = None
    if scheduled_at.strip():
        try:
            when = datetime.fromisoformat(scheduled_at.strip())
        except ValueError:
            raise HTTPException(422, [{"loc": ["body", "scheduled_at"], "msg": "not a date and time / 不是日期时间",
                                       "type": "value_error"}]) from None
        if when.tzinfo is not None:
            raise HTTPException(422, [{"loc": ["body", "scheduled_at"], "msg": "China time without a zone / "
                                       "请填写北京时间（不带时区）", "type": "value_error"}])
    _run(lambda: move_consultation(CentresUnitOfWork(db), me, consultation_id, to, now=ctx.clock.now(),
                                   scheduled_at=when, opinion=opinion))
    return RedirectResponse(f"/diagnoses?done={consultation_id}#c{consultation_id}", status.HTTP_303_SEE_OTHER)
