"""Budget and settlement pages (预算与结算): budget vs spending by month per consortium, the year-end settlement and
its internal split; CSV and Excel downloads. Not personal data; each official sees the consortia of their scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from yigongti.budget.agreement import FORMULA_SOURCE
from yigongti.budget.analytics import YearFigures
from yigongti.budget.report import consortium_report_xlsx
from yigongti.budget.reserve_service import surplus_of
from yigongti.core.money import format_yuan
from yigongti.platform.charts import line_chart
from yigongti.platform.deps import ContextDep, DbSession, Official
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of, translator
from yigongti.platform.pages import render
from yigongti.platform.scope import consortia_in_scope as visible_consortia

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _figures(ctx: Any) -> YearFigures:
    figures: YearFigures | None = ctx.figures.get()
    if figures is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有可用的年度数据 / no year of data loaded")
    return figures


def _monthly(figures: YearFigures, cid: str) -> list[tuple[int, int, int, int, int]]:
    """(month, prepayment, in-network, out-of-network, cumulative balance) for one consortium, in fen."""
    s = next(c for c in figures.settlement.consortia if c.consortium_id == cid)
    spend = {(r["month"]): (r["in_network"], r["out_of_network"])
             for r in figures.settlement.by_month.to_pylist() if r["consortium_id"] == cid}
    out, balance = [], 0
    for m in range(1, 13):
        pre = s.budget.prepayments[m - 1] if m - 1 < len(s.budget.prepayments) else 0
        inn, outn = spend.get(m, (0, 0))
        balance += pre - inn - outn
        out.append((m, pre, inn, outn, balance))
    return out


@router.get("/finance", response_class=HTMLResponse)
def finance(request: Request, ctx: ContextDep, db: DbSession, principal: Official) -> Response:
    figures = _figures(ctx)
    mine = visible_consortia(db, principal)
    t = translator(lang_of(request))
    blocks = []
    surplus = {o.consortium_id: o for o in surplus_of(figures.settlement, ctx.policy.surplus)}
    for s in figures.settlement.consortia:
        if s.consortium_id not in mine:
            continue
        months = _monthly(figures, s.consortium_id)
        cum_budget, cum_spend, b, sp = [], [], 0, 0
        for _, pre, inn, outn, _bal in months:
            b, sp = b + pre, sp + inn + outn
            cum_budget.append(b / 100)
            cum_spend.append(sp / 100)
        chart = line_chart([str(m) for m in range(1, 13)],
                           [(t("累计预付", "prepaid so far"), cum_budget), (t("累计支出", "spent so far"), cum_spend)],
                           unit=t("（元）", " (yuan)"))
        allocation = [a for a in figures.settlement.allocations if a.consortium_id == s.consortium_id]
        blocks.append({"s": s, "name": figures.settlement.names.get(s.consortium_id, s.consortium_id),
                       "months": months, "chart": chart, "allocation": allocation,
                       "source": figures.settlement.budget_sources.get(s.consortium_id, FORMULA_SOURCE),
                       "surplus": surplus.get(s.consortium_id)})
    return render(request, ctx, "finance.html", principal, year=figures.year, blocks=blocks, yuan=format_yuan)


def _rows(table: Any, mine: set[str]) -> tuple[list[str], list[list[object]]]:
    cols = table.column_names
    money = {"rate", "gross_budget", "p4p_reserve", "prospective_budget", "in_network_spend",
             "out_of_network_deductions", "balance", "retained_surplus", "fund_overspend_share",
             "consortium_overspend", "p4p_paid", "amount_to_share", "amount", "in_network", "out_of_network"}
    rows = [[format_yuan(r[c]) if c in money and r[c] is not None else ("" if r[c] is None else r[c]) for c in cols]
            for r in table.to_pylist() if r["consortium_id"] in mine]
    return cols, rows


@router.get("/finance/{name}.csv")
def finance_csv(ctx: ContextDep, db: DbSession, principal: Official, name: str) -> Response:
    figures = _figures(ctx)
    tables = {"settlement": figures.settlement.settlement, "allocation": figures.settlement.allocation,
              "by-month": figures.settlement.by_month}
    if name not in tables:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such download / 无此下载")
    cols, rows = _rows(tables[name], visible_consortia(db, principal))
    return csv_response(f"{name}-{figures.year}.csv", cols, rows)


@router.get("/finance/{consortium_id}.xlsx")
def finance_xlsx(ctx: ContextDep, db: DbSession, principal: Official, consortium_id: str) -> Response:
    figures = _figures(ctx)
    if consortium_id not in visible_consortia(db, principal):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such consortium in your scope / 无权查看")
    s = next((c for c in figures.settlement.consortia if c.consortium_id == consortium_id), None)
    if s is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no settlement for this consortium / 无结算")
    body = consortium_report_xlsx(figures.settlement, s)
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="settlement-{consortium_id}-'
                                                    f'{figures.year}.xlsx"'})
