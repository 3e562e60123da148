"""The shared health record's pages (共享健康档案): ``/persons/{person_id}/record`` for a clinician with a care
relationship (opened from the referral worklist with ``?referral_id=``) or the household's resident, and
``/persons/{person_id}/record/openings``, who opened it, for the officials of the person's scope and the household.
A refusal is the error page with its status (403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from yigongti.centres.domain import KIND_LABELS
from yigongti.platform.deps import ContextDep, DbSession, ScopedPerson
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.pages import PagePrincipal, render
from yigongti.referral.domain import STATUS_LABELS
from yigongti.shared.domain import OPENINGS_ROLES
from yigongti.shared.service import claims_in, open_record, record_openings
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
