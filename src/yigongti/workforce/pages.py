"""Workforce page (人员与派驻): the staff list and the stationing rules judged per consortium and township centre for
a year, Chinese first; the emergency teams (应急队伍) and their rosters on ``/workforce/teams`` (read by the consortium
admin, institution admins of its members and the health commission; formed and staffed by the consortium admin).
The same use cases as ``/api/workforce`` (and the same refusals)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yigongti.core.labels import labelled
from yigongti.platform.accounts import Role
from yigongti.platform.deps import ContextDep, DbSession, Official
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of
from yigongti.platform.pages import CheckedCsrf, render
from yigongti.workforce.domain import TEAM_DUTIES, TEAM_KINDS, Title
from yigongti.workforce.service import add_team_member, put_team, staff_list, stationing_coverage, teams
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
