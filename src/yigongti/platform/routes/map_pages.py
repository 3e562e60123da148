"""Map page (地图): institutions drawn where they are, sized by this year's head count and coloured by consortium,
over the density of the enrollees' homes (aggregated in grid cells: no single home is shown). Drawn on the server;
no tile server, no script."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from yigongti.enrollment.readmodel import county_map as county_map_figures
from yigongti.platform.charts import PALETTE, map_chart
from yigongti.platform.deps import ContextDep, DbSession, Official, ScopeDep
from yigongti.platform.i18n import lang_of, translator
from yigongti.platform.pages import render
from yigongti.registry.domain import Tier

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
GRID = 40  # cells across the county


@router.get("/map", response_class=HTMLResponse)
def county_map(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
               person_scope: ScopeDep) -> Response:
    found = county_map_figures(db, person_scope.condition, year=ctx.clock.today().year, grid=GRID)
    counts, insts = found.head_counts, found.institutions
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(found.consortium_ids)}
    top = max([counts.get(i.inst_id, 0) for i in insts] + [1])
    points = [(i.lon, i.lat, 3 + 14 * math.sqrt(counts.get(i.inst_id, 0) / top), colour.get(i.consortium_id or "",
               "#888"), f"{i.name} {i.inst_id}: {counts.get(i.inst_id, 0)}") for i in insts if i.tier != Tier.COUNTY]
    points += [(i.lon, i.lat, 9.0, "#1d2430", f"{i.name} {i.inst_id}") for i in insts if i.tier == Tier.COUNTY]
    cells = found.density.cells
    legend = [(c, colour[c]) for c in found.consortium_ids]
    title = translator(lang_of(request))("参保人住址密度与医疗机构分布图",
                                         "Map of the enrollees' homes and the institutions")
    return render(request, ctx, "map.html", principal,
                  chart=map_chart(points, cells, cell_deg=found.density.cell_deg, title=title),
                  legend=legend, persons=sum(n for _, _, n in cells))
