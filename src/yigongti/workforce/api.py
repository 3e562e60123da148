"""``/api/workforce``: pooled staff and care quality (人员县管乡用、乡聘村用；处方点评、病历质控): the staff registry,
income, stationing and training, the stationing rules per township centre and consortium, prescription review by
random sampling and medical-record checks.

Thin adapters over ``workforce.service``: each route parses, runs one use case in the request's transaction and maps
its refusals to HTTP: not in scope 404, a role that may not act 403, drawn or scored already 409, a request
contradicting the registry or the checklist 422.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from yigongti.core.labels import label
from yigongti.core.money import format_yuan, parse_yuan
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession
from yigongti.platform.deps import run_use_case as _run
from yigongti.workforce.domain import Profession, ScoreSummary, Title
from yigongti.workforce.engine import load_checklist
from yigongti.workforce.service import (
    Staff,
    add_stint,
    add_team_member,
    add_training,
    check_record,
    draw_reviews,
    put_staff,
    put_team,
    quality_summary,
    score_review,
    set_income,
    staff_incomes,
    staff_list,
    stationing_coverage,
    teams,
    training_hours,
)
from yigongti.workforce.uow import WorkforceUnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/api/workforce", tags=["workforce 人员与质控"])
_ID = Field(min_length=1, max_length=64)
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not in your scope / 不存在或无权查看"},
                                            403: {"description": "not allowed for your role / 当前角色无权操作"},
                                            409: {"description": "drawn, scored or checked already / 已抽样、已打分或"
                                                                 "已质控"},
                                            422: {"description": "contradicts the registry or the checklist / 与机构、"
                                                                 "人员或评分表不符"}}
YearQuery = Annotated[int, Query(ge=2000, le=2100, description="year / 年度")]
StaffIdPath = Annotated[str, Path(min_length=1, max_length=64)]


class StaffIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    title: Title = Field(description="职称: junior 初级, intermediate 中级（主治）, associate_senior 副高, senior 正高")
    profession: Profession = Profession.DOCTOR
    department: str = Field("", max_length=100)
    employer_id: str = _ID
    works_at_id: str | None = Field(None, min_length=1, max_length=64, description="where they work; default the "
                                                                                    "employer (县管乡用、乡聘村用)")


class StaffOut(BaseModel):
    staff_id: str
    name: str
    title: str
    title_label: str
    profession: str
    profession_label: str
    department: str | None
    employer_id: str
    works_at_id: str | None


class IncomeIn(BaseModel):
    income: str = Field(min_length=1, max_length=15, pattern=r"^\d{1,12}(\.\d{1,2})?$",
                        description="total income of the year, yuan / 全年收入（元）")


class StintIn(BaseModel):
    staff_id: str = _ID
    to_inst_id: str = _ID
    start_date: date
    end_date: date | None = None


class CreatedOut(BaseModel):
    id: int


class TrainingIn(BaseModel):
    staff_id: str = _ID
    date: date
    hours: Decimal = Field(gt=0, le=24, max_digits=4, decimal_places=2, description="学时")
    course: str = Field("", max_length=200)


class CoverageOut(BaseModel):
    rule: str
    rule_label: str
    scope_kind: str
    scope: str
    name: str
    required: int
    days: int
    days_met: int
    met: bool
    fewest: int
    gaps: list[tuple[date, date]]


class TrainingOut(BaseModel):
    staff_id: str
    name: str
    title: str
    profession: str
    works_at_id: str
    tier: str
    sessions: int
    hours: str


class PrescriptionIn(BaseModel):
    prescription_id: str = _ID
    staff_id: str | None = Field(None, min_length=1, max_length=64, description="the prescribing doctor")


class DrawIn(BaseModel):
    inst_id: str = _ID
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$", description="month 2026-11 or quarter 2026-Q4")
    seed: str | None = Field(None, min_length=1, max_length=64, description="default inst_id:period")
    prescriptions: list[PrescriptionIn] = Field(min_length=1, max_length=200_000)


class DrawnOut(BaseModel):
    review_id: int
    prescription_id: str
    staff_id: str | None


class ScoreIn(BaseModel):
    score: int = Field(ge=0, le=100)
    note: str = Field("", max_length=2000)


class RecordCheckIn(BaseModel):
    inst_id: str = _ID
    record_id: str = _ID
    staff_id: str | None = Field(None, min_length=1, max_length=64)
    passed: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(max_length=200)


class RecordCheckOut(BaseModel):
    record_id: str
    score: int


class ScoreOut(BaseModel):
    key: str
    reviewed: int
    points: int
    passed: int
    mean: Decimal | None


class QualityOut(BaseModel):
    reviews_by_doctor: list[ScoreOut]
    reviews_by_institution: list[ScoreOut]
    records_by_doctor: list[ScoreOut]
    records_by_institution: list[ScoreOut]
    pending_reviews: int


def _uow(db: DbSession) -> WorkforceUnitOfWork:
    return WorkforceUnitOfWork(db)


def _staff_out(s: Staff) -> StaffOut:
    return StaffOut(staff_id=s.staff_id, name=s.name, title=s.title, title_label=label("title", s.title),
                    profession=s.profession, profession_label=label("profession", s.profession),
                    department=s.department, employer_id=s.employer_id, works_at_id=s.works_at_id)


@router.get("/staff", response_model=list[StaffOut], responses=_ERRORS)
def get_staff(db: DbSession, principal: CurrentPrincipal) -> list[StaffOut]:
    """人员名单 / Staff employed by or working at the institutions you oversee."""
    return [_staff_out(s) for s in _run(lambda: staff_list(_uow(db), principal))]


@router.put("/staff/{staff_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
def put_staff_route(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, staff_id: StaffIdPath,
                    body: StaffIn) -> None:
    """登记人员 / Add or change a person (consortium admin; an institution admin for its own employees)."""
    staff = Staff(staff_id, body.name, body.title.value, body.employer_id, body.works_at_id, body.profession.value,
                  body.department or None)
    _run(lambda: put_staff(_uow(db), principal, staff, now=ctx.clock.now()))


@router.put("/staff/{staff_id}/income/{year}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
def put_income(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, staff_id: StaffIdPath,
               year: Annotated[int, Path(ge=2000, le=2100)], body: IncomeIn) -> None:
    """人员收入 / A person's total income of a year in yuan (the consortium admin; indicator 2.3)."""
    fen = parse_yuan(body.income)  # the pattern admits only what parses
    _run(lambda: set_income(_uow(db), principal, staff_id=staff_id, year=year, income=fen, now=ctx.clock.now()))


class IncomeOut(BaseModel):
    staff_id: str
    name: str
    works_at_id: str | None
    income: str | None = Field(description="the year's income, yuan; null when not recorded")


@router.get("/incomes", response_model=list[IncomeOut], responses=_ERRORS)
def get_incomes(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, year: YearQuery) -> list[IncomeOut]:
    """人员收入 / The year's income of every person of your members (the consortium admin only: personal data,
    every read audited; indicator 2.3)."""
    rows = _run(lambda: staff_incomes(_uow(db), principal, year=year, now=ctx.clock.now()))
    return [IncomeOut(staff_id=r.staff.staff_id, name=r.staff.name, works_at_id=r.staff.works_at_id,
                      income=None if r.income is None else format_yuan(r.income)) for r in rows]


@router.post("/stints", response_model=CreatedOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_stint(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: StintIn) -> CreatedOut:
    """派驻 / Record a person stationed at a member (the consortium admin)."""
    sid = _run(lambda: add_stint(_uow(db), principal, staff_id=body.staff_id, to_inst_id=body.to_inst_id,
                                 start=body.start_date, end=body.end_date, now=ctx.clock.now()))
    return CreatedOut(id=sid)


@router.post("/training", response_model=CreatedOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_training(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: TrainingIn) -> CreatedOut:
    """培训记录 / A training session a person attended."""
    minutes = int(body.hours * 60)
    tid = _run(lambda: add_training(_uow(db), principal, staff_id=body.staff_id, on=body.date, minutes=minutes,
                                    course=body.course, now=ctx.clock.now()))
    return CreatedOut(id=tid)


@router.get("/coverage", response_model=list[CoverageOut], responses=_ERRORS)
def get_coverage(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, year: YearQuery) -> list[CoverageOut]:
    """派驻达标 / The stationing rules judged day by day: per consortium (city experts) and per township centre
    (lead-hospital attending doctor), with the days met and the gaps."""
    rows = _run(lambda: stationing_coverage(_uow(db), principal, year=year, policy=ctx.policy.workforce))
    return [CoverageOut(rule=r.rule.value, rule_label=label("staffing_rule", r.rule), scope_kind=r.scope_kind,
                        scope=r.scope, name=r.name, required=r.coverage.required, days=r.coverage.days,
                        days_met=r.coverage.days_met, met=r.coverage.met, fewest=r.coverage.fewest,
                        gaps=list(r.coverage.gaps)) for r in rows]


@router.get("/training-hours", response_model=list[TrainingOut], responses=_ERRORS)
def get_training_hours(db: DbSession, principal: CurrentPrincipal, year: YearQuery) -> list[TrainingOut]:
    """基层人员培训学时 / Training hours of the year of township and village staff you oversee."""
    return [TrainingOut.model_validate(r) for r in _run(lambda: training_hours(_uow(db), principal, year=year))]


@router.post("/reviews", response_model=list[DrawnOut], status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_reviews(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: DrawIn) -> list[DrawnOut]:
    """处方点评抽样 / Draw the period's prescriptions of an institution to review (the consortium admin): at random,
    reproducibly, at ``workforce.review_rate`` (at least ``review_min``)."""
    pairs = [(p.prescription_id, p.staff_id) for p in body.prescriptions]
    rows = _run(lambda: draw_reviews(_uow(db), principal, inst_id=body.inst_id, period=body.period,
                                     prescriptions=pairs, seed=body.seed, policy=ctx.policy.workforce,
                                     now=ctx.clock.now()))
    return [DrawnOut(review_id=r.review_id, prescription_id=r.prescription_id, staff_id=r.staff_id) for r in rows]


@router.post("/reviews/{review_id}/score", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
def post_score(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
               review_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: ScoreIn) -> None:
    """点评打分 / Score a drawn prescription 0-100 (the consortium admin; once)."""
    _run(lambda: score_review(_uow(db), principal, review_id, score=body.score, note=body.note,
                              now=ctx.clock.now()))


@router.post("/record-checks", response_model=RecordCheckOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_record_check(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                      body: RecordCheckIn) -> RecordCheckOut:
    """病历质控 / Check a medical record against the checklist (``workforce.record_checklist``): the items passed;
    the score is their weighted share."""
    checklist = load_checklist(ctx.policy.workforce)
    score = _run(lambda: check_record(_uow(db), principal, inst_id=body.inst_id, record_id=body.record_id,
                                      staff_id=body.staff_id, passed=body.passed, checklist=checklist,
                                      now=ctx.clock.now()))
    return RecordCheckOut(record_id=body.record_id, score=score)


def _scores(rows: dict[str, ScoreSummary]) -> list[ScoreOut]:
    return [ScoreOut(key=k, reviewed=s.reviewed, points=s.points, passed=s.passed, mean=s.mean)
            for k, s in rows.items()]


@router.get("/quality", response_model=QualityOut, responses=_ERRORS)
def get_quality(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, year: YearQuery) -> QualityOut:
    """质控汇总 / Prescription-review and record-check scores of the year per doctor and per institution."""
    q = _run(lambda: quality_summary(_uow(db), principal, year=year, policy=ctx.policy.workforce))
    return QualityOut(reviews_by_doctor=_scores(q.reviews_by_doctor),
                      reviews_by_institution=_scores(q.reviews_by_institution),
                      records_by_doctor=_scores(q.records_by_doctor),
                      records_by_institution=_scores(q.records_by_institution), pending_reviews=q.pending_reviews)


# --- Emergency teams (应急队伍) ---


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(pattern="^(epidemic|rescue|poisoning)$", description="epidemic 传染病防控, rescue 紧急医学救援, "
                                                                           "poisoning 中毒处置")
    base_inst_id: str = Field(min_length=1, max_length=64)


class MemberIn(BaseModel):
    staff_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    title: str = Field(max_length=32)
    inst_id: str = Field(min_length=1, max_length=64)
    duty: str = Field(pattern="^(leader|deputy|member)$")
    speciality: str = Field("", max_length=100)


class TeamOut(TeamIn):
    team_id: int
    consortium_id: str
    members: list[MemberIn]


@router.get("/teams", response_model=list[TeamOut], responses=_ERRORS)
def get_teams(db: DbSession, principal: CurrentPrincipal) -> list[TeamOut]:
    """应急队伍 / The emergency teams in scope with their rosters (leader first)."""
    rows = _run(lambda: teams(WorkforceUnitOfWork(db), principal))
    return [TeamOut(team_id=v.team.team_id, consortium_id=v.team.consortium_id, name=v.team.name, kind=v.team.kind,
                    base_inst_id=v.team.base_inst_id,
                    members=[MemberIn(staff_id=m.staff_id, name=m.name, title=m.title, inst_id=m.inst_id,
                                      duty=m.duty, speciality=m.speciality or "") for m in v.members]) for v in rows]


@router.post("/teams", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_team(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: TeamIn) -> dict[str, int]:
    """Form a team (or change the team of that name) in the consortium admin's consortium."""
    team_id = _run(lambda: put_team(WorkforceUnitOfWork(db), principal, name=body.name, kind=body.kind,
                                    base_inst_id=body.base_inst_id, now=ctx.clock.now()))
    return {"team_id": team_id}


@router.post("/teams/{team_id}/members", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_member(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                team_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: MemberIn) -> dict[str, int]:
    """Add a person to a team's roster (409 when already on it)."""
    _run(lambda: add_team_member(WorkforceUnitOfWork(db), principal, team_id=team_id, now=ctx.clock.now(),
                                 **body.model_dump()))
    return {"team_id": team_id}
