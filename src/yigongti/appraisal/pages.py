"""Indicators page (监测指标): the indicator set with values for the county and the consortia in scope, scores and
grades with a chart; CSV and Excel downloads. Computed by the appraisal use case (``yigongti appraise``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from yigongti.appraisal.indicators import ScopeKind
from yigongti.appraisal.report import appraisal_xlsx
from yigongti.appraisal.service import AppraisalResult
from yigongti.core.policy import GradeName
from yigongti.platform.accounts import Role
from yigongti.platform.charts import bar_chart
from yigongti.platform.deps import ContextDep, DbSession, Official
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of, translator
from yigongti.platform.pages import render
from yigongti.platform.scope import consortia_in_scope
from yigongti.platform.tables import TableQuery, TableQueryDep, labels_text, page_of, second_table_query
from yigongti.registry.service import member_ids

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
WHOLE_COUNTY = (Role.INSURANCE_BUREAU, Role.HEALTH_COMMISSION, Role.SYSTEM_ADMIN)


def _appraisal(ctx: Any) -> AppraisalResult:
    figures = ctx.figures.get()
    if figures is None or figures.appraisal is None:
        detail = figures.appraisal_problem if figures is not None and figures.appraisal_problem else ""
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"没有可用的考核结果 / no appraisal available {detail}".strip())
    result: AppraisalResult = figures.appraisal
    return result


def _units(db: DbSession, principal: Official, result: AppraisalResult) -> tuple[list[str], set[str]]:
    """(consortia in scope, every unit in scope: the county, those consortia and their institutions)."""
    consortia = sorted(consortia_in_scope(db, principal))
    members = member_ids(db, consortia)
    counties = {r["scope"] for r in result.indicators.to_pylist() if r["scope_kind"] == ScopeKind.COUNTY}
    return consortia, {*counties, *consortia, *members}


KIND_ORDER = {ScopeKind.COUNTY.value: 0, ScopeKind.CONSORTIUM.value: 1}
"""Sorting the scores by kind puts the county first, then the consortia, then the institutions."""


def _id_order(indicator_id: str) -> tuple[int, int, str]:
    """Indicator ids are numbers in the national set ("2" before "10"), any other id after them in text order."""
    return (0, int(indicator_id), "") if indicator_id.isascii() and indicator_id.isdigit() else (1, 0, indicator_id)


@router.get("/indicators", response_class=HTMLResponse)
def indicators(request: Request, ctx: ContextDep, db: DbSession, principal: Official, query: TableQueryDep,
               values_query: Annotated[TableQuery, Depends(second_table_query("i"))]) -> Response:
    """The consortia's scores (a chart), every unit's score and grade (searched, sorted and paged: a county has
    hundreds of institutions), and the indicator values of the county and each consortium (searched by indicator
    code or name, sorted and paged with their own box: ``iq``, ``isort``, ``idir``, ``ipage``)."""
    result = _appraisal(ctx)
    consortia, units = _units(db, principal, result)
    t = translator(lang_of(request))
    values = {(r["scope"], r["indicator"]): r for r in result.indicators.to_pylist()}
    counties = sorted({r["scope"] for r in result.indicators.to_pylist() if r["scope_kind"] == ScopeKind.COUNTY})
    columns = counties + consortia
    rows = []
    for ind in result.indicator_set.indicators:
        cells = []
        for scope in columns:
            v = values.get((scope, ind.id))
            cells.append(v["value"] if v and v["status"] == "ok" else None)
        rows.append((ind, cells))
    scores = [r for r in result.scores.to_pylist() if r["unit_id"] in units]
    chart = bar_chart([(result.names.get(r["unit_id"], r["unit_id"]), float(r["score"])) for r in scores
                       if r["scope_kind"] == ScopeKind.CONSORTIUM],
                      lines=[(t("优秀", "excellent") if n == GradeName.EXCELLENT else t("合格", "qualified")
                              if n == GradeName.QUALIFIED else n, float(m)) for n, m in result.grades])
    scored = page_of(scores, query,
                     text=lambda r: " ".join((r["unit_id"], result.names.get(r["unit_id"], ""),
                                              labels_text("scope_kind", r["scope_kind"]),
                                              labels_text("grade", r["grade"]))),
                     keys={"unit": lambda r: result.names.get(r["unit_id"], r["unit_id"]),
                           "kind": lambda r: KIND_ORDER.get(str(r["scope_kind"]), 9),
                           "score": lambda r: r["score"], "grade": lambda r: r["grade"]},
                     extra=dict(values_query.params))
    valued = page_of(rows, values_query,
                     text=lambda r: " ".join((r[0].id, r[0].name_zh, r[0].name_en, labels_text("unit", r[0].unit))),
                     keys={"indicator": lambda r: _id_order(r[0].id), "unit": lambda r: r[0].unit},
                     extra=dict(query.params))
    return render(request, ctx, "indicators.html", principal, year=result.year, columns=columns,
                  names=result.names, rows=valued, scores=scored, chart=chart, notes=result.notes,
                  whole_county=principal.role in WHOLE_COUNTY)


@router.get("/indicators.csv")
def indicators_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official) -> Response:
    result = _appraisal(ctx)
    _, units = _units(db, principal, result)
    cols = ["scope", "indicator", "numerator", "denominator", "value", "year", "scope_kind", "unit", "status",
            "reason"]
    rows = [[r[c] if r[c] is not None else "" for c in cols] for r in result.indicators.to_pylist()
            if r["scope"] in units]
    return csv_response(f"indicators-{result.year}.csv", cols, rows, lang=lang_of(request))


@router.get("/indicators.xlsx")
def indicators_xlsx(ctx: ContextDep, principal: Official) -> Response:
    """The full appraisal workbook: every consortium and institution, so only for the county-wide roles."""
    if principal.role not in WHOLE_COUNTY:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医保局、卫健局可下载全县考核 / county-wide roles only")
    result = _appraisal(ctx)
    return Response(appraisal_xlsx(result),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="appraisal-{result.year}.xlsx"'})
