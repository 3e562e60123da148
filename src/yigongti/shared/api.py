"""``/api/persons/{person_id}/record``: the shared health record (共享健康档案) and who opened it; and the monthly
internal statement between members (``/api/internal-statement``).

The record is opened by a clinician with a care relationship (designation, family-doctor contract, a live referral)
or a resident of the household; anyone else 403, whether the person exists or not (a hostile id changes nothing).
Every opening and refusal is audited with its basis. The openings of a record are listed for the officials whose
scope holds the person (consortium, bureau, commission) and for the person's household.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from yigongti.core.money import format_yuan
from yigongti.platform.accounts import Role
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, ScopedPerson
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.scope import consortia_in_scope
from yigongti.shared.domain import OPENINGS_ROLES
from yigongti.shared.service import (
    HealthRecord,
    claims_in,
    member_statement,
    open_record,
    record_openings,
    workflow_indicators,
)
from yigongti.shared.uow import RecordUnitOfWork

__all__ = ["record_out", "router"]

router = APIRouter(prefix="/api", tags=["shared record 共享健康档案"])
_ERRORS: dict[int | str, dict[str, Any]] = {403: {"description": "no care relationship / 无诊疗关系，无权查看"}}
PersonId = Annotated[str, Path(min_length=1, max_length=64)]



class RecordOut(BaseModel):
    person_id: str
    sex: str
    birth_date: str
    basis: str
    basis_ref: int | None
    encounters: list[dict[str, Any]]
    diagnoses: list[dict[str, Any]]
    results: list[dict[str, Any]]
    prescriptions: list[dict[str, Any]]
    care_plans: list[dict[str, Any]]
    referrals: list[dict[str, Any]]


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def record_out(r: HealthRecord) -> RecordOut:
    def rows(items: list[Any]) -> list[dict[str, Any]]:
        return [{k: _iso(v) for k, v in vars(i).items()} for i in items]

    refs = [{"referral_id": x.referral_id, "direction": x.direction, "from_inst_id": x.from_inst_id,
             "to_inst_id": x.to_inst_id, "diagnosis": x.diagnosis, "status": x.status,
             "requested_at": x.requested_at.isoformat(timespec="seconds"), "care_plan": x.care_plan}
            for x in r.referrals]
    return RecordOut(person_id=r.person_id, sex=r.sex, birth_date=r.birth_date.isoformat(), basis=r.basis.value,
                     basis_ref=r.basis_ref, encounters=rows(r.encounters),
                     diagnoses=[{"code": d.code, "first_seen": d.first_seen.isoformat(),
                                 "last_seen": d.last_seen.isoformat(), "sources": list(d.sources)}
                                for d in r.diagnoses],
                     results=rows(r.results), prescriptions=rows(r.prescriptions), care_plans=rows(r.care_plans),
                     referrals=refs)


@router.get("/persons/{person_id}/record", response_model=RecordOut, responses=_ERRORS)
def get_record(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, person_id: PersonId,
               referral_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
               purpose: Annotated[str, Query(max_length=200)] = "") -> RecordOut:
    """共享健康档案 / One person's record across the members: encounters, diagnoses, results, prescriptions, care
    plans, referrals. ``referral_id``: the referral letter it is opened from; ``purpose``: why (both audited)."""
    record = _run(lambda: open_record(RecordUnitOfWork(db), principal, person_id, claims=claims_in(ctx.figures.get()),
                                      policy=ctx.policy.referral, now=ctx.clock.now(), purpose=purpose.strip(),
                                      referral_id=referral_id))
    return record_out(record)


class OpeningOut(BaseModel):
    at: str
    actor: str
    action: str
    basis: str | None
    detail: dict[str, Any]


@router.get("/persons/{person_id}/record/openings", response_model=list[OpeningOut],
            responses={403: {"description": "not allowed for your role"}, 404: {"description": "not in your scope"}})
def get_openings(db: DbSession, person: ScopedPerson, principal: CurrentPrincipal) -> list[OpeningOut]:
    """查阅记录 / Who opened (or was refused) the person's shared record, when and why, newest first: for the
    officials whose scope holds the person and for the person's household."""
    if principal.role.value not in OPENINGS_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for your role / 当前角色无权查看")
    found = record_openings(RecordUnitOfWork(db), person.person_id)
    return [OpeningOut(at=o.at.isoformat(timespec="seconds"), actor=o.actor, action=o.action,
                       basis=o.detail.get("basis"), detail=dict(o.detail)) for o in found]


class StatementLineOut(BaseModel):
    consortium_id: str
    month: str
    inst_id: str
    item: str
    services: int
    received: str
    paid: str
    net: str


@router.get("/internal-statement", response_model=list[StatementLineOut],
            responses={403: {"description": "not allowed for your role"}})
def get_statement(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                  year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> list[StatementLineOut]:
    """成员单位内部结算单 / Each member's monthly internal statement (yuan) from the platform's referrals, remote
    reads and tele-consultations, for the consortia in the caller's scope; each consortium's month nets to zero."""
    if principal.role is Role.RESIDENT:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for your role / 当前角色无权查看")
    y = year or ctx.clock.today().year
    lines, _ = member_statement(RecordUnitOfWork(db), y, ctx.policy.referral, sorted(consortia_in_scope(db, principal)))
    return [StatementLineOut(consortium_id=ln.consortium_id, month=ln.month, inst_id=ln.inst_id, item=ln.item,
                             services=ln.services, received=format_yuan(ln.received), paid=format_yuan(ln.paid),
                             net=format_yuan(ln.net)) for ln in lines]


class WorkflowFiguresOut(BaseModel):
    scope: str
    scope_kind: str
    up_referrals: int
    down_referrals: int
    down_referrals_from_county: int
    referrals_completed: int
    remote_diagnoses: int
    repeats_avoided: int


@router.get("/workflow-indicators", response_model=list[WorkflowFiguresOut],
            responses={403: {"description": "not allowed for your role"}})
def get_workflow_indicators(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                            year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> list[WorkflowFiguresOut]:
    """转诊与远程诊断指标 / The year's referral and remote-diagnosis figures from the platform's workflows (S3 up-,
    S4 down-referrals, S5's numerator, S4b completed, 2.2's numerator, repeats avoided), per consortium in the
    caller's scope and per sending institution: the numerators the appraisal gives from the exported tables."""
    if principal.role is Role.RESIDENT:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for your role / 当前角色无权查看")
    y = year or ctx.clock.today().year
    found = workflow_indicators(RecordUnitOfWork(db), y, sorted(consortia_in_scope(db, principal)))
    return [WorkflowFiguresOut.model_validate(vars(f)) for f in found]
