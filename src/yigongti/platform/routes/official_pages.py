"""The officials' pages (管理端): overview, registry, head counts, persons in scope; CSV downloads.

Who sees what: the registry and head counts are not personal data (every official); persons come through the one
scope condition (``platform.scope``) and are audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from yigongti.core.idnumber import mask_id_number
from yigongti.enrollment.portal import head_counts, movements, switch_window
from yigongti.enrollment.store import ChoiceRow, PersonRow
from yigongti.platform import audit
from yigongti.platform.deps import ContextDep, DbSession, Official, ScopeDep
from yigongti.platform.downloads import csv_response
from yigongti.platform.pages import render
from yigongti.registry.domain import Tier
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

REGISTRY_COLUMNS = ("inst_id", "name", "tier", "level", "kind", "consortium_id", "parent_id", "county_code",
                    "lon", "lat")


def _institutions(db: DbSession) -> list[InstitutionRow]:
    return list(db.scalars(select(InstitutionRow).order_by(InstitutionRow.inst_id)))


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
              person_scope: ScopeDep) -> Response:
    today = ctx.clock.today()
    window = switch_window(ctx.policy.enrollment, today)
    consortia = list(db.scalars(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id)))
    now_counts = head_counts(db, year=today.year)
    next_counts = head_counts(db, year=window.year) if window.year != today.year else now_counts
    choices = dict(db.execute(select(ChoiceRow.status, func.count()).where(ChoiceRow.year == window.year)
                              .group_by(ChoiceRow.status)).all())
    in_scope = db.scalar(select(func.count()).select_from(PersonRow).where(person_scope.condition))
    rows = [(c, now_counts.get(c.consortium_id, 0), next_counts.get(c.consortium_id, 0)) for c in consortia]
    return render(request, ctx, "dashboard.html", principal, window=window, rows=rows, year=today.year,
                  choices=choices, in_scope=in_scope or 0,
                  institutions=db.scalar(select(func.count()).select_from(InstitutionRow)) or 0)


@router.get("/registry", response_class=HTMLResponse)
def registry(request: Request, ctx: ContextDep, db: DbSession, principal: Official) -> Response:
    return render(request, ctx, "registry.html", principal, institutions=_institutions(db),
                  consortia=list(db.scalars(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id))))


@router.get("/registry.csv")
def registry_csv(db: DbSession, _p: Official) -> Response:
    return csv_response("institutions.csv", REGISTRY_COLUMNS,
                        ([getattr(i, c) if getattr(i, c) is not None else "" for c in REGISTRY_COLUMNS]
                         for i in _institutions(db)))


def _head_count_rows(db: DbSession, year: int) -> list[tuple[str, str, str, str, int]]:
    counts = head_counts(db, year=year)
    out = [(c.consortium_id, c.name, "consortium", "", counts.get(c.consortium_id, 0))
           for c in db.scalars(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id))]
    out += [(i.inst_id, i.name, i.tier, i.consortium_id or "", counts.get(i.inst_id, 0))
            for i in _institutions(db) if i.tier in (Tier.TOWNSHIP, Tier.VILLAGE)]
    return out


@router.get("/head-counts", response_class=HTMLResponse)
def head_count_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                    year: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> Response:
    y = year or ctx.clock.today().year
    moved = [r for r in movements(db, year=y).to_pylist() if r["gained"] or r["lost"]]
    return render(request, ctx, "head_counts.html", principal, year=y, rows=_head_count_rows(db, y), moved=moved)


@router.get("/head-counts.csv")
def head_count_csv(ctx: ContextDep, db: DbSession, _p: Official,
                   year: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> Response:
    y = year or ctx.clock.today().year
    return csv_response(f"head-counts-{y}.csv", ("unit_id", "name", "tier", "consortium_id", "head_count"),
                        _head_count_rows(db, y))


@router.get("/persons", response_class=HTMLResponse)
def persons_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, person_scope: ScopeDep,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Persons in the official's scope, 50 a page; ID numbers masked unless the role needs them."""
    size = 50
    cond = person_scope.condition
    rows = list(db.scalars(select(PersonRow).where(cond).order_by(PersonRow.person_id)
                           .limit(size).offset((page - 1) * size)))
    total = db.scalar(select(func.count()).select_from(PersonRow).where(cond)) or 0
    audit.record(db, principal, action="GET /persons", person_ids=[r.person_id for r in rows], at=ctx.clock.now())
    shown = [(r, (r.id_number or "") if principal.sees_id_numbers else mask_id_number(r.id_number)) for r in rows]
    return render(request, ctx, "persons.html", principal, rows=shown, page=page, total=total,
                  pages=max(1, (total + size - 1) // size))
