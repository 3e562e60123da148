"""The simulation report (模拟报告): summary bands, charts, a self-contained HTML page and an Excel workbook.

Across replicates (repeated seeds) every figure has a mean and a 5th-95th percentile band (``domain.summarise``);
the charts draw the mean of each scenario over the years with its band shaded, for every county pooled
(``domain.pooled``); the pilot table puts each county's last simulated year side by side by scenario, as a health
commission would put it in a report. Same result, same bytes.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from yigongti.core.labels import labelled
from yigongti.core.money import format_yuan
from yigongti.core.reports import chart_png, chart_text, chart_title, deterministic_zip, legend_outside, plain_axis
from yigongti.datafolder.folder import neutralise_workbook
from yigongti.simulator.domain import (
    ALL_COUNTIES,
    METRICS,
    OOP_GOAL,
    OOP_WHO,
    CountyYear,
    SimulationResult,
    SummaryRow,
    pooled,
    summarise,
)

__all__ = ["CHARTED", "MONEY_METRICS", "PILOT_METRICS", "SHARE_METRICS", "band_text", "pilot_table", "report_html",
           "report_xlsx", "summary_rows", "value_text", "write_report"]

CHARTED = ("fund_balance", "primary_visit_share", "in_county_admission_share", "out_of_pocket_share", "heads_moved")
"""The figures charted over the years."""
PILOT_METRICS = ("fund_result", "in_county_admission_share", "primary_visit_share", "out_of_pocket_share")
"""The figures of the pilot table (each county's last simulated year)."""
_LABEL = {m: (zh, en) for m, zh, en in METRICS}
MONEY_METRICS = _MONEY = ("fund_balance", "fund_result")
SHARE_METRICS = _SHARE = ("in_county_admission_share", "primary_visit_share", "out_of_pocket_share")


def summary_rows(result: SimulationResult) -> list[SummaryRow]:
    """Bands of every county and of every county pooled (when there are several)."""
    rows = summarise(result.rows)
    if len(result.counties) > 1:
        rows += summarise(pooled(result.rows))
    return rows


def value_text(metric: str, v: float) -> str:
    """One figure as shown in the report and on the platform's page: money (fen) in yuan, shares in %, heads whole."""
    if metric in _MONEY or metric == "surplus":
        return format_yuan(round(v))
    if metric in _SHARE:
        return f"{v:.1%}"
    return f"{v:,.0f}" if metric == "heads" else f"{v:,.2f}"


def band_text(r: SummaryRow) -> str:
    """``mean [p5, p95]`` of a summary row, as shown in the report and on the platform's page."""
    return f"{value_text(r.metric, r.mean)} [{value_text(r.metric, r.p5)}, {value_text(r.metric, r.p95)}]"


def _chart(result: SimulationResult, rows: list[SummaryRow], county: str, metric: str,
           observed: CountyYear | None) -> bytes:
    def draw(ax: Any) -> None:
        for sc in result.scenarios:
            mine = sorted((r for r in rows if r.county == county and r.scenario == sc.name and r.metric == metric),
                          key=lambda r: r.year)
            if not mine:
                continue
            scale = 1e-6 if metric in _MONEY else (100.0 if metric in _SHARE else 1.0)  # fen -> 10,000 yuan
            years = [r.year for r in mine]
            mean = [r.mean * scale for r in mine]
            if observed is not None and metric not in ("fund_balance", "heads_moved"):
                years = [observed.year, *years]
                mean = [observed.metric(metric) * scale, *mean]
            line = ax.plot(years, mean, marker="o", label=sc.title)
            ax.fill_between([r.year for r in mine], [r.p5 * scale for r in mine], [r.p95 * scale for r in mine],
                            color=line[0].get_color(), alpha=0.15)
        if metric == "out_of_pocket_share":  # the goal and the WHO's advice, dashed
            for value, zh_line, en_line in ((OOP_GOAL, "目标", "goal"), (OOP_WHO, "世卫组织建议", "WHO")):
                ax.axhline(value * 100, color="#1d2430", linestyle="--", linewidth=0.8)
                ax.annotate(chart_text(f"{zh_line} {value:.0%}", f"{en_line} {value:.0%}"), (1, value * 100),
                            xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=7)
        zh, en = _LABEL[metric]
        unit = ("万元", "10k yuan") if metric in _MONEY else (
            ("百分比", "%") if metric in _SHARE else ("人", "persons"))
        ax.set_title(chart_title(zh, en), fontsize=10)
        ax.set_ylabel(chart_text(unit[0], unit[1]))
        ax.set_xticks(sorted({r.year for r in rows} | ({observed.year} if observed else set())))
        plain_axis(ax, decimals=1 if metric in _SHARE else 0)
        legend_outside(ax, columns=2)

    return chart_png(draw)


def pilot_table(result: SimulationResult, rows: list[SummaryRow]) -> tuple[list[str], list[list[str]]]:
    """Each county (and all pooled) x scenario: the last simulated year's mean [5th, 95th] of PILOT_METRICS."""
    last = max((r.year for r in rows), default=0)
    head = ["县 county", "情景 scenario", *(f"{_LABEL[m][0]} {_LABEL[m][1]}" for m in PILOT_METRICS)]
    out = []
    counties = [*result.counties, *([ALL_COUNTIES] if len(result.counties) > 1 else [])]
    by = {(r.county, r.scenario, r.metric): r for r in rows if r.year == last}
    for c in counties:
        for sc in result.scenarios:
            cells = [band_text(by[(c, sc.name, m)]) if (c, sc.name, m) in by else "-" for m in PILOT_METRICS]
            out.append([c, sc.title, *cells])
    return head, out


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], scenarios: Sequence[str] | None = None,
           table_id: str = "") -> str:
    """An HTML table; ``scenarios``: each row's scenario name (``data-scenario``, for the scenario picker)."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    keys = scenarios if scenarios is not None else [None] * len(rows)
    body = "".join(("<tr>" if k is None else f'<tr data-scenario="{html.escape(k)}">')
                   + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r, k in zip(rows, keys,
                                                                                                      strict=True))
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


_PICK_SCRIPT = """<script>
document.querySelectorAll('#pick input').forEach(function (box) {
  box.addEventListener('change', function () {
    var on = {};
    document.querySelectorAll('#pick input').forEach(function (b) { on[b.value] = b.checked; });
    document.querySelectorAll('#compare tbody tr').forEach(function (tr) {
      tr.hidden = !on[tr.dataset.scenario];
    });
  });
});
</script>"""


def _picker(result: SimulationResult) -> str:
    """Checkboxes, one per scenario: the comparison table shows the scenarios ticked (选择情景对比)."""
    boxes = "".join(f'<label><input type="checkbox" name="scenario" value="{html.escape(s.name)}" checked> '
                    f"{html.escape(s.title)}</label> " for s in result.scenarios)
    return f'<fieldset id="pick"><legend>选择对比的情景 / Scenarios compared</legend>{boxes}</fieldset>'


def report_html(result: SimulationResult) -> str:
    """The report page: what was run, the pilot table, the charts with their bands and each county's observed
    year."""
    rows = summary_rows(result)
    county = ALL_COUNTIES if len(result.counties) > 1 else result.counties[0]
    observed = result.observed[0] if len(result.observed) == 1 else (
        pooled(result.observed)[0] if result.observed else None)
    charts = "".join(
        f'<figure><img alt="{html.escape(_LABEL[m][1])}" src="data:image/png;base64,'
        f'{base64.b64encode(_chart(result, rows, county, m, observed)).decode()}"></figure>' for m in CHARTED)
    head, table = pilot_table(result, rows)
    names = [s.name for s in result.scenarios] * (len(table) // max(1, len(result.scenarios)))  # county by scenario
    scen = [[s.name, s.title, labelled("payment", s.payment), "是 yes" if s.merge_consortia else "否 no"]
            for s in result.scenarios]
    obs = [[o.county, str(o.year), f"{o.visits_per_person:.2f}", f"{o.admissions_per_100:.1f}",
            f"{o.primary_visit_share:.1%}", f"{o.in_county_admission_share:.1%}", f"{o.out_of_pocket_share:.1%}"]
           for o in result.observed]
    return "\n".join([
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        "<title>试点模拟报告 Pilot simulation</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2rem .4rem;font-size:.85rem}img{max-width:100%}</style></head><body>",
        "<h1>试点模拟报告 / Pilot simulation</h1>",
        f"<p>县 counties {len(result.counties)}；年数 years {result.years}；重复 replicates {result.replicates}；"
        f"随机种子 seed {result.seed}。区间为各次重复的第 5 至第 95 百分位 / bands: 5th-95th percentile across "
        "replicates.</p>",
        "<h2>情景 / Scenarios</h2>",
        _table(["名称 name", "说明 label", "支付方式 payment", "合并医共体 merged"], scen),
        f"<h2>末年对比 / Last year compared ({max((r.year for r in rows), default='-')})</h2>",
        _picker(result),
        _table(head, table, names, "compare"),
        "<h2>逐年变化 / Year by year</h2>", charts,
        "<h2>观察年 / The observed year</h2>",
        _table(["县 county", "年度 year", "人均门诊 visits per person", "每百人住院 admissions per 100",
                "基层门诊占比 primary share", "县域内住院占比 in-county share", "个人自付占比 out-of-pocket"], obs),
        _PICK_SCRIPT, "</body></html>", ""])


def _cell(metric: str, v: float) -> Decimal | float:
    return Decimal(round(v)) / 100 if metric in _MONEY else round(v, 6)


def report_xlsx(result: SimulationResult) -> bytes:
    """The workbook: summary bands, the pilot table, every result row, consortia, the observed years, scenarios.
    Money in yuan as numbers, shares as numbers formatted as percentages."""
    from openpyxl import Workbook

    rows = summary_rows(result)
    wb = Workbook()
    ws = wb.active
    ws.title = "summary 汇总"
    ws.append(["county 县", "scenario 情景", "year 年度", "metric 指标", "mean 均值", "p5 第5百分位",
               "p95 第95百分位", "replicates 重复次数"])
    for r in rows:
        zh, en = _LABEL[r.metric]
        ws.append([r.county, r.scenario, r.year, f"{zh} {en}", _cell(r.metric, r.mean), _cell(r.metric, r.p5),
                   _cell(r.metric, r.p95), r.replicates])
        fmt = "#,##0.00" if r.metric in _MONEY else ("0.0%" if r.metric in _SHARE else "#,##0.00")
        for col in (5, 6, 7):
            ws.cell(row=ws.max_row, column=col).number_format = fmt
    p = wb.create_sheet("pilot 试点对比")  # the pilot table as numbers: mean, 5th and 95th percentile each
    last = max((r.year for r in rows), default=0)
    p.append(["县 county", "情景 scenario", *(f"{_LABEL[m][0]} {_LABEL[m][1]} {q}" for m in PILOT_METRICS
                                              for q in ("mean", "p5", "p95"))])
    by = {(r.county, r.scenario, r.metric): r for r in rows if r.year == last}
    for county in [*result.counties, *([ALL_COUNTIES] if len(result.counties) > 1 else [])]:
        for sc in result.scenarios:
            cells: list[Decimal | float | None] = []
            for m in PILOT_METRICS:
                b = by.get((county, sc.name, m))
                cells += [None, None, None] if b is None else [_cell(m, b.mean), _cell(m, b.p5), _cell(m, b.p95)]
            p.append([county, sc.title, *cells])
    r_ws = wb.create_sheet("results 结果")
    r_ws.append(["county", "scenario", "payment", "replicate", "year", "persons", "fund_income", "fund_outlay",
                 "fund_result", "fund_balance", "in_county_admission_share", "primary_visit_share",
                 "out_of_pocket_share", "heads_moved"])
    for y in [*result.observed, *result.rows]:
        r_ws.append([y.county, y.scenario, y.payment, y.replicate, y.year, y.persons,
                     *(Decimal(v) / 100 for v in (y.fund_income, y.fund_outlay, y.fund_result, y.fund_balance)),
                     round(y.in_county_admission_share, 6), round(y.primary_visit_share, 6),
                     round(y.out_of_pocket_share, 6), y.heads_moved])
    c_ws = wb.create_sheet("consortia 医共体")
    c_ws.append(["county", "scenario", "replicate", "year", "consortium_id", "name", "heads", "heads_in",
                 "heads_out", "budget", "spending", "balance", "surplus", "p4p_paid", "score", "grade"])
    for c in result.consortia:
        c_ws.append([c.county, c.scenario, c.replicate, c.year, c.consortium_id, c.name, c.heads, c.heads_in,
                     c.heads_out, *(Decimal(v) / 100 for v in (c.budget, c.spending, c.balance, c.surplus,
                                                                c.p4p_paid)), c.score, c.grade])
    s_ws = wb.create_sheet("scenarios 情景")
    s_ws.append(["name", "label", "payment", "merge_consortia", "policy", "behaviour"])
    for sc in result.scenarios:
        s_ws.append([sc.name, sc.title, labelled("payment", sc.payment), sc.merge_consortia, str(sc.policy),
                     sc.behaviour.model_dump_json()])
    for sheet in wb.worksheets:
        for letter in "ABCDEFGHIJKLMN":
            sheet.column_dimensions[letter].width = 18
    neutralise_workbook(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return deterministic_zip(buf.getvalue(), stamp="2000-01-01T00:00:00Z")


def write_report(result: SimulationResult, out: Path) -> list[Path]:
    """summary.csv, report.html and simulation.xlsx into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = summary_rows(result)
    summary = out / "summary.csv"
    with summary.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["county", "scenario", "year", "metric", "mean", "p5", "p95", "replicates"])
        for r in rows:  # money in yuan, as in results.csv
            k = 100.0 if r.metric in _MONEY else 1.0
            w.writerow([r.county, r.scenario, r.year, r.metric, f"{r.mean / k:.6f}", f"{r.p5 / k:.6f}",
                        f"{r.p95 / k:.6f}", r.replicates])
    page = out / "report.html"
    page.write_text(report_html(result), encoding="utf-8")
    book = out / "simulation.xlsx"
    book.write_bytes(report_xlsx(result))
    return [summary, page, book]
