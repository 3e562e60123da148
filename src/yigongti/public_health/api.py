"""``/api/public-health``: notifiable infectious-disease report cards (法定传染病报告).

Thin adapters over ``public_health.service``: each route parses, checks the caller's scope for the person (the
platform's scope condition, audited), runs one use case in the request's transaction and maps its refusals to HTTP:
not in scope 404, a role that may not act 403, a card no longer pending or a request contradicting the registry 422.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, Field

from yigongti.core.dates import china_time
from yigongti.platform.accounts import Role
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, ScopeDep, visible_person
from yigongti.platform.deps import run_use_case as _run
from yigongti.public_health.domain import CLASS_LABELS, TIMELINESS_LABELS, stock_flags
from yigongti.public_health.service import (
    Exposure,
    alerts,
    catalogue_for,
    check_exposure,
    foodborne_cases,
    foodborne_clusters,
    foodborne_list,
    put_stockpile,
    record_diagnosis,
    record_foodborne,
    record_surveillance,
    stockpile,
    submit_card,
    submit_cluster,
    submit_foodborne,
    surveillance,
    timeliness_by_institution,
    void_card,
)
from yigongti.public_health.uow import PublicHealthUnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/api/public-health", tags=["public health 传染病报告"])
_ID = Field(min_length=1, max_length=64)

_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not in your scope / 不存在或无权查看"},
                                            403: {"description": "not allowed for your role / 当前角色无权操作"},
                                            422: {"description": "not pending, or contradicts the registry / "
                                                                 "报告卡状态不符或与机构不符"}}


class DiagnosisIn(BaseModel):
    person_id: str = _ID
    inst_id: str = _ID
    icd10: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.\-]+$", description="ICD-10")
    diagnosed_at: datetime | None = Field(None, description="China time (UTC+8) when no zone is given; default now")
    onset_at: datetime | None = Field(None, description="food-borne: onset (发病时间), China time when no zone")
    exposure_place: str = Field("", max_length=200, description="food-borne: place of eating (就餐地点); cases of one "
                                                                "place group into clusters")
    suspected_food: str = Field("", max_length=200, description="food-borne: suspected food (可疑食品)")


class RecordedOut(BaseModel):
    notifiable: bool
    card_id: int | None
    disease_code: str | None
    disease_label: str | None
    disease_class: str | None
    joined: bool
    deadline: str | None
    foodborne_card_id: int | None = Field(None, description="the food-borne case report the diagnosis opened, if "
                                                           "it is on the food-borne list / 食源性疾病病例报告")


class FoodborneOut(BaseModel):
    card_id: int
    person_id: str
    inst_id: str
    case_code: str
    case_label: str
    icd10: str
    diagnosed_at: str
    deadline: str
    status: str
    state: str
    state_label: str


class VoidIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class SubmittedOut(BaseModel):
    card_id: int
    timeliness: str
    label: str


class AlertOut(BaseModel):
    card_id: int
    person_id: str
    inst_id: str
    inst_name: str
    disease_code: str
    disease_label: str
    disease_class: str
    class_label: str
    diagnosed_at: str
    deadline: str
    diagnoses: int
    state: str
    state_label: str


class TallyOut(BaseModel):
    inst_id: str
    cards: int
    on_time: int
    late: int
    missed: int
    pending: int
    voided: int


class DiseaseOut(BaseModel):
    code: str
    label: str
    disease_class: str
    class_label: str
    icd10: list[str]
    managed_as_a: bool
    managed_as_a_until: str | None






def _uow(db: DbSession) -> PublicHealthUnitOfWork:
    return PublicHealthUnitOfWork(db)


CardIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/diseases", response_model=list[DiseaseOut])
def get_diseases(ctx: ContextDep, _p: CurrentPrincipal) -> list[DiseaseOut]:
    """法定传染病目录 / The disease list in force (no personal data: any signed-in user)."""
    cat = catalogue_for(ctx.policy.public_health)
    return [DiseaseOut(code=d.code, label=d.label, disease_class=d.cls.value, class_label=CLASS_LABELS[d.cls.value],
                       icd10=list(d.icd10), managed_as_a=d.managed_as_a,
                       managed_as_a_until=d.managed_as_a_until.isoformat() if d.managed_as_a_until else None)
            for d in cat.diseases]


@router.post("/diagnoses", response_model=RecordedOut, responses=_ERRORS)
def post_diagnosis(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                   body: DiagnosisIn) -> RecordedOut:
    """登记诊断 / Record a diagnosis (a clinician of ``inst_id``; the person in their scope): a notifiable one opens
    a report card with its legal deadline, or joins the person's card of the disease within the episode window."""
    principal = person_scope.principal
    if principal.role is not Role.CLINICIAN or principal.inst_id != body.inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅本机构医生可登记诊断 / only a clinician of inst_id")
    visible_person(request, ctx, db, person_scope, body.person_id)
    now = ctx.clock.now()
    policy = ctx.policy.public_health
    cat = catalogue_for(policy)
    at = china_time(body.diagnosed_at) if body.diagnosed_at is not None else now
    exposure = Exposure(china_time(body.onset_at) if body.onset_at is not None else None, body.exposure_place,
                        body.suspected_food)
    _run(lambda: check_exposure(exposure, at))
    r = _run(lambda: record_diagnosis(_uow(db), principal, person_id=body.person_id, inst_id=body.inst_id,
                                      icd10=body.icd10, at=at, catalogue=cat, policy=policy, now=now))
    fb = _run(lambda: record_foodborne(_uow(db), principal, person_id=body.person_id, inst_id=body.inst_id,
                                       icd10=body.icd10, at=at, cases=foodborne_cases(), now=now,
                                       exposure=exposure))
    disease = cat.get(r.disease_code) if r.disease_code else None
    return RecordedOut(notifiable=disease is not None, card_id=r.card_id, disease_code=r.disease_code,
                       disease_label=disease.label if disease else None,
                       disease_class=disease.cls.value if disease else None, joined=r.joined,
                       deadline=r.deadline.isoformat(timespec="seconds") if r.deadline else None,
                       foodborne_card_id=fb.card_id if fb is not None else None)


@router.post("/cards/{card_id}/submit", response_model=SubmittedOut, responses=_ERRORS)
def post_submit(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, card_id: CardIdPath) -> SubmittedOut:
    """网络直报 / Submit a pending card: on time by its deadline, else late."""
    t = _run(lambda: submit_card(_uow(db), principal, card_id, now=ctx.clock.now()))
    return SubmittedOut(card_id=card_id, timeliness=t.value, label=TIMELINESS_LABELS[t.value])


@router.post("/cards/{card_id}/void", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
def post_void(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, card_id: CardIdPath,
              body: VoidIn) -> None:
    """订正排除 / Void a pending card (the diagnosis was revised), with the reason."""
    _run(lambda: void_card(_uow(db), principal, card_id, reason=body.reason, now=ctx.clock.now()))


@router.get("/alerts", response_model=list[AlertOut], responses=_ERRORS)
def get_alerts(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal) -> list[AlertOut]:
    """预警列表 / Cards not yet reported, overdue first then by deadline: the consortium admin (their consortium),
    the health commission (the county), an institution admin (their institution). Audited per person."""
    cat = catalogue_for(ctx.policy.public_health)
    out = []
    for a in _run(lambda: alerts(_uow(db), principal, now=ctx.clock.now())):
        c, d = a.card, cat.get(a.card.disease_code)
        out.append(AlertOut(card_id=c.card_id, person_id=c.person_id, inst_id=c.inst_id, inst_name=a.inst_name,
                            disease_code=c.disease_code, disease_label=d.label if d else c.disease_code,
                            disease_class=c.disease_class, class_label=CLASS_LABELS.get(c.disease_class, ""),
                            diagnosed_at=c.diagnosed_at.isoformat(timespec="seconds"),
                            deadline=c.deadline.isoformat(timespec="seconds"), diagnoses=c.diagnoses,
                            state=a.state.value, state_label=TIMELINESS_LABELS[a.state.value]))
    return out


@router.get("/timeliness", response_model=list[TallyOut], responses=_ERRORS)
def get_timeliness(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                   year: Annotated[int, Query(ge=2000, le=2100)],
                   kind: Annotated[str, Query(pattern="^(infectious|foodborne)$",
                                              description="infectious cards or food-borne case reports")]
                   = "infectious") -> list[TallyOut]:
    """报告及时性 / Per institution the year's cards (``kind=foodborne``: food-borne case reports): on time, late,
    missed (overdue, not reported), pending, voided (no personal data)."""
    rows = _run(lambda: timeliness_by_institution(_uow(db), principal, year=year, now=ctx.clock.now(),
                                                  foodborne=kind == "foodborne"))
    return [TallyOut(inst_id=r.inst_id, cards=r.cards, on_time=r.on_time, late=r.late, missed=r.missed,
                     pending=r.pending, voided=r.voided) for r in rows]


@router.get("/foodborne", response_model=list[FoodborneOut], responses=_ERRORS)
def get_foodborne(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal) -> list[FoodborneOut]:
    """食源性疾病病例报告 / The food-borne case reports of the last year and every pending one, pending first: a
    clinician their institution's, the consortium admin, the health commission, an institution admin as for the
    alert list. Audited per person."""
    cases = foodborne_cases()
    out = []
    for i in _run(lambda: foodborne_list(_uow(db), principal, now=ctx.clock.now())):
        c, case = i.card, cases.get(i.card.case_code)
        out.append(FoodborneOut(card_id=c.card_id, person_id=c.person_id, inst_id=c.inst_id, case_code=c.case_code,
                                case_label=case.label if case else c.case_code, icd10=c.icd10,
                                diagnosed_at=c.diagnosed_at.isoformat(timespec="seconds"),
                                deadline=c.deadline.isoformat(timespec="seconds"), status=c.status,
                                state=i.state.value, state_label=TIMELINESS_LABELS[i.state.value]))
    return out


@router.post("/foodborne/{card_id}/submit", response_model=SubmittedOut, responses=_ERRORS)
def post_foodborne_submit(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                          card_id: CardIdPath) -> SubmittedOut:
    """报告 / Report a pending food-borne case: on time by its deadline, else late."""
    t = _run(lambda: submit_foodborne(_uow(db), principal, card_id, now=ctx.clock.now()))
    return SubmittedOut(card_id=card_id, timeliness=t.value, label=TIMELINESS_LABELS[t.value])


class ClusterOut(BaseModel):
    cluster_id: int = Field(description="the id of its first case (by time); any case's id submits it")
    exposure_place: str
    cases: int = Field(description="cases in the cluster, every member's")
    case_ids: list[int] = Field(description="the cases in the reader's scope")
    inst_ids: list[str]
    suspected_foods: list[str]
    first_at: str
    last_at: str
    formed_at: str = Field(description="the diagnosis that made it a cluster (the min_cases-th)")
    deadline: str
    state: str
    state_label: str
    submitted_at: str | None
    submitted_by: str | None
    cases_since_report: int
    may_submit: bool


@router.get("/foodborne-clusters", response_model=list[ClusterOut], responses=_ERRORS)
def get_clusters(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                 pending: Annotated[bool, Query(description="only those not reported")] = False) -> list[ClusterOut]:
    """食源性聚集性病例 / The food-borne clusters of the last year with a case in the reader's scope (computed from
    the cases), not reported first: a clinician or institution admin their institution's, the consortium admin
    their consortium's, the health commission all. Audited per person."""
    now = ctx.clock.now()
    items = _run(lambda: foodborne_clusters(_uow(db), principal, policy=ctx.policy.public_health, now=now,
                                            pending_only=pending))

    def when(t: datetime) -> str:
        return t.isoformat(timespec="seconds")

    return [ClusterOut(cluster_id=k.cluster.cluster_id, exposure_place=k.place, cases=k.total,
                       case_ids=[c.card_id for c in k.cases], inst_ids=list(k.inst_ids), suspected_foods=list(k.foods),
                       first_at=when(k.cluster.first_at), last_at=when(k.cluster.last_at),
                       formed_at=when(k.cluster.formed_at), deadline=when(k.deadline), state=k.state.value,
                       state_label=TIMELINESS_LABELS[k.state.value],
                       submitted_at=when(k.report.submitted_at) if k.report else None,
                       submitted_by=k.report.submitted_by if k.report else None,
                       cases_since_report=k.new_since_report, may_submit=k.may_submit) for k in items]


@router.post("/foodborne-clusters/{card_id}/submit", response_model=SubmittedOut, responses=_ERRORS)
def post_cluster_submit(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                        card_id: CardIdPath) -> SubmittedOut:
    """报告聚集性病例 / The consortium's public-health staff report the cluster of the case ``card_id`` (its id or
    any of its cases'): on time by its deadline, else late; 422 when already reported."""
    t = _run(lambda: submit_cluster(_uow(db), principal, card_id, policy=ctx.policy.public_health,
                                    now=ctx.clock.now()))
    return SubmittedOut(card_id=card_id, timeliness=t.value, label=TIMELINESS_LABELS[t.value])


# --- Surveillance and the emergency stockpile (监测预警与应急物资) ---


class CountsIn(BaseModel):
    inst_id: str = Field(min_length=1, max_length=64)
    site_kind: str = Field(pattern="^(fever_clinic|sentinel)$", description="fever_clinic 发热门诊 or sentinel 哨点")
    week: date = Field(description="any day of the week; its Monday is kept")
    counts: dict[str, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        description="cases per syndrome code of the policy (public_health.syndromes)", max_length=50)


class WeekOut(BaseModel):
    inst_id: str
    site_kind: str
    syndrome: str
    week: date
    cases: int
    threshold: str = Field(description="the warning threshold, a decimal as text")
    basis: str = Field(description="history (mean + k SD of the previous weeks) or fixed (the policy's)")
    warning: bool


class StockLineIn(BaseModel):
    inst_id: str = Field(min_length=1, max_length=64)
    item_code: str = Field(min_length=1, max_length=64)
    item_name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=32)
    unit: str = Field(min_length=1, max_length=16)
    batch: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=0, le=100_000_000)
    minimum: int = Field(ge=0, le=100_000_000)
    expires_on: date | None = None


class StockLineOut(StockLineIn):
    line_id: int
    flags: list[str]


@router.post("/surveillance", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_counts(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: CountsIn) -> dict[str, int]:
    """症状监测周报 / A site's counts of one week, every syndrome at once (a week recorded again is replaced)."""
    n = _run(lambda: record_surveillance(_uow(db), principal, inst_id=body.inst_id, site_kind=body.site_kind,
                                         week=body.week, counts=body.counts, policy=ctx.policy.public_health,
                                         now=ctx.clock.now()))
    return {"recorded": n}


@router.get("/surveillance", response_model=list[WeekOut], responses=_ERRORS)
def get_surveillance(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                     until: Annotated[date | None, Query()] = None,
                     weeks: Annotated[int, Query(ge=1, le=26)] = 4) -> list[WeekOut]:
    """The counts of the last ``weeks`` weeks in scope with their thresholds, warnings first."""
    end = until or ctx.clock.today()
    rows = _run(lambda: surveillance(_uow(db), principal, policy=ctx.policy.public_health, until=end, weeks=weeks))
    return [WeekOut(inst_id=r.inst_id, site_kind=r.site_kind, syndrome=r.syndrome, week=r.week, cases=r.cases,
                    threshold=str(r.threshold.threshold), basis=r.threshold.basis, warning=r.warning) for r in rows]


@router.put("/stockpile", response_model=StockLineOut, responses=_ERRORS)
def put_stock_line(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: StockLineIn) -> StockLineOut:
    """应急物资 / Set a stockpile line (an item's batch at an institution)."""
    line_id = _run(lambda: put_stockpile(_uow(db), principal, now=ctx.clock.now(), **body.model_dump()))
    today = ctx.clock.today()
    flags = stock_flags(body.quantity, body.minimum, body.expires_on, today,
                        ctx.policy.public_health.stockpile_warn_days)
    return StockLineOut(line_id=line_id, flags=list(flags), **body.model_dump())


@router.get("/stockpile", response_model=list[StockLineOut], responses=_ERRORS)
def get_stockpile(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal) -> list[StockLineOut]:
    """The emergency stockpile in scope, flagged lines first."""
    lines = _run(lambda: stockpile(_uow(db), principal, policy=ctx.policy.public_health, today=ctx.clock.today()))
    return [StockLineOut(line_id=x.row.line_id, inst_id=x.row.inst_id, item_code=x.row.item_code,
                         item_name=x.row.item_name, category=x.row.category, unit=x.row.unit, batch=x.row.batch,
                         quantity=x.row.quantity, minimum=x.row.minimum, expires_on=x.row.expires_on,
                         flags=list(x.flags)) for x in lines]
