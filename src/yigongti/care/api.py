"""``/api/care``: family-doctor teams, contracts, the chronic-disease registry, follow-ups, worklists, coverage and
long prescriptions (家庭医生签约与慢病管理接口).

Thin adapters over ``care.service``: every route that names a person checks the caller's scope for them (the
platform's scope condition, audited: 404 outside it, so that existence is not disclosed); lists over persons take
the scope condition. Refusals: a role or institution that may not act 403, already under contract or a full panel
409, a request contradicting the registry or a prescription refused 422 (with the reason).
"""

from __future__ import annotations

import datetime as _dt
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from yigongti.care.domain import (
    CONTROL_LABELS,
    POPULATION_LABELS,
    WORKLIST_LABELS,
    Control,
    KeyPopulation,
    Worklist,
)
from yigongti.care.schedules import SCHEDULED
from yigongti.care.service import (
    GP_PAY_READERS,
    DiseaseStatus,
    MemberIn,
    RecordFollowup,
    SignContract,
    TeamView,
    check_long_prescription,
    coverage,
    create_team,
    issue_long_prescription,
    long_prescription_counts,
    person_status,
    proposed_team,
    record_followup,
    register,
    sign_contract,
    teams_of,
    worklist,
)
from yigongti.care.uow import CareUnitOfWork
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.deps import (
    ContextDep,
    CurrentPrincipal,
    DbSession,
    Official,
    ScopeDep,
    ScopedPerson,
    require_roles,
    visible_person,
)
from yigongti.platform.deps import run_use_case as _run

__all__ = ["router"]

router = APIRouter(prefix="/api/care", tags=["care 家庭医生与慢病"])
_ID = Field(min_length=1, max_length=64)
PersonId = Annotated[str, Field(min_length=1, max_length=64)]
Disease = Literal["hypertension", "diabetes"]

_PayOfficial = Annotated[Principal, require_roles(*GP_PAY_READERS)]
"""Who reads the long prescriptions per GP: as the GP pay page (care.pages), the consortium's management and the
county's officials, not the doctors themselves."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found or not in your scope / 不存在或无权查看"},
    403: {"description": "not allowed for your role / 当前角色无权操作"},
    409: {"description": "already under contract, or the GP's panel is full / 已签约或签约人数已满"},
    422: {"description": "contradicts the registry, or refused with the reason / 与登记不符或不允许（附原因）"}}




def _uow(db: DbSession) -> CareUnitOfWork:
    return CareUnitOfWork(db)


# ---------------------------------------------------------------------------------------------------- models

class MemberModel(BaseModel):
    role: Literal["gp", "nurse", "public_health", "specialist"]
    name: str = Field(min_length=1, max_length=100)
    inst_id: str = _ID
    username: str | None = Field(None, min_length=1, max_length=128, description="the member's account, if any")


class MemberOut(MemberModel):
    member_id: int


class TeamIn(BaseModel):
    inst_id: str = _ID
    name: str = Field(min_length=1, max_length=200)
    members: list[MemberModel] = Field(min_length=1, max_length=20)


class TeamOut(BaseModel):
    team_id: int
    inst_id: str
    name: str
    members: list[MemberOut]


class ContractIn(BaseModel):
    person_ids: list[PersonId] = Field(min_length=1, max_length=20, description="one person, or a household's members")
    team_id: int = Field(ge=1, le=2**31 - 1)
    gp_member_id: int = Field(ge=1, le=2**31 - 1)
    start_date: date
    household_id: str | None = Field(None, min_length=1, max_length=64)
    pregnant: list[PersonId] = Field(default_factory=list, max_length=20, description="person_ids of pregnant women")
    conditions: dict[PersonId, list[Literal["tuberculosis", "mental"]]] = Field(
        default_factory=dict, max_length=20, description="person_id -> key-population conditions declared")


class ContractOut(BaseModel):
    contract_id: int
    person_id: str
    team_id: int
    gp_member_id: int
    start_date: date
    end_date: date


class RegisterIn(BaseModel):
    person_id: str = _ID
    disease: Disease
    registered_on: date


class RegisteredOut(BaseModel):
    person_id: str
    disease: str
    registered_on: date
    inst_id: str
    source: str


class FollowupIn(BaseModel):
    person_id: str = _ID
    disease: Disease
    date: _dt.date
    systolic: int | None = Field(None, ge=40, le=300, description="mmHg")
    diastolic: int | None = Field(None, ge=20, le=200, description="mmHg")
    fasting_glucose: Decimal | None = Field(None, ge=Decimal("0.5"), le=Decimal(50), max_digits=4,
                                            decimal_places=1, description="mmol/L")
    hba1c: Decimal | None = Field(None, ge=Decimal(2), le=Decimal(25), max_digits=4, decimal_places=1,
                                  description="%")
    medicines: str = Field("", max_length=2000)
    next_date: _dt.date | None = None


class FollowupOut(BaseModel):
    followup_id: int
    control: str
    control_label: str
    registered_now: bool


class DiseaseOut(BaseModel):
    disease: str
    registered_on: date
    inst_id: str
    source: str
    last_date: date | None
    next_date: date | None
    control: str | None
    control_label: str | None
    lists: list[str]


class StatusOut(BaseModel):
    person_id: str
    contract_id: int | None
    team_id: int | None
    contract_end: date | None
    diseases: list[DiseaseOut]


class WorklistItem(BaseModel):
    person_id: str
    disease: DiseaseOut


class WorklistOut(BaseModel):
    worklist: str
    label: str
    persons: list[WorklistItem]


class CoverageOut(BaseModel):
    population: str
    label: str
    persons: int | None
    contracted: int
    rate: str | None = Field(description="contracted / persons, percent with one decimal")


class PrescriptionIn(BaseModel):
    person_id: str = _ID
    disease: Disease
    days: int = Field(ge=1, le=366)


class PrescriptionOut(BaseModel):
    allowed: bool
    days: int


class LongPrescriptionIn(BaseModel):
    person_id: str = _ID
    disease: Disease
    days: int = Field(ge=31, le=366, description="more than 30 days: a long prescription (长处方)")


class LongPrescriptionOut(BaseModel):
    rx_id: int
    person_id: str
    disease: str
    days: int
    gp_member_id: int
    inst_id: str
    issued_at: _dt.datetime


class LongPrescriptionCountOut(BaseModel):
    gp_member_id: int
    name: str
    inst_id: str
    consortium_id: str
    year: int
    prescriptions: int
    days: int


def _team_out(v: TeamView) -> TeamOut:
    return TeamOut(team_id=v.team.team_id, inst_id=v.team.inst_id, name=v.team.name,
                   members=[MemberOut(member_id=m.member_id, role=m.role, name=m.name, inst_id=m.inst_id,
                                      username=m.username) for m in v.members])


def _disease_out(s: DiseaseStatus) -> DiseaseOut:
    return DiseaseOut(disease=s.disease, registered_on=s.registered_on, inst_id=s.inst_id, source=s.source,
                      last_date=s.last_date, next_date=s.next_date, control=s.control,
                      control_label=CONTROL_LABELS[Control(s.control)] if s.control else None, lists=list(s.lists))


# ---------------------------------------------------------------------------------------------------- routes

@router.post("/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_team(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: TeamIn) -> TeamOut:
    """组建家庭医生团队 / Set up a family-doctor team (the admin of the institution or of its consortium)."""
    members = [MemberIn(m.role, m.name, m.inst_id, m.username) for m in body.members]
    view = _run(lambda: create_team(_uow(db), principal, inst_id=body.inst_id, name=body.name, members=members,
                                    now=ctx.clock.now()))
    return _team_out(view)


@router.get("/teams", response_model=list[TeamOut])
def get_teams(db: DbSession, _p: Official, inst_id: Annotated[str, Query(min_length=1, max_length=64)]) -> list[
        TeamOut]:
    """An institution's teams and their members (no personal data of residents: officials)."""
    return [_team_out(v) for v in teams_of(_uow(db), inst_id)]


@router.get("/persons/{person_id}/proposed-team", response_model=TeamOut | None, responses=_ERRORS)
def get_proposed_team(ctx: ContextDep, db: DbSession, person: ScopedPerson) -> TeamOut | None:
    """默认推荐团队 / The team proposed by default: the designated village clinic's (else township centre's)."""
    view = proposed_team(_uow(db), person.person_id, ctx.clock.today().year)
    return _team_out(view) if view is not None else None


@router.post("/contracts", response_model=list[ContractOut], status_code=status.HTTP_201_CREATED,
             responses=_ERRORS)
def post_contracts(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                   body: ContractIn) -> list[ContractOut]:
    """签约 / Sign yearly contracts (a clinician or admin of the team's institution; every person in their scope).
    409 when a person is already under contract or the GP's panel would exceed the policy's ``care.panel_cap``."""
    principal = person_scope.principal
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "当前角色无权签约 / not allowed for your role")
    ids = tuple(dict.fromkeys(body.person_ids))
    if not set(body.pregnant) <= set(ids) or not set(body.conditions) <= set(ids):
        raise HTTPException(422, [{"loc": ["body", "pregnant"], "msg": "only persons signed here",
                                   "type": "value_error"}])
    for pid in ids:
        visible_person(request, ctx, db, person_scope, pid)
    cmd = SignContract(person_ids=ids, team_id=body.team_id, gp_member_id=body.gp_member_id,
                       start_date=body.start_date, household_id=body.household_id,
                       pregnant=frozenset(body.pregnant),
                       conditions={k: tuple(v) for k, v in body.conditions.items()})
    rows = _run(lambda: sign_contract(_uow(db), principal, cmd, policy=ctx.policy.care, now=ctx.clock.now()))
    return [ContractOut(contract_id=r.contract_id, person_id=r.person_id, team_id=r.team_id,
                        gp_member_id=r.gp_member_id, start_date=r.start_date, end_date=r.end_date) for r in rows]


@router.post("/registry", response_model=RegisteredOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_registry(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                  body: RegisterIn) -> RegisteredOut:
    """慢病登记 / Register a chronic patient (a clinician, at their institution; the earliest date is kept)."""
    if person_scope.principal.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可登记 / only a clinician registers")
    visible_person(request, ctx, db, person_scope, body.person_id)
    row = _run(lambda: register(_uow(db), person_scope.principal, person_id=body.person_id, disease=body.disease,
                                on=body.registered_on, now=ctx.clock.now()))
    return RegisteredOut(person_id=row.person_id, disease=row.disease, registered_on=row.registered_on,
                         inst_id=row.inst_id, source=row.source)


@router.post("/followups", response_model=FollowupOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_followup(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                  body: FollowupIn) -> FollowupOut:
    """随访录入 / Record a follow-up in one call: BP, fasting glucose, HbA1c (optional), medicines, the next date.
    Answers the control status of the reading; a person not yet registered is registered by this screening."""
    if person_scope.principal.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可录入随访 / only a clinician records follow-ups")
    visible_person(request, ctx, db, person_scope, body.person_id)
    cmd = RecordFollowup(person_id=body.person_id, disease=body.disease, date=body.date, systolic=body.systolic,
                         diastolic=body.diastolic, fasting_glucose=body.fasting_glucose, hba1c=body.hba1c,
                         medicines=body.medicines, next_date=body.next_date)
    done = _run(lambda: record_followup(_uow(db), person_scope.principal, cmd, policy=ctx.policy.care,
                                        now=ctx.clock.now()))
    return FollowupOut(followup_id=done.followup.followup_id, control=done.control.value,
                       control_label=CONTROL_LABELS[done.control], registered_now=done.registered_now)


@router.get("/persons/{person_id}", response_model=StatusOut, responses=_ERRORS)
def get_person(ctx: ContextDep, db: DbSession, person: ScopedPerson) -> StatusOut:
    """A person's chronic diseases (control status of the last reading, the worklists) and contract (audited)."""
    diseases, contract = person_status(_uow(db), person.person_id, today=ctx.clock.today(), policy=ctx.policy.care)
    return StatusOut(person_id=person.person_id, contract_id=contract.contract_id if contract else None,
                     team_id=contract.team_id if contract else None,
                     contract_end=contract.end_date if contract else None,
                     diseases=[_disease_out(s) for s in diseases])


@router.get("/worklists", response_model=list[WorklistOut], responses=_ERRORS)
def get_worklists(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                  gp_member_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> list[WorklistOut]:
    """工作清单 / A family doctor's worklists: overdue, due this week, uncontrolled at the last visit, lost to
    follow-up (the caller's own GP panel, or ``gp_member_id`` of their institution; audited)."""
    from yigongti.platform import audit

    lists = _run(lambda: worklist(_uow(db), person_scope.principal, gp_member_id=gp_member_id,
                                  today=ctx.clock.today(), policy=ctx.policy.care, condition=person_scope.condition))
    shown = {e.person_id for entries in lists.values() for e in entries}
    if shown:
        audit.record(db, person_scope.principal, action=f"GET {request.url.path}", person_ids=sorted(shown),
                     at=ctx.clock.now())
    return [WorklistOut(worklist=w.value, label=WORKLIST_LABELS[w],
                        persons=[WorklistItem(person_id=e.person_id, disease=_disease_out(e.status))
                                 for e in lists[w.value]]) for w in Worklist]


def _pct(num: int, den: int | None) -> str | None:
    if not den:
        return None
    return str((Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.1")))


@router.get("/coverage", response_model=list[CoverageOut])
def get_coverage(ctx: ContextDep, db: DbSession, person_scope: ScopeDep, _o: Official) -> list[CoverageOut]:
    """签约覆盖 / Contract coverage by key population among the persons in the caller's scope (counts only)."""
    rows = coverage(_uow(db), on=ctx.clock.today(), condition=person_scope.condition)
    return [CoverageOut(population=r.population,
                        label="全部人员 / everyone" if r.population == "all"
                        else POPULATION_LABELS[KeyPopulation(r.population)],
                        persons=r.persons, contracted=r.contracted, rate=_pct(r.contracted, r.persons))
            for r in rows]


@router.post("/prescriptions/check", response_model=PrescriptionOut, responses=_ERRORS)
def post_prescription_check(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                            body: PrescriptionIn) -> PrescriptionOut:
    """长处方 / May this chronic patient get a prescription of ``days``? Up to the policy's
    ``care.long_prescription_days`` (60) for a stable, registered, contracted patient; 422 with the reason."""
    if person_scope.principal.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可开具处方 / only a clinician prescribes")
    visible_person(request, ctx, db, person_scope, body.person_id)
    _run(lambda: check_long_prescription(_uow(db), person_id=body.person_id, disease=body.disease, days=body.days,
                                         today=ctx.clock.today(), policy=ctx.policy.care))
    return PrescriptionOut(allowed=True, days=body.days)


@router.post("/long-prescriptions", response_model=LongPrescriptionOut, status_code=status.HTTP_201_CREATED,
             responses=_ERRORS)
def post_long_prescription(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                           body: LongPrescriptionIn) -> LongPrescriptionOut:
    """开具长处方 / Issue a long prescription (31 days up to the policy's ``care.long_prescription_days``) to a
    stable, registered, contracted patient and record it for their family doctor's count (audited); refused: 422
    with the reason, nothing recorded."""
    if person_scope.principal.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可开具处方 / only a clinician prescribes")
    visible_person(request, ctx, db, person_scope, body.person_id)
    row = _run(lambda: issue_long_prescription(_uow(db), person_scope.principal, person_id=body.person_id,
                                               disease=body.disease, days=body.days, today=ctx.clock.today(),
                                               now=ctx.clock.now(), policy=ctx.policy.care))
    return LongPrescriptionOut(rx_id=row.rx_id, person_id=row.person_id, disease=row.disease, days=row.days,
                               gp_member_id=row.gp_member_id, inst_id=row.inst_id, issued_at=row.issued_at)


@router.get("/long-prescriptions/counts", response_model=list[LongPrescriptionCountOut], responses=_ERRORS)
def get_long_prescription_counts(ctx: ContextDep, db: DbSession, principal: _PayOfficial,
                                 year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                                 consortium: Annotated[str | None, Query(max_length=40,
                                                                         pattern=r"^[A-Za-z0-9_.\-]+$")] = None,
                                 ) -> list[LongPrescriptionCountOut]:
    """长处方数 / The long prescriptions issued in the year per family doctor (counts only) of the caller's consortia
    (``consortium``: that one; 404 outside your scope). For the consortium's management and the county's officials."""
    from yigongti.platform.scope import consortia_in_scope

    y = year or ctx.clock.today().year
    mine = consortia_in_scope(db, principal)
    if consortium is not None:
        if consortium not in mine:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "无此医共体 / no such consortium in your scope")
        mine = {consortium}
    return [LongPrescriptionCountOut(gp_member_id=c.gp_member_id, name=c.name, inst_id=c.inst_id,
                                     consortium_id=c.consortium_id, year=y, prescriptions=c.prescriptions, days=c.days)
            for c in long_prescription_counts(_uow(db), year=y, consortia=mine)]


# ------------------------------------------------------------------------------------------- key populations

KeyPop = Literal["elderly", "child", "pregnant", "tuberculosis", "mental"]
RegisteredPop = Literal["pregnant", "tuberculosis", "mental"]


class KeyRegisterIn(BaseModel):
    person_id: str = _ID
    population: RegisteredPop
    start_date: date = Field(description="the last menstrual period; the treatment's start; the registration")
    end_date: date | None = Field(None, description="the delivery; the treatment stopped; deregistered")


class KeyRegisterOut(KeyRegisterIn):
    register_id: int
    inst_id: str


class KeyServiceIn(BaseModel):
    person_id: str = _ID
    population: KeyPop
    date: _dt.date
    note: str = Field("", max_length=500)


class KeyServiceOut(BaseModel):
    service_id: int
    person_id: str
    population: str
    date: _dt.date
    inst_id: str
    created: bool


class SlotOut(BaseModel):
    population: str
    population_label: str
    visit: str = Field(description="the scheduled visit, Chinese / English")
    start: date
    due: date
    end: date
    state: str
    state_label: str
    service_date: date | None = None


class KeyDueOut(BaseModel):
    person_id: str
    slot: SlotOut


class DutyOut(BaseModel):
    scope_kind: str
    scope: str
    name: str
    population: str
    label: str
    persons: int
    counted: int
    done: int
    open: int
    rate: str | None = Field(description="done / counted, percent with one decimal")


def _slot_out(slot: Any, state: Any, service: date | None = None) -> SlotOut:
    from yigongti.care.schedules import SLOT_STATE_LABELS

    return SlotOut(population=slot.population.value, population_label=POPULATION_LABELS[slot.population],
                   visit=slot.label, start=slot.start, due=slot.due, end=slot.end, state=state.value,
                   state_label=SLOT_STATE_LABELS[state], service_date=service)


@router.post("/key-registers", response_model=KeyRegisterOut, status_code=status.HTTP_201_CREATED,
             responses=_ERRORS)
def post_key_register(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                      body: KeyRegisterIn) -> KeyRegisterOut:
    """重点人群登记 / Register a pregnancy, a tuberculosis treatment or a severe mental disorder (a clinician; the
    person in scope); the same start again with an end closes the episode. 409 overlapping an episode."""
    from yigongti.care.service import RegisterKey, register_key

    if person_scope.principal.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可登记 / only a clinician registers")
    visible_person(request, ctx, db, person_scope, body.person_id)
    cmd = RegisterKey(body.person_id, body.population, body.start_date, body.end_date)
    row = _run(lambda: register_key(_uow(db), person_scope.principal, cmd, now=ctx.clock.now()))
    return KeyRegisterOut(register_id=row.register_id, person_id=row.person_id, population=body.population,
                          start_date=row.start_date, end_date=row.end_date, inst_id=row.inst_id)


@router.post("/key-services", response_model=KeyServiceOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_key_service(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                     body: KeyServiceIn) -> KeyServiceOut:
    """重点人群服务 / Record a health check, a child health visit, a prenatal visit or a follow-up (a clinician;
    the person in scope). 422 when the person is not of the population that day; the same day twice is one."""
    from yigongti.care.service import RecordService, record_service

    if person_scope.principal.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可录入服务 / only a clinician records services")
    visible_person(request, ctx, db, person_scope, body.person_id)
    cmd = RecordService(body.person_id, body.population, body.date, body.note)
    row, created = _run(lambda: record_service(_uow(db), person_scope.principal, cmd, policy=ctx.policy.care,
                                               now=ctx.clock.now()))
    return KeyServiceOut(service_id=row.service_id, person_id=row.person_id, population=row.population,
                         date=row.date, inst_id=row.inst_id, created=created)


@router.get("/persons/{person_id}/key-services", response_model=list[SlotOut], responses=_ERRORS)
def get_person_schedule(ctx: ContextDep, db: DbSession, person: ScopedPerson) -> list[SlotOut]:
    """A person's key-population schedule of last year and this year: each scheduled service, its window, its
    state today (done, upcoming, due, overdue, missed) and the service that did it (audited)."""
    from yigongti.care.service import person_schedule

    rows = person_schedule(_uow(db), person.person_id, today=ctx.clock.today(), policy=ctx.policy.care)
    return [_slot_out(r.slot, r.state, r.service) for r in rows]


@router.get("/key-worklist", response_model=list[KeyDueOut], responses=_ERRORS)
def get_key_worklist(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                     gp_member_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> list[KeyDueOut]:
    """重点人群服务清单 / The services due and overdue today for the key populations of a family doctor's panel
    (the caller's own, or ``gp_member_id`` of their institution for an institution admin; audited)."""
    from yigongti.care.service import key_worklist
    from yigongti.platform import audit

    day = _run(lambda: key_worklist(_uow(db), person_scope.principal, gp_member_id=gp_member_id,
                                    today=ctx.clock.today(), policy=ctx.policy.care,
                                    condition=person_scope.condition))
    if day.persons:
        audit.record(db, person_scope.principal, action=f"GET {request.url.path}", person_ids=sorted(day.persons),
                     at=ctx.clock.now())
    return [KeyDueOut(person_id=e.person_id, slot=_slot_out(e.slot, e.state)) for e in day.entries]


@router.get("/duties", response_model=list[DutyOut], responses=_ERRORS)
def get_duties(ctx: ContextDep, db: DbSession, principal: Official,
               year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
               consortium: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")] = None,
               inst: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")] = None,
               ) -> list[DutyOut]:
    """公共卫生责任清单 / Each member's public-health duties for the key populations with the completion rates
    (counts only), for the caller's consortia: the consortia; ``consortium``: it and its members; ``inst``: that
    member (a township centre with its village clinics). 404 outside your scope."""
    from yigongti.care.service import DutyCache, duty_view

    view = _run(lambda: duty_view(_uow(db), principal, year=year or ctx.clock.today().year, today=ctx.clock.today(),
                                  policy=ctx.policy.care, consortium=consortium, inst=inst,
                                  cache=DutyCache.of(ctx.engine)))
    units = [("total", inst or consortium or "", view.title, view.totals)]
    units += [(u.kind, u.scope, u.name, u.figures) for u in view.units]
    return [DutyOut(scope_kind=kind, scope=scope, name=name, population=pop.value, label=POPULATION_LABELS[pop],
                    persons=f.persons, counted=f.counted, done=f.done, open=f.open, rate=_pct(f.done, f.counted))
            for kind, scope, name, figures in units for pop in SCHEDULED
            for f in [figures.get(pop.value)] if f is not None]
