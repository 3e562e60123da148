"""The shared health record's pages (共享健康档案): ``/persons/{person_id}/record`` for a clinician with a care
relationship (opened from the referral worklist with ``?referral_id=``) or the household's resident, and
``/persons/{person_id}/record/openings``, who opened it, for the officials of the person's scope and the household.
A refusal is the error page with its status (403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from yigongti.centres.domain import KIND_LABELS
from yigongti.platform.accounts import Role
from yigongti.platform.deps import ContextDep, DbSession, ScopedPerson
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of
from yigongti.platform.pages import PagePrincipal, render
from yigongti.platform.scope import consortia_in_scope
from yigongti.referral.domain import STATUS_LABELS
from yigongti.shared.domain import OPENINGS_ROLES
from yigongti.shared.service import WorkflowFigures, claims_in, open_record, record_openings, workflow_indicators
from yigongti.shared.uow import RecordUnitOfWork

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PersonId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/persons/{person_id}/record", response_class=HTMLResponse)
def record_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, person_id: PersonId,
                referral_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """共享健康档案 / One person's record across the members (audited with its basis)."""
    record = _run(lambda: open_record(RecordUnitOfWork(db), principal, person_id, claims=claims_in(ctx.figures.get()),
                                      policy=ctx.policy.referral, now=ctx.clock.now(), referral_id=referral_id,
                                      purpose="page"))
    return render(request, ctx, "record.html", principal, r=record, referral_id=referral_id,
                  kind_labels=KIND_LABELS, referral_labels=STATUS_LABELS)


@router.get("/persons/{person_id}/record/openings", response_class=HTMLResponse)
def openings_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                  person: ScopedPerson) -> Response:
    """查阅记录 / Who opened the person's shared record, when and why (officials of the scope, the household)."""
    if principal.role.value not in OPENINGS_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for your role / 当前角色无权查看")
    found = record_openings(RecordUnitOfWork(db), person.person_id)
    return render(request, ctx, "record_openings.html", principal, person=person, openings=found)


WORKFLOW_COLUMNS = ("scope", "scope_kind", "up_referrals", "down_referrals", "down_referrals_from_county",
                    "referrals_completed", "remote_diagnoses", "repeats_avoided")
WorkflowYear = Annotated[int | None, Query(ge=2000, le=2100)]


def _workflow(ctx: ContextDep, db: DbSession, principal: PagePrincipal, year: int | None) -> tuple[int,
                                                                                                   list[WorkflowFigures]]:
    if principal.role is Role.RESIDENT:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for your role / 当前角色无权查看")
    y = year or ctx.clock.today().year
    return y, workflow_indicators(RecordUnitOfWork(db), y, sorted(consortia_in_scope(db, principal)))


@router.get("/workflow-indicators", response_class=HTMLResponse)
def workflow_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                  year: WorkflowYear = None) -> Response:
    """转诊与远程诊断指标 / The year's referral and remote-diagnosis figures from the workflows, per consortium in
    scope and per sending institution (residents 403); the table as CSV."""
    y, found = _workflow(ctx, db, principal, year)
    rows = [[getattr(f, c) for c in WORKFLOW_COLUMNS] for f in found]
    return render(request, ctx, "workflow_indicators.html", principal, year=y, columns=WORKFLOW_COLUMNS, rows=rows)


@router.get("/workflow-indicators.csv")
def workflow_csv(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                 year: WorkflowYear = None) -> Response:
    y, found = _workflow(ctx, db, principal, year)
    return csv_response(f"workflow-indicators-{y}.csv", WORKFLOW_COLUMNS,
                        [[getattr(f, c) for c in WORKFLOW_COLUMNS] for f in found], lang=lang_of(request))
