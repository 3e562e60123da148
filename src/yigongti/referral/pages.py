"""The clinician's referral pages (转诊工作台): referrals in and out with one-action status moves, a new referral
(from a patient's record: ``/referrals?person_id=ID``), and the proposed down-referrals. Forms post with the page's
CSRF token and answer with a redirect back to the worklist (post/redirect/get); a refusal is the error page with its
status (403, 404, 409, 422)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yigongti.platform.accounts import Principal, Role
from yigongti.platform.deps import ContextDep, DbSession, ScopeDep, visible_person
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.pages import CheckedCsrf, PagePrincipal, render
from yigongti.referral.domain import DIRECTION_LABELS, KIND_LABELS, STATUS_LABELS, Status
from yigongti.referral.service import (
    RequestReferral,
    catalogues_for,
    move_referral,
    request_referral,
    worklist,
)
from yigongti.referral.uow import ReferralUnitOfWork

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_ID = r"^[A-Za-z0-9.\-]+$"


def _staff(principal: Principal) -> Principal:
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "仅医生和机构管理员可用 / clinicians and institution admins only")
    return principal


def _back(referral_id: int | None = None) -> Response:
    target = "/referrals" + (f"?done={referral_id}#r{referral_id}" if referral_id else "")
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                   person_id: Annotated[str, Query(max_length=64)] = "",
                   done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """转诊工作台 / The worklist: referrals received (to act on) and sent (to follow), newest first."""
    me = _staff(principal)
    now = ctx.clock.now()
    work = _run(lambda: worklist(ReferralUnitOfWork(db), me, catalogues_for(ctx.policy.referral), now=now))
    return render(request, ctx, "referrals.html", me, work=work, person_id=person_id, done=done,
                  status_labels=STATUS_LABELS, direction_labels=DIRECTION_LABELS, kind_labels=KIND_LABELS,
                  may_refer=me.role is Role.CLINICIAN, booked=Status.BOOKED, returned=Status.RETURNED)


@router.post("/referrals", response_class=HTMLResponse)
def new_referral(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, person_scope: ScopeDep,
                 _csrf: CheckedCsrf, person_id: Annotated[str, Form(min_length=1, max_length=64)],
                 to_inst_id: Annotated[str, Form(min_length=1, max_length=64)],
                 direction: Annotated[str, Form(pattern="^(up|down)$")],
                 diagnosis: Annotated[str, Form(min_length=1, max_length=16, pattern=_ID)],
                 reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """发起转诊 / One action: refer a person in the clinician's scope."""
    me = _staff(principal)
    if me.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可发起转诊 / only clinicians refer")
    visible_person(request, ctx, db, person_scope, person_id.strip())
    cmd = RequestReferral(person_id=person_id.strip(), from_inst_id=me.inst_id or "", to_inst_id=to_inst_id,
                          direction=direction, diagnosis=diagnosis.upper(), reason=reason.strip())
    row = _run(lambda: request_referral(ReferralUnitOfWork(db), me, cmd, now=ctx.clock.now()))
    return _back(row.referral_id)


@router.post("/referrals/{referral_id}/move", response_class=HTMLResponse)
def move(ctx: ContextDep, db: DbSession, principal: PagePrincipal, _csrf: CheckedCsrf,
         referral_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
         to: Annotated[str, Form(pattern="^(accepted|declined|booked|arrived|completed|returned|cancelled)$")],
         slot_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
         care_plan: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """One action: move the referral (``booked`` takes the slot picked; ``returned`` the care plan)."""
    me = _staff(principal)
    _run(lambda: move_referral(ReferralUnitOfWork(db), me, referral_id, to, policy=ctx.policy.referral,
                               now=ctx.clock.now(), slot_id=slot_id, care_plan=care_plan.strip() or None))
    return _back(referral_id)
