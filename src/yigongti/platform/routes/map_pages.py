"""Map page (地图): institutions drawn where they are, sized by this year's head count and coloured by consortium,
over the density of the enrollees' homes (aggregated in grid cells: no single home is shown). Drawn on the server;
no tile server, no script."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from yigongti.enrollment.portal import head_counts
from yigongti.enrollment.store import PersonRow
from yigongti.platform.charts import PALETTE, map_chart
from yigongti.platform.deps import ContextDep, DbSession, Official, ScopeDep
from yigongti.platform.pages import render
from yigongti.registry.domain import Tier
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
GRID = 40  # cells across the county


@router.get("/map", response_class=HTMLResponse)
def county_map(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
               person_scope: ScopeDep) -> Response:
    year = ctx.clock.today().year
    counts = head_counts(db, year=year)
    if not counts:  # before the data year: show the latest designations there are
        counts = head_counts(db, year=year + 1)
    consortia = [c.consortium_id for c in db.scalars(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id))]
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(consortia)}
    insts = list(db.scalars(select(InstitutionRow).where(InstitutionRow.tier != Tier.OUTSIDE)))
    top = max([counts.get(i.inst_id, 0) for i in insts] + [1])
    points = [(i.lon, i.lat, 3 + 14 * math.sqrt(counts.get(i.inst_id, 0) / top), colour.get(i.consortium_id or "",
               "#888"), f"{i.name} {i.inst_id}: {counts.get(i.inst_id, 0)}") for i in insts if i.tier != Tier.COUNTY]
    points += [(i.lon, i.lat, 9.0, "#1d2430", f"{i.name} {i.inst_id}") for i in insts if i.tier == Tier.COUNTY]
    cond = person_scope.condition
    box = db.execute(select(func.min(PersonRow.lon), func.max(PersonRow.lon), func.min(PersonRow.lat),
                            func.max(PersonRow.lat)).where(cond)).one()
    cells: list[tuple[float, float, int]] = []
    cell = 0.01
    if box[0] is not None:
        cell = max((box[1] - box[0]) / GRID, (box[3] - box[2]) / GRID, 1e-4)
        gx = func.floor((PersonRow.lon - box[0]) / cell)
        gy = func.floor((PersonRow.lat - box[2]) / cell)
        for x, y, n in db.execute(select(gx, gy, func.count()).where(cond).group_by(gx, gy)):
            cells.append((box[0] + float(x) * cell, box[2] + float(y) * cell, int(n)))
    legend = [(c, colour[c]) for c in consortia]
    return render(request, ctx, "map.html", principal, chart=map_chart(points, cells, cell_deg=cell), legend=legend,
                  persons=sum(n for _, _, n in cells))
