"""Workforce pages (人员与派驻), Chinese first: the staff list and the stationing rules judged per consortium and
township centre for a year (``/workforce``); the emergency teams (应急队伍) and their rosters on ``/workforce/teams``;
prescription review and medical-record checks (处方点评、病历质控) on ``/workforce/quality`` with the appraisal's
quality indicators per institution; training hours against the required hours (培训学时) and, for the consortium
admin only, the staff's incomes (人员收入, 2.3) on ``/workforce/training``.

Read by the consortium admin, institution admins of its members and the health commission; written by the
consortium admin (an institution admin records its own staff's training). The same use cases as ``/api/workforce``
(and the same refusals: 403 for a role that may not, 404 outside the scope, 409 done already, 422 bad input)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yigongti.core.labels import label, labelled
from yigongti.platform.accounts import Role
from yigongti.platform.deps import ContextDep, DbSession, Official
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of
from yigongti.platform.pages import CheckedCsrf, render
from yigongti.platform.tables import TableQuery, TableQueryDep, page_of, second_table_query
from yigongti.workforce.domain import TEAM_DUTIES, TEAM_KINDS, ScoreSummary, Title
from yigongti.workforce.engine import load_checklist
from yigongti.workforce.service import (
    QualitySummary,
    add_team_member,
    add_training,
    check_record,
    draw_reviews,
    put_team,
    quality_summary,
    reviews_of_year,
    score_review,
    staff_incomes,
    staff_list,
    stationing_coverage,
    teams,
    training_assessment,
)
from yigongti.workforce.uow import WorkforceUnitOfWork

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/workforce", response_class=HTMLResponse)
def workforce_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                   year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Response:
    y = year or ctx.clock.today().year
    coverage = _run(lambda: stationing_coverage(WorkforceUnitOfWork(db), principal, year=y,
                                                policy=ctx.policy.workforce))
    staff = _run(lambda: staff_list(WorkforceUnitOfWork(db), principal))
    return render(request, ctx, "workforce.html", principal, year=y, coverage=coverage, staff=staff)


TEAM_COLUMNS = ("team_id", "team", "kind", "base_inst_id", "staff_id", "name", "title", "speciality", "inst_id", "duty")


@router.get("/workforce/teams", response_class=HTMLResponse)
def teams_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
               done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """应急队伍 / The emergency teams in scope with their rosters; the consortium admin forms teams and adds members."""
    rows = _run(lambda: teams(WorkforceUnitOfWork(db), principal))
    members: list[str] = []
    if principal.role is Role.CONSORTIUM_ADMIN and principal.consortium_id and ctx.registry is not None:
        members = sorted(i for i, inst in ctx.registry.get().institutions.items()
                         if inst.consortium_id == principal.consortium_id)
    return render(request, ctx, "teams.html", principal, teams=rows, done=done, members=members,
                  kinds=TEAM_KINDS, duties=TEAM_DUTIES, titles=[t.value for t in Title])


@router.post("/workforce/teams", response_class=HTMLResponse)
def team_form(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
              name: Annotated[str, Form(min_length=1, max_length=100)],
              kind: Annotated[str, Form(max_length=16)],
              base_inst_id: Annotated[str, Form(min_length=1, max_length=64)]) -> Response:
    """Form (or change) a team (the consortium admin)."""
    team_id = _run(lambda: put_team(WorkforceUnitOfWork(db), principal, name=name, kind=kind,
                                    base_inst_id=base_inst_id, now=ctx.clock.now()))
    return RedirectResponse(f"/workforce/teams?done={team_id}#t{team_id}", status.HTTP_303_SEE_OTHER)


@router.post("/workforce/teams/{team_id}/members", response_class=HTMLResponse)
def member_form(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                team_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                staff_id: Annotated[str, Form(min_length=1, max_length=64)],
                name: Annotated[str, Form(min_length=1, max_length=64)],
                title: Annotated[str, Form(max_length=32)],
                inst_id: Annotated[str, Form(min_length=1, max_length=64)],
                duty: Annotated[str, Form(max_length=16)],
                speciality: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Add a person to a team's roster (the consortium admin)."""
    _run(lambda: add_team_member(WorkforceUnitOfWork(db), principal, team_id=team_id, staff_id=staff_id, name=name,
                                 title=title, inst_id=inst_id, duty=duty, speciality=speciality,
                                 now=ctx.clock.now()))
    return RedirectResponse(f"/workforce/teams?done={team_id}#t{team_id}", status.HTTP_303_SEE_OTHER)


@router.get("/workforce/teams.csv")
def teams_csv(request: Request, db: DbSession, principal: Official) -> Response:
    """The rosters as CSV, one row per member (a team without members: one row without a person)."""
    rows = _run(lambda: teams(WorkforceUnitOfWork(db), principal))

    def lines() -> list[list[object]]:
        out: list[list[object]] = []
        for v in rows:
            t = v.team
            head: list[object] = [t.team_id, t.name, labelled("team_kind", t.kind), t.base_inst_id]
            out.extend([*head, m.staff_id, m.name, labelled("title", m.title), m.speciality or "", m.inst_id,
                        labelled("team_duty", m.duty)] for m in v.members)
            if not v.members:
                out.append([*head, "", "", "", "", "", ""])
        return out

    return csv_response("emergency-teams.csv", TEAM_COLUMNS, lines(), lang=lang_of(request))


# --- Prescription review and medical-record checks (处方点评、病历质控) ---

YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]
QUALITY_MEASURES = ("prescription_points", "prescriptions_reviewed", "record_points", "records_checked")
"""The appraisal's measures fed by review and record checks: an indicator reading one is a quality indicator."""
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
QUALITY_COLUMNS = ("quality_measure", "scope_kind", "scope", "name", "reviewed", "points", "passed", "mean")


def _members(ctx: ContextDep, principal: Official) -> list[str]:
    """The consortium admin's member institutions (the choices of its forms); nobody else writes."""
    if principal.role is not Role.CONSORTIUM_ADMIN or not principal.consortium_id or ctx.registry is None:
        return []
    return sorted(i for i, inst in ctx.registry.get().institutions.items()
                  if inst.consortium_id == principal.consortium_id)


def _quality_indicators(ctx: Any, inst_ids: set[str],
                        year: int) -> tuple[list[Any], list[dict[str, Any]], bool, int | None]:
    """The loaded appraisal's indicators that read the quality measures, and their values for ``inst_ids``
    (indicators, rows of scope/indicator/value..., fresh, the appraisal's year or None when there is none). Never
    waits: figures being computed again after a review was scored come back as they were, marked not fresh; the
    values only when the appraisal is of ``year``."""
    figures, fresh = (None, True) if ctx.figures is None else ctx.figures.current()
    appraisal = None if figures is None else figures.appraisal
    if appraisal is None:
        return [], [], fresh, None
    if appraisal.year != year:
        return [], [], fresh, int(appraisal.year)
    wanted = [i for i in appraisal.indicator_set.indicators if i.kind == "computed"
              and set(_NAME.findall(f"{i.numerator} {i.denominator}")) & set(QUALITY_MEASURES)]
    ids = {i.id for i in wanted}
    rows = [r for r in appraisal.indicators.to_pylist() if r["indicator"] in ids and r["scope"] in inst_ids]
    return wanted, rows, fresh, int(appraisal.year)


def _score_rows(summary: QualitySummary) -> list[tuple[str, str, str, ScoreSummary]]:
    """(measure, scope kind, key, scores) for every doctor and institution."""
    out: list[tuple[str, str, str, ScoreSummary]] = []
    for measure, by_doctor, by_inst in (("prescription_review", summary.reviews_by_doctor,
                                         summary.reviews_by_institution),
                                        ("record_check", summary.records_by_doctor, summary.records_by_institution)):
        out += [(measure, "institution", k, v) for k, v in by_inst.items()]
        out += [(measure, "doctor", k, v) for k, v in by_doctor.items()]
    return out


@router.get("/workforce/quality", response_class=HTMLResponse)
def quality_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, query: TableQueryDep,
                 doctors_query: Annotated[TableQuery, Depends(second_table_query("d"))], year: YearQuery = None,
                 done: Annotated[str | None, Query(pattern=r"^(drawn|scored|checked)-\d{1,10}$")] = None) -> Response:
    """处方点评与病历质控 / The year's drawn prescriptions (paged; the consortium admin scores them), the scores per
    doctor (paged) and per institution with the appraisal's quality indicators, and the consortium admin's forms."""
    y = year or ctx.clock.today().year
    policy = ctx.policy.workforce
    summary = _run(lambda: quality_summary(WorkforceUnitOfWork(db), principal, year=y, policy=policy))
    reviews = _run(lambda: reviews_of_year(WorkforceUnitOfWork(db), principal, year=y))
    staff = {s.staff_id: s for s in _run(lambda: staff_list(WorkforceUnitOfWork(db), principal))}
    extra = {"year": str(y)} if year else {}

    def doctor(sid: str | None) -> str:
        return "" if not sid else f"{staff[sid].name} {sid}" if sid in staff else sid

    drawn = page_of(reviews, query,
                    text=lambda r: " ".join((r.inst_id, r.period, r.prescription_id, doctor(r.staff_id),
                                             "待点评 pending" if r.score is None else "已点评 scored")),
                    keys={"inst": lambda r: r.inst_id, "period": lambda r: r.period,
                          "score": lambda r: -1 if r.score is None else r.score},
                    extra={**extra, **dict(doctors_query.params)})
    per_doctor = [(m, k, v) for m, kind, k, v in _score_rows(summary) if kind == "doctor"]
    doctors = page_of(per_doctor, doctors_query,
                      text=lambda r: " ".join((label("quality_measure", r[0]), doctor(r[1]))),
                      keys={"doctor": lambda r: doctor(r[1]), "mean": lambda r: r[2].mean or Decimal(-1),
                            "reviewed": lambda r: r[2].reviewed},
                      extra={**extra, **dict(query.params)})
    insts = sorted(set(summary.reviews_by_institution) | set(summary.records_by_institution))
    indicators, values, fresh, appraised = _quality_indicators(ctx, set(insts) | set(_members(ctx, principal)), y)
    by_scope: dict[str, dict[str, Any]] = {}
    for r in values:
        by_scope.setdefault(r["scope"], {})[r["indicator"]] = r
    checklist = load_checklist(policy)
    return render(request, ctx, "quality.html", principal, year=y, summary=summary, drawn=drawn, doctors=doctors,
                  insts=insts, doctor=doctor, members=_members(ctx, principal), checklist=checklist.items,
                  indicators=indicators, values=by_scope, fresh=fresh, appraised=appraised, done=done,
                  pass_score=policy.review_pass_score)


def _prescriptions(text: str) -> list[tuple[str, str | None]]:
    """The pasted list: one prescription a line, ``处方号[,医师编码]`` (comma, tab or space); 422 naming the line."""
    out: list[tuple[str, str | None]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = [p for p in line.replace("\t", ",").replace("，", ",").replace(" ", ",").split(",") if p]
        if not parts:
            continue
        if len(parts) > 2 or any(len(p) > 64 for p in parts):
            raise HTTPException(422,
                                f"第 {n} 行应为“处方号,医师编码” / line {n}: prescription id[,staff id]")
        out.append((parts[0], parts[1] if len(parts) == 2 else None))
    if not out:
        raise HTTPException(422, "处方清单为空 / no prescription given")
    return out


@router.post("/workforce/quality/draw", response_class=HTMLResponse)
def draw_form(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
              inst_id: Annotated[str, Form(min_length=1, max_length=64)],
              period: Annotated[str, Form(pattern=r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$")],
              prescriptions: Annotated[str, Form(min_length=1, max_length=2_000_000)],
              seed: Annotated[str, Form(max_length=64)] = "") -> Response:
    """抽取处方 / Draw the period's prescriptions of a member at random (the consortium admin)."""
    pairs = _prescriptions(prescriptions)
    rows = _run(lambda: draw_reviews(WorkforceUnitOfWork(db), principal, inst_id=inst_id, period=period,
                                     prescriptions=pairs, seed=seed.strip() or None, policy=ctx.policy.workforce,
                                     now=ctx.clock.now()))
    back = urlencode({"done": f"drawn-{len(rows)}", "q": f"{inst_id} {period}"})
    return RedirectResponse(f"/workforce/quality?{back}#drawn", status.HTTP_303_SEE_OTHER)


@router.post("/workforce/quality/reviews/{review_id}/score", response_class=HTMLResponse)
def score_form(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
               review_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
               score: Annotated[int, Form(ge=0, le=100)],
               note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """点评打分 / Score a drawn prescription 0-100 with a note (the consortium admin; once)."""
    _run(lambda: score_review(WorkforceUnitOfWork(db), principal, review_id, score=score, note=note.strip(),
                              now=ctx.clock.now()))
    return RedirectResponse(f"/workforce/quality?done=scored-{review_id}#drawn", status.HTTP_303_SEE_OTHER)


@router.post("/workforce/quality/records", response_class=HTMLResponse)
def record_form(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                inst_id: Annotated[str, Form(min_length=1, max_length=64)],
                record_id: Annotated[str, Form(min_length=1, max_length=64)],
                staff_id: Annotated[str, Form(max_length=64)] = "",
                passed: Annotated[list[str] | None, Form(max_length=200)] = None) -> Response:
    """病历质控 / Check a medical record against the checklist: the items it passes (the consortium admin)."""
    checklist = load_checklist(ctx.policy.workforce)
    score = _run(lambda: check_record(WorkforceUnitOfWork(db), principal, inst_id=inst_id,
                                      record_id=record_id.strip(), staff_id=staff_id.strip() or None,
                                      passed=[p[:64] for p in passed or []], checklist=checklist,
                                      now=ctx.clock.now()))
    return RedirectResponse(f"/workforce/quality?done=checked-{score}#records", status.HTTP_303_SEE_OTHER)


@router.get("/workforce/quality.csv")
def quality_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                year: YearQuery = None) -> Response:
    """The year's scores per institution and per doctor, review and record checks (one row each)."""
    y = year or ctx.clock.today().year
    summary = _run(lambda: quality_summary(WorkforceUnitOfWork(db), principal, year=y,
                                           policy=ctx.policy.workforce))
    staff = {s.staff_id: s.name for s in _run(lambda: staff_list(WorkforceUnitOfWork(db), principal))}
    names = ctx.registry.get().institutions if ctx.registry is not None else {}

    def name_of(kind: str, key: str) -> str:
        if kind == "doctor":
            return staff.get(key, "")
        inst = names.get(key)
        return inst.name if inst is not None else ""

    rows = [[labelled("quality_measure", m), labelled("scope_kind", kind) if kind == "institution" else
             "医师 doctor", k, name_of(kind, k), v.reviewed, v.points, v.passed,
             "" if v.mean is None else str(v.mean)] for m, kind, k, v in _score_rows(summary)]
    return csv_response(f"quality-{y}.csv", QUALITY_COLUMNS, rows, lang=lang_of(request))


# --- Training hours and incomes (培训学时、人员收入) ---

TRAINING_CSV_COLUMNS = ("staff_id", "name", "title", "profession", "works_at_id", "tier", "sessions", "hours",
                        "required_hours", "met")


def _met(met: object) -> str:
    return "" if met is None else "达标 met" if met else "未达标 not met"


@router.get("/workforce/training", response_class=HTMLResponse)
def training_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, query: TableQueryDep,
                  insts_query: Annotated[TableQuery, Depends(second_table_query("s"))],
                  incomes_query: Annotated[TableQuery, Depends(second_table_query("i"))],
                  year: YearQuery = None, done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """培训学时 / Training hours of the year per township and village staff member against the required hours
    (paged), met per institution, the form to record training; the staff's incomes for the consortium admin."""
    y = year or ctx.clock.today().year
    assessed = _run(lambda: training_assessment(WorkforceUnitOfWork(db), principal, year=y,
                                                policy=ctx.policy.workforce))
    extra = {"year": str(y)} if year else {}
    people = page_of(assessed.people, query,
                     text=lambda r: " ".join(str(r[k]) for k in ("staff_id", "name", "works_at_id"))
                     + " " + label("title", str(r["title"])) + " " + _met(r["met"]),
                     keys={"name": lambda r: r["name"], "inst": lambda r: r["works_at_id"],
                           "hours": lambda r: Decimal(str(r["hours"]))},
                     extra={**extra, **dict(insts_query.params), **dict(incomes_query.params)})
    names = ctx.registry.get().institutions if ctx.registry is not None else {}
    insts = page_of(assessed.institutions, insts_query,
                    text=lambda r: f"{r['inst_id']} {getattr(names.get(str(r['inst_id'])), 'name', '')}",
                    keys={"inst": lambda r: r["inst_id"], "met": lambda r: -1 if r["met"] is None else r["met"]},
                    extra={**extra, **dict(query.params), **dict(incomes_query.params)})
    incomes = None
    if principal.role is Role.CONSORTIUM_ADMIN:
        paid = _run(lambda: staff_incomes(WorkforceUnitOfWork(db), principal, year=y, now=ctx.clock.now()))
        incomes = page_of(paid, incomes_query, text=lambda p: f"{p.staff.staff_id} {p.staff.name}",
                          keys={"name": lambda p: p.staff.name, "income": lambda p: -1 if p.income is None
                                else p.income},
                          extra={**extra, **dict(query.params), **dict(insts_query.params)})
    return render(request, ctx, "training.html", principal, year=y, assessed=assessed, people=people, insts=insts,
                  incomes=incomes, done=done, writer=principal.role in (Role.CONSORTIUM_ADMIN, Role.INSTITUTION_ADMIN))


@router.post("/workforce/training", response_class=HTMLResponse)
def training_form(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                  staff_id: Annotated[str, Form(min_length=1, max_length=64)],
                  on: Annotated[date, Form()],
                  hours: Annotated[str, Form(min_length=1, max_length=8)],
                  course: Annotated[str, Form(max_length=200)] = "") -> Response:
    """培训记录 / Record a training session a person attended (their institution's admin or the consortium admin)."""
    try:
        h = Decimal(hours.strip())
    except InvalidOperation:
        raise HTTPException(422, "学时应为数字 / hours: a number") from None
    if not h.is_finite() or not Decimal(0) < h <= 24:
        raise HTTPException(422, "学时须在 0-24 之间 / hours: between 0 and 24")
    tid = _run(lambda: add_training(WorkforceUnitOfWork(db), principal, staff_id=staff_id.strip(), on=on,
                                    minutes=max(1, int(h * 60)), course=course.strip(), now=ctx.clock.now()))
    return RedirectResponse(f"/workforce/training?year={on.year}&done={tid}", status.HTTP_303_SEE_OTHER)


@router.get("/workforce/training.csv")
def training_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                 year: YearQuery = None) -> Response:
    """Training hours of the year per person with the required hours and met or not."""
    y = year or ctx.clock.today().year
    assessed = _run(lambda: training_assessment(WorkforceUnitOfWork(db), principal, year=y,
                                                policy=ctx.policy.workforce))
    rows = [[r["staff_id"], r["name"], labelled("title", r["title"]), labelled("profession", r["profession"]),
             r["works_at_id"], labelled("tier", r["tier"]), r["sessions"], r["hours"], str(assessed.required),
             _met(r["met"])] for r in assessed.people]
    return csv_response(f"training-{y}.csv", TRAINING_CSV_COLUMNS, rows, lang=lang_of(request))
