"""Workforce page (人员与派驻): the staff list and the stationing rules judged per consortium and township centre for
a year, Chinese first. The same use cases as ``/api/workforce`` (and the same refusals)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from yigongti.platform.deps import ContextDep, DbSession, Official
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.pages import render
from yigongti.workforce.service import staff_list, stationing_coverage
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
