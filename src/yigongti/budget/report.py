"""Settlement reports (清算报告) per consortium: a self-contained HTML page (charts as PNG data URIs, no CDN) and an
Excel workbook. Both are byte-identical for the same settlement.

Sections: budget vs spending by month, where the money went (own tiers vs outside hospitals), the top diagnoses of
out-of-network spending, the balance and how the amount to share is split. Chart labels are Chinese and English when
a Chinese font is installed (:func:`cjk_font`), else English; headings and tables are Chinese and English.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from yigongti.budget.domain import ConsortiumSettlement
from yigongti.budget.service import format_heads
from yigongti.core.money import format_yuan
from yigongti.core.reports import CJK_FONTS, chart_png, chart_text, cjk_font, pyplot
from yigongti.core.reports import deterministic_zip as _deterministic_zip
from yigongti.datafolder.folder import neutralise_workbook
from yigongti.registry.domain import Tier

__all__ = ["CJK_FONTS", "chart_png", "chart_text", "cjk_font", "consortium_report_html", "consortium_report_xlsx",
           "pyplot", "write_reports"]

def _yuan(fen: int) -> float:
    return fen / 100  # for plotting only; every printed figure uses format_yuan


def _rows(table: Any, consortium_id: str) -> list[dict[str, Any]]:
    return [r for r in table.to_pylist() if r["consortium_id"] == consortium_id]


def _figures(result: Any, s: ConsortiumSettlement) -> dict[str, Any]:
    c = s.consortium_id
    months = list(range(1, len(s.budget.prepayments) + 1))
    spend = {m: (0, 0) for m in months}
    for r in _rows(result.by_month, c):
        spend[int(r["month"])] = (int(r["in_network"]), int(r["out_of_network"]))
    return {
        "months": months,
        "prepaid": list(s.budget.prepayments),
        "in": [spend.get(m, (0, 0))[0] for m in months],
        "out": [spend.get(m, (0, 0))[1] for m in months],
        "tiers": _rows(result.by_tier, c),
        "top": _rows(result.top_diagnoses, c),
        "alloc": [a for a in result.allocations if a.consortium_id == c],
    }


def _charts(f: dict[str, Any]) -> dict[str, bytes]:
    def monthly(ax: Any) -> None:
        x = f["months"]
        ax.bar([m - 0.2 for m in x], [_yuan(v) for v in f["prepaid"]], width=0.4,
               label=chart_text("预付", "prepayment"), color="#8fb8de")
        ax.bar([m + 0.2 for m in x], [_yuan(v) for v in f["in"]], width=0.4,
               label=chart_text("医共体内", "in-network"), color="#2e7d32")
        ax.bar([m + 0.2 for m in x], [_yuan(v) for v in f["out"]], width=0.4, bottom=[_yuan(v) for v in f["in"]],
               label=chart_text("医共体外", "out-of-network"), color="#c62828")
        ax.set_xticks(x)
        ax.set_xlabel(chart_text("月份", "month"))
        ax.set_ylabel(chart_text("元", "yuan"))
        ax.set_title(chart_text("逐月预算与支出", "Budget vs spending by month"))
        ax.legend(fontsize=8)

    def tiers(ax: Any) -> None:
        rows = f["tiers"]
        ax.bar([r["tier"] for r in rows], [_yuan(r["fund_paid"]) for r in rows],
               color=["#c62828" if r["tier"] == Tier.OUTSIDE else "#2e7d32" for r in rows])
        ax.set_ylabel(chart_text("元", "yuan"))
        ax.set_title(chart_text("基金支付：本医共体各级与外部医院", "Fund payments: own tiers vs outside hospitals"))

    def top(ax: Any) -> None:
        rows = list(reversed(f["top"]))
        ax.barh([r["diagnosis"] or "(none)" for r in rows], [_yuan(r["fund_paid"]) for r in rows], color="#c62828")
        ax.set_xlabel(chart_text("元", "yuan"))
        ax.set_title(chart_text("外转支出最多的诊断", "Top diagnoses of out-of-network spending"))

    def split(ax: Any) -> None:
        rows = f["alloc"]
        ax.bar([a.inst_id for a in rows], [_yuan(a.amount) for a in rows],
               color=["#2e7d32" if a.amount >= 0 else "#c62828" for a in rows])
        ax.axhline(0, color="black", linewidth=0.6)
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
        ax.set_ylabel(chart_text("元", "yuan"))
        ax.set_title(chart_text("结余（超支）内部分配", "Internal split of the amount to share"))

    return {"monthly": chart_png(monthly), "tiers": chart_png(tiers), "top": chart_png(top),
            "split": chart_png(split, size=(7.0, 3.8))}


def _summary(s: ConsortiumSettlement) -> list[tuple[str, str]]:
    b = s.budget
    return [
        ("参保人数 / enrollees", str(s.enrollees)),
        ("标准人头 / standard heads", format_heads(b.standard_heads)),
        ("人头标准 / rate per head", format_yuan(b.rate)),
        ("总额预算 / gross budget", format_yuan(b.gross)),
        ("绩效预留 / P4P reserve", format_yuan(b.reserve)),
        ("预付预算 / prospective budget", format_yuan(b.prospective)),
        ("医共体内支出 / in-network spending", format_yuan(s.in_network_spend)),
        ("医共体外扣减 / out-of-network deductions", format_yuan(s.out_of_network_deductions)),
        ("结余(超支) / balance", format_yuan(s.balance)),
        ("结余留用 / retained surplus", format_yuan(s.retained_surplus)),
        ("基金分担超支 / overspend borne by the fund", format_yuan(s.fund_overspend_share)),
        ("医共体承担超支 / overspend borne by the consortium", format_yuan(s.consortium_overspend)),
        ("考核得分 / score", "-" if s.score is None else f"{s.score.normalize():f}"),
        ("考核等级 / grade", s.grade),
        ("绩效支付 / P4P paid", format_yuan(s.p4p_paid)),
        ("待分配金额 / amount to share", format_yuan(s.amount_to_share)),
        ("公共卫生经费（专款专用） / public health (earmarked)", format_yuan(s.public_health)),
    ]


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def consortium_report_html(result: Any, s: ConsortiumSettlement) -> str:
    """The HTML report of one consortium."""
    f = _figures(result, s)
    charts = _charts(f)

    def img(key: str, alt: str) -> str:
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(charts[key]).decode()}">'

    name = result.names.get(s.consortium_id, "")
    monthly_rows = [(f"{result.year}-{m:02d}", format_yuan(p), format_yuan(i), format_yuan(o))
                    for m, p, i, o in zip(f["months"], f["prepaid"], f["in"], f["out"], strict=True)]
    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{html.escape(s.consortium_id)} {result.year} 年终清算报告 / settlement report</title>",
        ("<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}img{max-width:100%}</style></head><body>"),
        f"<h1>{html.escape(name)} {html.escape(s.consortium_id)}: {result.year} 年终清算 / year-end settlement</h1>",
        f"<p>输入指纹 / inputs hash: <code>{html.escape(result.inputs_hash)}</code></p>",
        "<h2>清算结果 / settlement</h2>", _table(["项目 / item", "金额 / value"], _summary(s)),
        "<h2>按月预算与支出 / budget vs spending by month</h2>", img("monthly", "budget vs spending by month"),
        _table(["月份 / month", "预付 / prepayment", "医共体内 / in-network", "医共体外 / out-of-network"],
               monthly_rows),
        "<h2>资金去向 / where the money went</h2>", img("tiers", "own tiers vs outside hospitals"),
        _table(["层级 / tier", "基金支付 / fund paid", "单据数 / claims"],
               [(r["tier"], format_yuan(r["fund_paid"]), str(r["claims"])) for r in f["tiers"]]),
        "<h2>医共体外支出主要病种 / top diagnoses of out-of-network spending</h2>", img("top", "top diagnoses"),
        _table(["排名 / rank", "诊断 / diagnosis", "基金支付 / fund paid", "单据数 / claims"],
               [(str(r["rank"]), r["diagnosis"], format_yuan(r["fund_paid"]), str(r["claims"])) for r in f["top"]]),
        "<h2>结余分配 / the split of the amount to share</h2>", img("split", "internal split"),
        _table(["机构 / institution", "层级 / tier", "金额 / amount", "得分 / score",
                "公共卫生经费 / public health", "绩效工资总量上限 / performance pay ceiling"],
               [(a.inst_id, a.tier, format_yuan(a.amount), "-" if a.score is None else f"{a.score.normalize():f}",
                 format_yuan(a.public_health), format_yuan(a.performance_pay_ceiling)) for a in f["alloc"]]),
        "</body></html>", "",
    ]
    return "\n".join(parts)


def consortium_report_xlsx(result: Any, s: ConsortiumSettlement) -> bytes:
    """The Excel workbook of one consortium: summary, monthly (with a chart), tiers, top diagnoses, split.
    Money cells are numbers in yuan with 2 decimals."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    f = _figures(result, s)
    wb = Workbook()
    ws = wb.active
    ws.title = "summary 清算"
    for k, v in _summary(s):
        ws.append([k, v])
    ws.column_dimensions["A"].width = 44

    def money(fen: int) -> float:
        return round(fen / 100, 2)  # cell value for Excel; exact text stays in the CSV outputs

    m = wb.create_sheet("monthly 按月")
    m.append(["month 月份", "prepayment 预付", "in-network 医共体内", "out-of-network 医共体外"])
    for mo, p, i, o in zip(f["months"], f["prepaid"], f["in"], f["out"], strict=True):
        m.append([f"{result.year}-{mo:02d}", money(p), money(i), money(o)])
    chart = BarChart()
    chart.title = "Budget vs spending by month"
    chart.add_data(Reference(m, min_col=2, max_col=4, min_row=1, max_row=len(f["months"]) + 1), titles_from_data=True)
    chart.set_categories(Reference(m, min_col=1, min_row=2, max_row=len(f["months"]) + 1))
    m.add_chart(chart, "F2")
    t = wb.create_sheet("tiers 资金去向")
    t.append(["tier 层级", "fund paid 基金支付", "claims 单据数"])
    for r in f["tiers"]:
        t.append([r["tier"], money(r["fund_paid"]), r["claims"]])
    d = wb.create_sheet("top diagnoses 病种")
    d.append(["rank 排名", "diagnosis 诊断", "fund paid 基金支付", "claims 单据数"])
    for r in f["top"]:
        d.append([r["rank"], r["diagnosis"], money(r["fund_paid"]), r["claims"]])
    a = wb.create_sheet("split 分配")
    a.append(["institution 机构", "tier 层级", "amount 金额", "score 得分", "public health 公共卫生经费",
              "performance pay ceiling 绩效工资总量上限"])
    for al in f["alloc"]:
        a.append([al.inst_id, al.tier, money(al.amount), None if al.score is None else f"{al.score.normalize():f}",
                  money(al.public_health), money(al.performance_pay_ceiling)])
    for sheet in wb.worksheets:
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, float):
                    cell.number_format = "#,##0.00"
    neutralise_workbook(wb)  # no text cell becomes a formula (公式注入)
    buf = io.BytesIO()
    wb.save(buf)
    return _deterministic_zip(buf.getvalue(), stamp=f"{result.year}-12-31T00:00:00Z")


def write_reports(result: Any, folder: Path) -> list[Path]:
    """``settlement-<consortium>.html`` and ``.xlsx`` for every consortium of ``result`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for s in result.consortia:
        html_path = folder / f"settlement-{s.consortium_id}.html"
        html_path.write_text(consortium_report_html(result, s), encoding="utf-8")
        xlsx_path = folder / f"settlement-{s.consortium_id}.xlsx"
        xlsx_path.write_bytes(consortium_report_xlsx(result, s))
        out += [html_path, xlsx_path]
    return out
