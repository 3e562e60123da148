"""Budget and settlement pages (预算与结算): budget vs spending by month per consortium, the year-end settlement and
its internal split; CSV and Excel downloads. Not personal data; each official sees the consortia of their scope.

The yearly budget agreement pages (年度总额预算协议, ``/finance/agreements``): the insurance bureau sees every
consortium of its county, proposes from the formula, adjusts (capacity, volume; the TCM uplift is the policy's) or
enters the negotiated figure, and signs what the consortium accepted; a consortium admin sees its own consortium only,
comments and accepts; the health commission looks. Every version is listed with who and when. The forms carry the
page session's CSRF token; a refusal is answered as the API answers it (403, 404, 409, 422), on an error page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yigongti.budget.agreement import FORMULA_SOURCE, Action, allowed_actions
from yigongti.budget.agreement_service import VIEW_ROLES, act_on_text, agreement_history, agreements_of_year
from yigongti.budget.analytics import YearFigures, formula_budget
from yigongti.budget.report import consortium_report_xlsx
from yigongti.budget.reserve_service import surplus_of
from yigongti.core.money import format_yuan
from yigongti.platform.charts import line_chart
from yigongti.platform.deps import ContextDep, DbSession, Official, run_use_case
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of, translator
from yigongti.platform.pages import CheckedCsrf, render, templates
from yigongti.platform.scope import consortia_in_scope as visible_consortia

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
templates.env.globals["agreement_roles"] = frozenset(r.value for r in VIEW_ROLES)  # who gets the agreements' links


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
                       "signed": figures.agreements.get(s.consortium_id),
                       "formula": figures.settlement.formula_budgets.get(s.consortium_id),
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
def finance_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official, name: str) -> Response:
    figures = _figures(ctx)
    tables = {"settlement": figures.settlement.settlement, "allocation": figures.settlement.allocation,
              "by-month": figures.settlement.by_month}
    if name not in tables:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such download / 无此下载")
    cols, rows = _rows(tables[name], visible_consortia(db, principal))
    return csv_response(f"{name}-{figures.year}.csv", cols, rows, lang=lang_of(request))


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


# --------------------------------------------------------------------------------------------- budget agreements

ConsortiumPath = Annotated[str, Path(min_length=1, max_length=64)]
YearPath = Annotated[int, Path(ge=1900, le=2200)]
Factor = Annotated[str, Form(max_length=20)]


def _agreement_year(ctx: Any, year: int | None) -> int:
    """The year asked for, else the year of the loaded figures (its formula is known), else this year."""
    if year is not None:
        return year
    figures: YearFigures | None = ctx.figures.get()
    return figures.year if figures is not None else int(ctx.clock.today().year)


@router.get("/finance/agreements", response_class=HTMLResponse)
def agreements_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                    year: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> Response:
    """Every consortium of the caller's scope with where its agreement of ``year`` stands."""
    y = _agreement_year(ctx, year)
    every = run_use_case(lambda: agreements_of_year(db, principal, y))
    figures = ctx.figures.get()
    rows = [{"consortium_id": c, "last": history[-1] if history else None,
             "formula": formula_budget(figures, c, y)} for c, history in every.items()]
    return render(request, ctx, "agreements.html", principal, year=y, rows=rows)


@router.get("/finance/agreements/{consortium_id}/{year}", response_class=HTMLResponse)
def agreement_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                   consortium_id: ConsortiumPath, year: YearPath) -> Response:
    """One consortium-year: the figures, the forms of what the caller's role may do now, every version."""
    history = run_use_case(lambda: agreement_history(db, principal, consortium_id, year))
    return render(request, ctx, "agreement.html", principal, year=year, consortium_id=consortium_id,
                  history=history, last=history[-1] if history else None,
                  actions=[a.value for a in allowed_actions(history, principal.role.value)],
                  formula=formula_budget(ctx.figures.get(), consortium_id, year),
                  uplift=ctx.policy.agreement.tcm_uplift)


@router.post("/finance/agreements/{consortium_id}/{year}/{action}")
def agreement_action(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                     consortium_id: ConsortiumPath, year: YearPath, action: Action, capacity: Factor = "",
                     volume: Factor = "", amount: Factor = "",
                     note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """The form of one action; back to the agreement's page (303) when it is recorded. A bad figure is answered
    with a page naming the field (422)."""
    formula = formula_budget(ctx.figures.get(), consortium_id, year) if action is Action.PROPOSE else None
    run_use_case(lambda: act_on_text(
        db, principal, consortium_id, year, action, at=ctx.clock.now(), policy=ctx.policy.agreement,
        formula=formula, capacity=capacity.strip(), volume=volume.strip(), amount=amount.strip(), note=note.strip()))
    return RedirectResponse(f"/finance/agreements/{quote(consortium_id, safe='')}/{year}",
                            status.HTTP_303_SEE_OTHER)
