"""The simulator's pages (试点模拟): an official picks scenarios and reads the comparison.

``/simulator`` offers the shipped scenarios and the loaded folder's own (each with what it changes), a form (two
scenarios or more, years 1-10, replicates 1-20, a seed; at most ``runs.MAX_RUN_SIZE`` scenario-years x replicates)
and the earlier runs. Starting a run (POST, the page session's CSRF token) answers at once with 303 to the run's
page, which refreshes itself while the run goes on and then shows, per scenario and year, the mean with its band
across replicates (the report's figures: ``report.summary_rows``) as charts and tables, each consortium's surplus and
heads, and the downloads. For the health commission, the insurance bureau and administrators (``runs.RUN_ROLES``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yigongti.core.money import format_yuan
from yigongti.platform.accounts import Principal
from yigongti.platform.audit import actor_label
from yigongti.platform.charts import line_chart
from yigongti.platform.deps import ContextDep, DbSession, require_roles, run_use_case
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of, translator
from yigongti.platform.pages import CheckedCsrf, render, templates
from yigongti.simulator import runs
from yigongti.simulator.domain import (
    ALL_COUNTIES,
    CONSORTIUM_METRICS,
    METRICS,
    OOP_GOAL,
    OOP_WHO,
    SummaryRow,
    summarise_consortia,
)
from yigongti.simulator.report import MONEY_METRICS, band_text, report_xlsx, summary_rows, value_text
from yigongti.simulator.service import result_tables

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
templates.env.globals["simulator_roles"] = frozenset(r.value for r in runs.RUN_ROLES)  # who gets the menu entry

Runner = Annotated[Principal, require_roles(*runs.RUN_ROLES)]
RunId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Text = Annotated[str, Form(max_length=20)]

SHOWN = ("fund_balance", "in_county_admission_share", "primary_visit_share", "out_of_pocket_share")
"""The figures compared on the run's page, each a chart and a table."""
_LABEL = {m: (zh, en) for m, zh, en in METRICS}
_MONEY = MONEY_METRICS
REFRESH_SECONDS = 3


def _requester(lang: str) -> Any:
    """``who(actor)`` for the templates: a run's requester with the role's label (``platform.audit.actor_label``)."""
    return lambda actor: actor_label(actor, lang)


def _folder(ctx: Any) -> Any:
    return ctx.figures.folder if ctx.figures is not None else None


@router.get("/simulator", response_class=HTMLResponse)
def simulator_page(request: Request, ctx: ContextDep, db: DbSession, principal: Runner) -> Response:
    """The scenarios, the form and the earlier runs."""
    offered, problem = runs.offered_scenarios(_folder(ctx))
    earlier = run_use_case(lambda: runs.recent_runs(db, principal, now=ctx.clock.now()))
    return render(request, ctx, "simulator.html", principal, offered=offered, problem=problem, runs=earlier,
                  who=_requester(lang_of(request)),
                  busy=runs.is_busy(), folder=_folder(ctx), max_years=runs.MAX_YEARS,
                  max_replicates=runs.MAX_REPLICATES, max_size=runs.MAX_RUN_SIZE)


@router.post("/simulator/runs")
def start(ctx: ContextDep, db: DbSession, principal: Runner, _csrf: CheckedCsrf,
          scenario: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006 - FastAPI copies the default
          years: Text = "1", replicates: Text = "1", seed: Text = "1") -> Response:
    """Start a run: 303 to its page at once; a bad field is a 422 page naming it, a run going on in this worker a
    409 page."""
    offered, _ = runs.offered_scenarios(_folder(ctx))
    params = run_use_case(lambda: runs.parse_run_request(offered, [s[:200] for s in scenario], years, replicates,
                                                         seed))
    run_id = run_use_case(lambda: runs.start_run(db, ctx.sessions, principal, _folder(ctx), params,
                                                 clock=ctx.clock.now))
    return RedirectResponse(f"/simulator/runs/{run_id}", status.HTTP_303_SEE_OTHER)


def _band(r: SummaryRow | None) -> str:
    """The report's band text (one replicate: its value alone)."""
    if r is None:
        return "—"
    return value_text(r.metric, r.mean) if r.replicates == 1 else band_text(r)


def _comparison(view: runs.RunView, lang: str) -> dict[str, Any]:
    """The charts and tables of a finished run."""
    t = translator(lang)
    result = view.result
    assert result is not None
    rows = summary_rows(result)
    county = ALL_COUNTIES if len(result.counties) > 1 else (result.counties[0] if result.counties else "")
    observed = result.observed[0] if len(result.observed) == 1 else None
    years = sorted({r.year for r in rows})
    by = {(r.scenario, r.year, r.metric): r for r in rows if r.county == county}
    labels = ([str(observed.year)] if observed is not None else []) + [str(y) for y in years]
    blocks = []
    for m in SHOWN:
        scale = 0.01 if m in _MONEY else 100.0  # fen -> yuan; shares in %
        series, bands = [], []
        for sc in result.scenarios:
            mine = [by.get((sc.name, y, m)) for y in years]
            mean = [r.mean * scale if r else 0.0 for r in mine]
            low = [r.p5 * scale if r else 0.0 for r in mine]
            high = [r.p95 * scale if r else 0.0 for r in mine]
            if observed is not None:  # the observed year starts every line (the balance from 0)
                start = 0.0 if m == "fund_balance" else observed.metric(m) * scale
                mean, low, high = [start, *mean], [start, *low], [start, *high]
            series.append((sc.name, mean))
            bands.append((low, high) if result.replicates > 1 else None)
        lines = [(t(f"目标 {OOP_GOAL:.0%}", f"goal {OOP_GOAL:.0%}"), OOP_GOAL * 100),
                 (t(f"世卫组织建议 {OOP_WHO:.0%}", f"WHO {OOP_WHO:.0%}"), OOP_WHO * 100)] \
            if m == "out_of_pocket_share" else []
        zh, en = _LABEL[m]
        unit = "" if m in _MONEY else t("（%）", " (%)")  # the money labels say yuan
        chart = line_chart(labels, series, unit="", title=t(zh, en) + unit, bands=bands, lines=lines,
                           width=720, height=300)
        table = [(y, [_band(by.get((sc.name, y, m))) for sc in result.scenarios]) for y in years]
        observed_cell = (format_yuan(0) if m == "fund_balance" else value_text(m, observed.metric(m))) \
            if observed is not None else None
        blocks.append({"metric": m, "title": t(zh, en) + unit, "chart": chart, "table": table,
                       "observed": observed_cell, "reference": bool(lines)})
    cons = summarise_consortia(result.consortia)
    cby = {(r.scenario, r.year, r.consortium_id, r.metric): r for r in cons}
    names = {c.consortium_id: c.name for c in result.consortia}
    consortia = [{"scenario": sc, "year": y, "consortium_id": cid, "name": names.get(cid, ""),
                  "cells": [_band(cby.get((sc.name, y, cid, metric))) for metric, _zh, _en in
                            CONSORTIUM_METRICS]}
                 for sc in result.scenarios for y in years for cid in sorted(names)]
    return {"blocks": blocks, "consortia": consortia, "observed": observed,
            "consortium_heads": [t(zh, en) for _m, zh, en in CONSORTIUM_METRICS]}


@router.get("/simulator/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, ctx: ContextDep, db: DbSession, principal: Runner, run_id: RunId) -> Response:
    """A run: its progress (the page refreshes itself) or its comparison."""
    view = run_use_case(lambda: runs.run_of(db, principal, run_id, now=ctx.clock.now()))
    lang = lang_of(request)
    comparison = _comparison(view, lang) if view.result is not None else None
    return render(request, ctx, "simulator_run.html", principal, run=view, comparison=comparison, who=_requester(lang),
                  refresh=None if view.finished else REFRESH_SECONDS)


@router.get("/simulator/runs/{run_id}/{name}.csv")
def run_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Runner, run_id: RunId,
            name: str) -> Response:
    """results.csv or consortia.csv of a finished run (money in yuan, as the command writes them)."""
    view = run_use_case(lambda: runs.run_of(db, principal, run_id, now=ctx.clock.now()))
    if view.result is None or name not in ("results", "consortia"):
        raise _not_here()
    head, rows = result_tables(view.result)[f"{name}.csv"]
    return csv_response(f"simulation-{run_id}-{name}.csv", head, rows, lang=lang_of(request))


@router.get("/simulator/runs/{run_id}/simulation.xlsx")
def run_xlsx(request: Request, ctx: ContextDep, db: DbSession, principal: Runner, run_id: RunId) -> Response:
    """The run's workbook (the command's ``simulation.xlsx``)."""
    view = run_use_case(lambda: runs.run_of(db, principal, run_id, now=ctx.clock.now()))
    if view.result is None:
        raise _not_here()
    return Response(report_xlsx(view.result),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="simulation-{run_id}.xlsx"',
                             "Cache-Control": "no-store"})


def _not_here() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND,
                         "没有此下载（模拟尚未完成或无此文件）/ no such download (the run is not done, or no such "
                         "file)")
