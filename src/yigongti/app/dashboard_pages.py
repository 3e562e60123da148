"""The officials' dashboard (驾驶舱): the county, a consortium or an institution at a glance, drilled down by links.

``/dashboard`` shows the county (the consortia of the official's scope together), ``?consortium=G1`` one consortium,
``?consortium=G1&inst=G1-T2`` one of its institutions: KPI cards with the change against last year, the budget burn
month by month against the prepayments, the in-county and primary-level shares against their targets, the indicator
grid with points and the grade, and the units one level down (searched, sorted and paged on the server). Every chart
has its figures in a table beside it (for a screen reader and for print) and a CSV download
(``/dashboard.csv?chart=...`` with the same parameters). Not personal data: counts, money and indicators of units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from yigongti.appraisal.service import AppraisalResult
from yigongti.budget import dashboard as figures_of
from yigongti.budget.analytics import YearFigures
from yigongti.core.labels import format_count, format_money, format_number, label
from yigongti.enrollment import readmodel
from yigongti.enrollment.portal import head_counts, switch_window
from yigongti.platform.accounts import Principal
from yigongti.platform.charts import line_chart, target_chart
from yigongti.platform.deps import ContextDep, DbSession, Official, ScopeDep
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of, translator
from yigongti.platform.pages import render
from yigongti.platform.scope import consortia_in_scope
from yigongti.platform.tables import TablePage, TableQuery, TableQueryDep, page_of
from yigongti.registry import service as registry
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Id = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]
ChartName = Literal["burn", "shares", "indicators", "units"]


@dataclass(frozen=True)
class Kpi:
    """A KPI card: what, the value shown, last year's, the change, a target line."""

    title: str
    value: str
    change: str | None = None
    rising: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class Chart:
    """A chart and its figures: column keys (labelled from ``core.labels`` in the CSV), rows for the page (text),
    rows for the CSV (numbers)."""

    name: str
    title: str
    svg: Markup
    columns: tuple[str, ...]
    shown: list[list[str]]
    raw: list[list[object]]


@dataclass
class View:
    level: Literal["county", "consortium", "institution"]
    title: str
    crumbs: list[tuple[str, str]]
    kpis: list[Kpi] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    grid: list[figures_of.GridRow] = field(default_factory=list)
    score: figures_of.UnitScore | None = None
    units: TablePage[dict[str, Any]] | None = None
    unit_rows: list[dict[str, Any]] = field(default_factory=list)
    units_kind: str = ""
    problem: str = ""


def _change(now: Decimal | int | None, before: Decimal | int | None, *, points: bool = False) -> tuple[str | None,
                                                                                                      bool | None]:
    """The change against last year as text: percentage points for a share, percent otherwise."""
    if now is None or before is None:
        return None, None
    if points:
        d = Decimal(now) - Decimal(before)
        return f"{d:+.2f}", d > 0
    if before == 0:
        return None, None
    pct = (Decimal(now) - Decimal(before)) * 100 / Decimal(before)
    return f"{pct:+.1f}%", pct > 0


def _count_kpi(t: Callable[[str, str], str], now: int, before: int | None) -> Kpi:
    change, up = _change(now, before or None)
    return Kpi(t("参保人数", "Enrollees"), format_count(now), change, up,
               t("上年", "last year") + f" {format_count(before)}" if before else t("上年无数据",
                                                                                        "no figure for last year"))


def _share_kpis(t: Callable[[str, str], str], lang: str, shares: Sequence[figures_of.Share]) -> list[Kpi]:
    out = []
    for s in shares:
        change, up = _change(s.value, s.previous, points=True)
        target = (t("目标", "target") + f" {format_number(s.target)}%" if s.target is not None else "")
        met = {True: t("已达标", "met"), False: t("未达标", "not met"), None: ""}[s.meets]
        out.append(Kpi(s.indicator.name_en if lang == "en" else s.indicator.name_zh,
                       f"{format_number(s.value)}%", change, up, " · ".join(x for x in (target, met) if x)))
    return out


def _score_kpi(t: Callable[[str, str], str], lang: str, score: figures_of.UnitScore) -> Kpi:
    change, up = _change(score.score, score.previous, points=True)
    grade = label("grade", score.grade, lang) if score.grade else t("待定", "pending")
    return Kpi(t("考核得分", "Appraisal score"), f"{format_number(score.score)} · {grade}", change, up,
               t("较上年", "vs last year") if change else t("上年无数据", "no figure for last year"))


def _burn_chart(t: Callable[[str, str], str], months: list[figures_of.BurnMonth], *, prepaid: bool) -> Chart:
    series = [(t("累计支出", "spent so far"), [m.spent_to_date / 100 for m in months])]
    if prepaid:
        series.insert(0, (t("累计预付", "prepaid so far"), [m.prepaid_to_date / 100 for m in months]))
    title = (t("预算执行：按月累计支出与预付（元）", "Budget burn: spending against prepayments by month (yuan)")
             if prepaid else t("医保基金按月累计支付（元）", "Fund payments by month, cumulative (yuan)"))
    svg = line_chart([str(m.month) for m in months], series, unit=t("（元）", " (yuan)"), title=title)
    cols = ("month", "prepaid", "spent", "prepaid_to_date", "spent_to_date", "burn_rate")

    def rate(m: figures_of.BurnMonth) -> Decimal | None:
        return (Decimal(m.spent_to_date) * 100 / m.prepaid_to_date).quantize(Decimal("0.1")) \
            if m.prepaid_to_date else None

    shown = [[str(m.month), format_money(m.prepaid), format_money(m.spent), format_money(m.prepaid_to_date),
              format_money(m.spent_to_date), format_number(rate(m)) + ("%" if rate(m) is not None else "")]
             for m in months]
    raw: list[list[object]] = [[m.month, Decimal(m.prepaid) / 100, Decimal(m.spent) / 100,
                                Decimal(m.prepaid_to_date) / 100, Decimal(m.spent_to_date) / 100,
                                rate(m) if rate(m) is not None else ""] for m in months]
    return Chart("burn", title, svg, cols, shown, raw)


def _shares_chart(t: Callable[[str, str], str], lang: str, shares: Sequence[figures_of.Share]) -> Chart | None:
    drawn = [s for s in shares if s.value is not None]
    if not drawn:
        return None
    title = t("县域内与基层占比对照目标（%）", "In-county and primary-level shares against their targets (%)")
    names = [s.indicator.name_en if lang == "en" else s.indicator.name_zh for s in drawn]
    svg = target_chart([(n, float(s.value or 0), float(s.target) if s.target is not None else None)
                        for n, s in zip(names, drawn, strict=True)], title=title, target_word=t("目标", "target"))
    cols = ("indicator", "value", "target", "previous")
    shown = [[n, format_number(s.value), format_number(s.target), format_number(s.previous)]
             for n, s in zip(names, drawn, strict=True)]
    raw: list[list[object]] = [[n, s.value, "" if s.target is None else s.target, "" if s.previous is None
                                else s.previous] for n, s in zip(names, drawn, strict=True)]
    return Chart("shares", title, svg, cols, shown, raw)


def _figures(ctx: Any) -> YearFigures:
    figures: YearFigures | None = ctx.figures.get()
    if figures is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有可用的年度数据 / no year of data loaded")
    return figures


def _consortium_units(db: Session, figures: YearFigures, consortia: Sequence[ConsortiumRow], year: int,
                      appraisal: AppraisalResult | None) -> list[dict[str, Any]]:
    now, before = head_counts(db, year=year), head_counts(db, year=year - 1)
    ids = {c.consortium_id for c in consortia}
    money = {s.consortium_id: s for s in figures.settlement.consortia if s.consortium_id in ids}
    rows = []
    for c in consortia:
        s = money.get(c.consortium_id)
        score = figures_of.unit_score(appraisal, c.consortium_id) if appraisal else None
        spent = (s.in_network_spend + s.out_of_network_deductions) if s else None
        rows.append({"id": c.consortium_id, "name": c.name, "href": f"?consortium={c.consortium_id}", "tier": "",
                     "head_count": now.get(c.consortium_id, 0), "previous": before.get(c.consortium_id),
                     "budget": s.budget.prospective if s else None, "spent": spent,
                     "score": score.score if score else None, "grade": score.grade if score else None})
    return rows


def _institution_units(db: Session, figures: YearFigures, consortium_id: str, year: int,
                       appraisal: AppraisalResult | None) -> list[dict[str, Any]]:
    members = registry.institutions(db, consortium_id=consortium_id)
    now, before = head_counts(db, year=year), head_counts(db, year=year - 1)
    paid = figures_of.fund_by_institution(figures, [i.inst_id for i in members])
    rows = []
    for i in members:
        score = figures_of.unit_score(appraisal, i.inst_id) if appraisal else None
        rows.append({"id": i.inst_id, "name": i.name, "href": f"?consortium={consortium_id}&inst={i.inst_id}",
                     "tier": i.tier, "head_count": now.get(i.inst_id), "previous": before.get(i.inst_id),
                     "budget": None, "spent": paid.get(i.inst_id, 0),
                     "score": score.score if score else None, "grade": score.grade if score else None})
    return rows


UNIT_SORTS = ("name", "id", "tier", "head_count", "previous", "budget", "spent", "score")


def _units_page(rows: list[dict[str, Any]], query: TableQuery, extra: dict[str, object]) -> TablePage[dict[str, Any]]:
    return page_of(rows, query, extra=extra,
                   text=lambda r: f"{r['id']} {r['name']} {label('tier', r['tier'])} {label('tier', r['tier'], 'en')}",
                   keys={k: itemgetter(k) for k in UNIT_SORTS})


def _view(request: Request, ctx: Any, db: Session, principal: Principal, query: TableQuery,
          consortium: str | None, inst: str | None) -> View:
    lang = lang_of(request)
    t = translator(lang)
    figures = _figures(ctx)
    appraisal = figures.appraisal
    mine = consortia_in_scope(db, principal)
    consortia = [c for c in registry.consortia(db) if c.consortium_id in mine]
    year = figures.year
    top = t("全县", "County")
    if consortium is None:
        counties = sorted({c.county_code for c in consortia})
        view = View("county", top + (f" {counties[0]}" if len(counties) == 1 else ""), [])
        now, before = head_counts(db, year=year), head_counts(db, year=year - 1)
        n_now = sum(now.get(c, 0) for c in mine)
        n_before = sum(before.get(c, 0) for c in mine)
        view.kpis.append(_count_kpi(t, n_now, n_before))
        months = figures_of.burn(figures, mine)
        scope = counties[0] if len(counties) == 1 else None
        rows = _consortium_units(db, figures, consortia, year, appraisal)
        view.units_kind = "consortium"
        units_extra: dict[str, object] = {}
    else:
        cons = next((c for c in consortia if c.consortium_id == consortium), None)
        if cons is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "不在您的权限范围内 / no such consortium in your scope")
        crumbs = [(top, "/dashboard")]
        if inst is None:
            view = View("consortium", cons.name, crumbs)
            now, before = head_counts(db, year=year), head_counts(db, year=year - 1)
            view.kpis.append(_count_kpi(t, now.get(consortium, 0), before.get(consortium)))
            months = figures_of.burn(figures, [consortium])
            scope = consortium
            rows = _institution_units(db, figures, consortium, year, appraisal)
            view.units_kind = "institution"
            units_extra = {"consortium": consortium}
        else:
            member: InstitutionRow | None = next((i for i in registry.institutions(db, consortium_id=consortium)
                                                  if i.inst_id == inst), None)
            if member is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "该医共体无此机构 / no such member institution")
            view = View("institution", member.name, [*crumbs, (cons.name, f"/dashboard?consortium={consortium}")])
            now, before = head_counts(db, year=year), head_counts(db, year=year - 1)
            if inst in now or inst in before:
                view.kpis.append(_count_kpi(t, now.get(inst, 0), before.get(inst)))
            months = figures_of.institution_burn(figures, inst)
            view.kpis.append(Kpi(t("医保基金支付（元）", "Paid by the fund (yuan)"),
                                 format_money(months[-1].spent_to_date), note=label("tier", member.tier, lang)))
            scope, rows = inst, []
            units_extra = {}
    if view.level != "institution":
        spent, prepaid = months[-1].spent_to_date, months[-1].prepaid_to_date
        rate = f"{Decimal(spent) * 100 / prepaid:.1f}%" if prepaid else "—"
        view.kpis.append(Kpi(t("预算执行率", "Budget burn"), rate, None, None,
                             t("已支出", "spent") + f" {format_money(spent)} / " + t("预付", "prepaid")
                             + f" {format_money(prepaid)} " + t("元", "yuan")))
    view.charts.append(_burn_chart(t, months, prepaid=view.level != "institution"))
    if appraisal is None:
        view.problem = figures.appraisal_problem or t("没有可用的考核结果", "no appraisal available")
    elif scope is not None:
        if view.level != "institution":
            found = figures_of.shares(appraisal, scope)
            view.kpis.extend(_share_kpis(t, lang, found))
            chart = _shares_chart(t, lang, found)
            if chart is not None:
                view.charts.append(chart)
        view.score = figures_of.unit_score(appraisal, scope)
        if view.score.score is not None:
            view.kpis.append(_score_kpi(t, lang, view.score))
        view.grid = figures_of.indicator_grid(appraisal, scope)
    if rows:
        view.units, view.unit_rows = _units_page(rows, query, units_extra), rows
    return view


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, ctx: ContextDep, db: DbSession, principal: Official, person_scope: ScopeDep,
              query: TableQueryDep, consortium: Id = None, inst: Id = None) -> Response:
    today = ctx.clock.today()
    window = switch_window(ctx.policy.enrollment, today)
    view = _view(request, ctx, db, principal, query, consortium, inst) if ctx.figures.available else None
    found = readmodel.overview(db, person_scope.condition, year=today.year, window_year=window.year)
    here = "&".join(f"{k}={v}" for k, v in (("consortium", consortium), ("inst", inst)) if v)
    return render(request, ctx, "dashboard.html", principal, window=window, rows=found.consortia, year=today.year,
                  choices=found.choices, in_scope=found.in_scope, institutions=found.institutions, view=view,
                  here=here, figures_year=ctx.figures.year)


@router.get("/dashboard.csv")
def dashboard_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official, query: TableQueryDep,
                  chart: Annotated[ChartName, Query()], consortium: Id = None, inst: Id = None) -> Response:
    """The figures of one chart of the dashboard (the same view's), or its indicator grid or units table."""
    view = _view(request, ctx, db, principal, query, consortium, inst)
    year = ctx.figures.year
    where = "-".join(x for x in ("dashboard", consortium, inst, chart, str(year)) if x)
    if chart == "indicators":
        cols: Sequence[str] = ("indicator_id", "indicator", "unit", "value", "target", "previous", "points",
                               "weight")
        lang = lang_of(request)
        return csv_response(f"{where}.csv", cols, (
            [g.indicator.id, g.indicator.name_en if lang == "en" else g.indicator.name_zh,
             label("unit", g.indicator.unit, lang), *("" if v is None else v for v in (
                 g.value, g.target, g.previous, g.points, g.weight))] for g in view.grid))
    if chart == "units":
        cols = ("unit_id", "name", "tier", "head_count", "head_count_previous", "budget", "spent", "score", "grade")
        return csv_response(f"{where}.csv", cols, (
            [r["id"], r["name"], label("tier", r["tier"]) if r["tier"] else "", r["head_count"], r["previous"],
             "" if r["budget"] is None else Decimal(r["budget"]) / 100,
             "" if r["spent"] is None else Decimal(r["spent"]) / 100, r["score"],
             label("grade", r["grade"]) if r["grade"] else ""] for r in view.unit_rows))
    found = next((c for c in view.charts if c.name == chart), None)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "此页没有该图表 / no such chart on this page")
    return csv_response(f"{where}.csv", found.columns, found.raw)
