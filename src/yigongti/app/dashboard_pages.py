"""The officials' dashboard (驾驶舱): the county, a consortium or an institution at a glance, drilled down by links.

``/dashboard`` shows the county (the consortia of the official's scope together), ``?consortium=G1`` one consortium,
``?consortium=G1&inst=G1-T2`` one of its institutions: KPI cards with the change against last year, the budget burn
month by month against the prepayments, the in-county and primary-level shares against their targets, the indicator
grid with points and the grade, and the units one level down (searched, sorted and paged on the server). Every chart
has its figures in a table beside it (for a screen reader and for print) and a CSV download
(``/dashboard.csv?chart=...`` with the same parameters). Not personal data: counts, money and indicators of units.

Last year (上年) is last year's own figures (``ctx.figures.last_year()``: the settlement and appraisal of ``year - 1``
on the same folder, what ``yigongti settle``/``appraise --year`` compute for it): each card shows last year's value and
the change (an arrow and a word, not colour alone), the burn chart last year's cumulative spending (dashed), the
tables and CSVs a last-year column. A folder without a whole previous year says 「上年无数据」 instead of a trend.
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
    """A KPI card: what, the value shown, the change against last year (text; ``rising``: its direction, None for
    no change; ``better``: whether that is good, for the colour only), last year's value shown, a note.
    ``compared``: the card has a last-year comparison (without ``previous`` it says there is no figure)."""

    title: str
    value: str
    change: str | None = None
    rising: bool | None = None
    note: str = ""
    previous: str | None = None
    better: bool | None = None
    compared: bool = False

    @property
    def tone(self) -> str:
        return {True: "good", False: "bad", None: "flat"}[self.better]


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
    no_last_year: bool = False  # the folder holds no whole previous year: no trend is shown


def _change(now: Decimal | int | None, before: Decimal | int | None, *, points: bool = False) -> tuple[str | None,
                                                                                                      bool | None]:
    """The change against last year as text (percentage points for a share, percent otherwise) and its direction
    (None: no change)."""
    if now is None or before is None:
        return None, None
    if points:
        d = Decimal(now) - Decimal(before)
        return f"{d:+.2f}", None if d == 0 else d > 0
    if before == 0:
        return None, None
    pct = ((Decimal(now) - Decimal(before)) * 100 / Decimal(before)).quantize(Decimal("0.1"))
    return f"{pct:+.1f}%", None if pct == 0 else pct > 0


def _kpi(title: str, value: str, now: Decimal | int | None, before: Decimal | int | None, shown_before: str, *,
         points: bool = False, higher_is_better: bool | None = None, note: str = "") -> Kpi:
    """A card compared with last year: ``before`` None says there is no figure for last year."""
    change, up = _change(now, before, points=points)
    better = None if up is None or higher_is_better is None else up == higher_is_better
    return Kpi(title, value, change, up, note, shown_before if before is not None else None, better, True)


def _count_kpi(t: Callable[[str, str], str], now: int, before: int | None) -> Kpi:
    """Enrollees against the heads last year's settlement counted (None: no last year)."""
    return _kpi(t("参保人数", "Enrollees"), format_count(now), now, before, format_count(before))


def _money_kpi(t: Callable[[str, str], str], title: str, now: int, before: int | None) -> Kpi:
    return _kpi(title, format_money(now), now, before, format_money(before))


def _rate(months: Sequence[figures_of.BurnMonth]) -> Decimal | None:
    spent, prepaid = months[-1].spent_to_date, months[-1].prepaid_to_date
    return (Decimal(spent) * 100 / prepaid).quantize(Decimal("0.1")) if prepaid else None


def _burn_kpi(t: Callable[[str, str], str], months: Sequence[figures_of.BurnMonth],
              last: Sequence[figures_of.BurnMonth] | None) -> Kpi:
    spent, prepaid = months[-1].spent_to_date, months[-1].prepaid_to_date
    now, before = _rate(months), _rate(last) if last else None
    note = (t("已支出", "spent") + f" {format_money(spent)} / " + t("预付", "prepaid") + f" {format_money(prepaid)} "
            + t("元", "yuan"))
    return _kpi(t("预算执行率", "Budget burn"), f"{now:.1f}%" if now is not None else "—", now, before,
                f"{before:.1f}%" if before is not None else "", points=True, note=note)


def _share_kpis(t: Callable[[str, str], str], lang: str, shares: Sequence[figures_of.Share]) -> list[Kpi]:
    out = []
    for s in shares:
        target = (t("目标", "target") + f" {format_number(s.target)}%" if s.target is not None else "")
        met = {True: t("已达标", "met"), False: t("未达标", "not met"), None: ""}[s.meets]
        out.append(_kpi(s.indicator.name_en if lang == "en" else s.indicator.name_zh, f"{format_number(s.value)}%",
                        s.value, s.previous, f"{format_number(s.previous)}%", points=True,
                        higher_is_better=s.indicator.direction == "higher",
                        note=" · ".join(x for x in (target, met) if x)))
    return out


def _score_kpi(t: Callable[[str, str], str], lang: str, score: figures_of.UnitScore) -> Kpi:
    grade = label("grade", score.grade, lang) if score.grade else t("待定", "pending")
    return _kpi(t("考核得分", "Appraisal score"), f"{format_number(score.score)} · {grade}", score.score,
                score.previous, format_number(score.previous), points=True, higher_is_better=True)


def _burn_chart(t: Callable[[str, str], str], months: list[figures_of.BurnMonth], *, prepaid: bool,
                last: list[figures_of.BurnMonth] | None) -> Chart:
    series = [(t("累计支出", "spent so far"), [m.spent_to_date / 100 for m in months])]
    if prepaid:
        series.insert(0, (t("累计预付", "prepaid so far"), [m.prepaid_to_date / 100 for m in months]))
    if last:
        series.append((t("上年累计支出", "last year, spent so far"), [m.spent_to_date / 100 for m in last]))
    title = (t("预算执行：按月累计支出与预付（元）", "Budget burn: spending against prepayments by month (yuan)")
             if prepaid else t("医保基金按月累计支付（元）", "Fund payments by month, cumulative (yuan)"))
    svg = line_chart([str(m.month) for m in months], series, unit=t("（元）", " (yuan)"), title=title,
                     dashed=(len(series) - 1,) if last else ())
    cols = ("month", "prepaid", "spent", "prepaid_to_date", "spent_to_date", "burn_rate", "spent_previous",
            "spent_to_date_previous")

    def rate(m: figures_of.BurnMonth) -> Decimal | None:
        return (Decimal(m.spent_to_date) * 100 / m.prepaid_to_date).quantize(Decimal("0.1")) \
            if m.prepaid_to_date else None

    before: list[figures_of.BurnMonth | None] = list(last) if last else [None] * len(months)
    shown = [[str(m.month), format_money(m.prepaid), format_money(m.spent), format_money(m.prepaid_to_date),
              format_money(m.spent_to_date), format_number(rate(m)) + ("%" if rate(m) is not None else ""),
              format_money(b.spent) if b else t("上年无数据", "no data for last year"),
              format_money(b.spent_to_date) if b else "—"]
             for m, b in zip(months, before, strict=True)]
    raw: list[list[object]] = [[m.month, Decimal(m.prepaid) / 100, Decimal(m.spent) / 100,
                                Decimal(m.prepaid_to_date) / 100, Decimal(m.spent_to_date) / 100,
                                rate(m) if rate(m) is not None else "",
                                Decimal(b.spent) / 100 if b else "", Decimal(b.spent_to_date) / 100 if b else ""]
                               for m, b in zip(months, before, strict=True)]
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
    shown = [[n, format_number(s.value), format_number(s.target),
              format_number(s.previous) if s.previous is not None else t("上年无数据", "no data for last year")]
             for n, s in zip(names, drawn, strict=True)]
    raw: list[list[object]] = [[n, s.value, "" if s.target is None else s.target, "" if s.previous is None
                                else s.previous] for n, s in zip(names, drawn, strict=True)]
    return Chart("shares", title, svg, cols, shown, raw)


def _figures(ctx: Any) -> YearFigures:
    figures: YearFigures | None = ctx.figures.get()
    if figures is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有可用的年度数据 / no year of data loaded")
    return figures


def _spent_by_consortium(figures: YearFigures | None, ids: set[str]) -> dict[str, int]:
    """In-network spending and out-of-network deductions per consortium (what the settlement charges), fen."""
    if figures is None:
        return {}
    return {s.consortium_id: s.in_network_spend + s.out_of_network_deductions
            for s in figures.settlement.consortia if s.consortium_id in ids}


def _consortium_units(db: Session, figures: YearFigures, consortia: Sequence[ConsortiumRow], year: int,
                      appraisal: AppraisalResult | None, last: YearFigures | None) -> list[dict[str, Any]]:
    now, before = head_counts(db, year=year), head_counts(db, year=year - 1)
    ids = {c.consortium_id for c in consortia}
    money = {s.consortium_id: s for s in figures.settlement.consortia if s.consortium_id in ids}
    spent, spent_before = _spent_by_consortium(figures, ids), _spent_by_consortium(last, ids)
    rows = []
    for c in consortia:
        s = money.get(c.consortium_id)
        score = figures_of.unit_score(appraisal, c.consortium_id) if appraisal else None
        previous = (figures_of.enrollees(last, [c.consortium_id]) if last else before.get(c.consortium_id))
        rows.append({"id": c.consortium_id, "name": c.name, "href": f"?consortium={c.consortium_id}", "tier": "",
                     "head_count": now.get(c.consortium_id, 0), "previous": previous,
                     "budget": s.budget.prospective if s else None, "spent": spent.get(c.consortium_id),
                     "spent_previous": spent_before.get(c.consortium_id),
                     "score": score.score if score else None, "grade": score.grade if score else None})
    return rows


def _institution_units(db: Session, figures: YearFigures, consortium_id: str, year: int,
                       appraisal: AppraisalResult | None, last: YearFigures | None) -> list[dict[str, Any]]:
    members = registry.institutions(db, consortium_id=consortium_id)
    now, before = head_counts(db, year=year), head_counts(db, year=year - 1)
    ids = [i.inst_id for i in members]
    paid = figures_of.fund_by_institution(figures, ids)
    paid_before = figures_of.fund_by_institution(last, ids) if last else {}
    rows = []
    for i in members:
        score = figures_of.unit_score(appraisal, i.inst_id) if appraisal else None
        rows.append({"id": i.inst_id, "name": i.name, "href": f"?consortium={consortium_id}&inst={i.inst_id}",
                     "tier": i.tier, "head_count": now.get(i.inst_id), "previous": before.get(i.inst_id),
                     "budget": None, "spent": paid.get(i.inst_id, 0), "spent_previous": paid_before.get(i.inst_id),
                     "score": score.score if score else None, "grade": score.grade if score else None})
    return rows


UNIT_SORTS = ("name", "id", "tier", "head_count", "previous", "budget", "spent", "spent_previous", "score")


def _units_page(rows: list[dict[str, Any]], query: TableQuery, extra: dict[str, object]) -> TablePage[dict[str, Any]]:
    return page_of(rows, query, extra=extra,
                   text=lambda r: f"{r['id']} {r['name']} {label('tier', r['tier'])} {label('tier', r['tier'], 'en')}",
                   keys={k: itemgetter(k) for k in UNIT_SORTS})


def _last_year(ctx: Any) -> YearFigures | None:
    """Last year's own figures, or None (no whole previous year in the folder, or a cache without them)."""
    last = getattr(ctx.figures, "last_year", None)
    found: YearFigures | None = last() if callable(last) else None
    return found


def _view(request: Request, ctx: Any, db: Session, principal: Principal, query: TableQuery,
          consortium: str | None, inst: str | None) -> View:
    lang = lang_of(request)
    t = translator(lang)
    figures = _figures(ctx)
    last = _last_year(ctx)
    appraisal = figures.appraisal
    last_appraisal = last.appraisal if last else None
    mine = consortia_in_scope(db, principal)
    consortia = [c for c in registry.consortia(db) if c.consortium_id in mine]
    year = figures.year
    top = t("全县", "County")
    now = head_counts(db, year=year)
    spent_title = t("医保基金支出（元）", "Fund spending (yuan)")
    last_months: list[figures_of.BurnMonth] | None
    if consortium is None:
        counties = sorted({c.county_code for c in consortia})
        view = View("county", top + (f" {counties[0]}" if len(counties) == 1 else ""), [])
        n_before = figures_of.enrollees(last, mine) if last else None
        view.kpis.append(_count_kpi(t, sum(now.get(c, 0) for c in mine), n_before))
        months = figures_of.burn(figures, mine)
        last_months = figures_of.burn(last, mine) if last else None
        scope = counties[0] if len(counties) == 1 else None
        rows = _consortium_units(db, figures, consortia, year, appraisal, last)
        view.units_kind = "consortium"
        units_extra: dict[str, object] = {}
    else:
        cons = next((c for c in consortia if c.consortium_id == consortium), None)
        if cons is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "不在您的权限范围内 / no such consortium in your scope")
        crumbs = [(top, "/dashboard")]
        if inst is None:
            view = View("consortium", cons.name, crumbs)
            n_before = figures_of.enrollees(last, [consortium]) if last else None
            view.kpis.append(_count_kpi(t, now.get(consortium, 0), n_before))
            months = figures_of.burn(figures, [consortium])
            last_months = figures_of.burn(last, [consortium]) if last else None
            scope = consortium
            rows = _institution_units(db, figures, consortium, year, appraisal, last)
            view.units_kind = "institution"
            units_extra = {"consortium": consortium}
        else:
            member: InstitutionRow | None = next((i for i in registry.institutions(db, consortium_id=consortium)
                                                  if i.inst_id == inst), None)
            if member is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "该医共体无此机构 / no such member institution")
            view = View("institution", member.name, [*crumbs, (cons.name, f"/dashboard?consortium={consortium}")])
            if inst in now:  # last year's designations per institution are not last year's settlement: no trend
                view.kpis.append(Kpi(t("参保人数", "Enrollees"), format_count(now[inst])))
            months = figures_of.institution_burn(figures, inst)
            last_months = figures_of.institution_burn(last, inst) if last else None
            paid = _money_kpi(t, t("医保基金支付（元）", "Paid by the fund (yuan)"), months[-1].spent_to_date,
                              last_months[-1].spent_to_date if last_months else None)
            view.kpis.append(Kpi(paid.title, paid.value, paid.change, paid.rising, label("tier", member.tier, lang),
                                 paid.previous, paid.better, paid.compared))
            scope, rows = inst, []
            units_extra = {}
    if view.level != "institution":
        view.kpis.append(_money_kpi(t, spent_title, months[-1].spent_to_date,
                                    last_months[-1].spent_to_date if last_months else None))
        view.kpis.append(_burn_kpi(t, months, last_months))
    view.charts.append(_burn_chart(t, months, prepaid=view.level != "institution", last=last_months))
    if last is None:
        view.no_last_year = True
    if appraisal is None:
        view.problem = figures.appraisal_problem or t("没有可用的考核结果", "no appraisal available")
    elif scope is not None:
        if view.level != "institution":
            found = figures_of.shares(appraisal, scope, last_appraisal)
            view.kpis.extend(_share_kpis(t, lang, found))
            chart = _shares_chart(t, lang, found)
            if chart is not None:
                view.charts.append(chart)
        view.score = figures_of.unit_score(appraisal, scope, last_appraisal)
        if view.score.score is not None:
            view.kpis.append(_score_kpi(t, lang, view.score))
        view.grid = figures_of.indicator_grid(appraisal, scope, last_appraisal)
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
                 g.value, g.target, g.previous, g.points, g.weight))] for g in view.grid), lang=lang_of(request))
    if chart == "units":
        cols = ("unit_id", "name", "tier", "head_count", "head_count_previous", "budget", "spent", "spent_previous",
                "score", "grade")
        return csv_response(f"{where}.csv", cols, (
            [r["id"], r["name"], label("tier", r["tier"]) if r["tier"] else "", r["head_count"], r["previous"],
             "" if r["budget"] is None else Decimal(r["budget"]) / 100,
             "" if r["spent"] is None else Decimal(r["spent"]) / 100,
             "" if r["spent_previous"] is None else Decimal(r["spent_previous"]) / 100, r["score"],
             label("grade", r["grade"]) if r["grade"] else ""] for r in view.unit_rows), lang=lang_of(request))
    found = next((c for c in view.charts if c.name == chart), None)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "此页没有该图表 / no such chart on this page")
    return csv_response(f"{where}.csv", found.columns, found.raw, lang=lang_of(request))
