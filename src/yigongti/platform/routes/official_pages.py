"""The officials' pages (管理端): overview, registry, head counts, persons in scope; CSV downloads.

Who sees what: the registry and head counts are not personal data (every official); persons come through the one
scope condition (``platform.scope``) and are audited.
"""

from __future__ import annotations

from dataclasses import replace
from operator import itemgetter
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from yigongti.core.idnumber import mask_id_number
from yigongti.enrollment import readmodel
from yigongti.enrollment.portal import movements
from yigongti.platform import audit
from yigongti.platform.deps import ContextDep, DbSession, Official, ScopeDep
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of
from yigongti.platform.pages import render
from yigongti.platform.tables import TablePage, TableQueryDep, labels_text, page_of
from yigongti.registry import service as registry_service

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

REGISTRY_COLUMNS = ("inst_id", "name", "tier", "level", "kind", "consortium_id", "parent_id", "county_code",
                    "lon", "lat")


@router.get("/registry", response_class=HTMLResponse)
def registry(request: Request, ctx: ContextDep, db: DbSession, principal: Official, query: TableQueryDep) -> Response:
    consortia = registry_service.consortia(db)
    names = {c.consortium_id: c.name for c in consortia}
    institutions = page_of(
        registry_service.institutions(db), query,
        text=lambda i: " ".join((i.inst_id, i.name, labels_text("tier", i.tier), labels_text("kind", i.kind),
                                 i.consortium_id or "", names.get(i.consortium_id or "", ""))),
        keys={"name": lambda i: i.name, "inst_id": lambda i: i.inst_id, "tier": lambda i: i.tier,
              "level": lambda i: i.level, "kind": lambda i: i.kind, "consortium_id": lambda i: i.consortium_id})
    return render(request, ctx, "registry.html", principal, institutions=institutions, consortia=consortia)


@router.get("/registry.csv")
def registry_csv(request: Request, db: DbSession, _p: Official) -> Response:
    return csv_response("institutions.csv", REGISTRY_COLUMNS,
                        ([getattr(i, c) if getattr(i, c) is not None else "" for c in REGISTRY_COLUMNS]
                         for i in registry_service.institutions(db)), lang=lang_of(request))


@router.get("/head-counts", response_class=HTMLResponse)
def head_count_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, query: TableQueryDep,
                    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
                    view: Annotated[Literal["units", "movements"], Query()] = "units") -> Response:
    """Head counts per unit, or (``view=movements``) the movements since last year; one long table at a time."""
    y = year or ctx.clock.today().year
    extra = {"year": y, "view": view if view != "units" else None}
    if view == "movements":
        moved = [r for r in movements(db, year=y).to_pylist() if r["gained"] or r["lost"]]
        table = page_of(moved, query, extra=extra,
                        text=lambda m: f"{m['unit_id']} {labels_text('tier', m['level'])}",
                        keys={k: itemgetter(k) for k in ("level", "unit_id", "previous", "current",
                                                                   "gained", "lost", "net")})
    else:
        table = page_of(readmodel.head_count_rows(db, year=y), query, extra=extra,
                        text=lambda r: f"{r[0]} {r[1]} {labels_text('tier', r[2])} {r[3]}",
                        keys={"unit_id": lambda r: r[0], "name": lambda r: r[1], "tier": lambda r: r[2],
                              "consortium_id": lambda r: r[3], "head_count": lambda r: r[4]})
    return render(request, ctx, "head_counts.html", principal, year=y, view=view, table=table)


@router.get("/head-counts.csv")
def head_count_csv(request: Request, ctx: ContextDep, db: DbSession, _p: Official,
                   year: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> Response:
    y = year or ctx.clock.today().year
    return csv_response(f"head-counts-{y}.csv", ("unit_id", "name", "tier", "consortium_id", "head_count"),
                        readmodel.head_count_rows(db, year=y), lang=lang_of(request))


@router.get("/persons", response_class=HTMLResponse)
def persons_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, person_scope: ScopeDep,
                 query: TableQueryDep) -> Response:
    """Persons in the official's scope, searched (id, household), sorted and paged in the database, 50 a page; ID
    numbers masked unless the role needs them."""
    rows, total = readmodel.persons_page(db, person_scope.condition, page=query.page, size=query.size,
                                         find=query.q, sort=query.sort, descending=query.dir == "desc")
    audit.record(db, principal, action="GET /persons", person_ids=[r.person_id for r in rows], at=ctx.clock.now())
    shown = [(r, (r.id_number or "") if principal.sees_id_numbers else mask_id_number(r.id_number)) for r in rows]
    sort = query.sort if query.sort in readmodel.PERSON_SORTS else ""
    table = TablePage(shown, total, replace(query, sort=sort), tuple(readmodel.PERSON_SORTS))
    return render(request, ctx, "persons.html", principal, table=table)
