"""The officials' pages (管理端): overview, registry, head counts, persons in scope; CSV downloads.

Who sees what: the registry and head counts are not personal data (every official); persons come through the one
scope condition (``platform.scope``) and are audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from yigongti.core.idnumber import mask_id_number
from yigongti.enrollment import readmodel
from yigongti.enrollment.portal import movements, switch_window
from yigongti.platform import audit
from yigongti.platform.deps import ContextDep, DbSession, Official, ScopeDep
from yigongti.platform.downloads import csv_response
from yigongti.platform.pages import render
from yigongti.registry import service as registry_service

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

REGISTRY_COLUMNS = ("inst_id", "name", "tier", "level", "kind", "consortium_id", "parent_id", "county_code",
                    "lon", "lat")


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
              person_scope: ScopeDep) -> Response:
    today = ctx.clock.today()
    window = switch_window(ctx.policy.enrollment, today)
    found = readmodel.overview(db, person_scope.condition, year=today.year, window_year=window.year)
    return render(request, ctx, "dashboard.html", principal, window=window, rows=found.consortia, year=today.year,
                  choices=found.choices, in_scope=found.in_scope, institutions=found.institutions)


@router.get("/registry", response_class=HTMLResponse)
def registry(request: Request, ctx: ContextDep, db: DbSession, principal: Official) -> Response:
    return render(request, ctx, "registry.html", principal, institutions=registry_service.institutions(db),
                  consortia=registry_service.consortia(db))


@router.get("/registry.csv")
def registry_csv(db: DbSession, _p: Official) -> Response:
    return csv_response("institutions.csv", REGISTRY_COLUMNS,
                        ([getattr(i, c) if getattr(i, c) is not None else "" for c in REGISTRY_COLUMNS]
                         for i in registry_service.institutions(db)))


@router.get("/head-counts", response_class=HTMLResponse)
def head_count_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                    year: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> Response:
    y = year or ctx.clock.today().year
    moved = [r for r in movements(db, year=y).to_pylist() if r["gained"] or r["lost"]]
    return render(request, ctx, "head_counts.html", principal, year=y, rows=readmodel.head_count_rows(db, year=y),
                  moved=moved)


@router.get("/head-counts.csv")
def head_count_csv(ctx: ContextDep, db: DbSession, _p: Official,
                   year: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> Response:
    y = year or ctx.clock.today().year
    return csv_response(f"head-counts-{y}.csv", ("unit_id", "name", "tier", "consortium_id", "head_count"),
                        readmodel.head_count_rows(db, year=y))


@router.get("/persons", response_class=HTMLResponse)
def persons_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, person_scope: ScopeDep,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Persons in the official's scope, 50 a page; ID numbers masked unless the role needs them."""
    size = 50
    rows, total = readmodel.persons_page(db, person_scope.condition, page=page, size=size)
    audit.record(db, principal, action="GET /persons", person_ids=[r.person_id for r in rows], at=ctx.clock.now())
    shown = [(r, (r.id_number or "") if principal.sees_id_numbers else mask_id_number(r.id_number)) for r in rows]
    return render(request, ctx, "persons.html", principal, rows=shown, page=page, total=total,
                  pages=max(1, (total + size - 1) // size))
