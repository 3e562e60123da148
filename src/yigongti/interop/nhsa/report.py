"""The fund comparison report (医保基金支付对比报告): our fund payment against the national platform's, per benefit
rule, per institution and per institution and rule, with the claims that differ most; a self-contained HTML page
(the chart as a PNG data URI, no CDN) and an Excel workbook, both byte-identical for the same comparison. Chinese
first, English beside it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from yigongti.core.labels import format_count, format_money, label
from yigongti.core.reports import (
    PRINT_WIDTH_IN,
    chart_png,
    chart_text,
    chart_title,
    cjk_font,
    legend_outside,
    plain_axis,
    wan_yuan,
)
from yigongti.core.reports import deterministic_zip as _deterministic_zip
from yigongti.datafolder.folder import neutralise_workbook
from yigongti.interop.nhsa.service import COMPARISON_FILE, Comparison, FundGroup

__all__ = ["comparison_html", "comparison_xlsx", "write_comparison_reports"]

_HEAD = ["claims 笔数", "differing 不同笔数", "platform fund 平台基金支付", "our fund 本平台基金支付",
         "difference 差额"]


def _totals(groups: Sequence[FundGroup], key: str) -> list[FundGroup]:
    out: dict[str, FundGroup] = {}
    for g in groups:
        k = getattr(g, key)
        t = out.setdefault(k, FundGroup(g.inst_id if key == "inst_id" else "", g.rule if key == "rule" else ""))
        t.claims += g.claims
        t.differing += g.differing
        t.total_cost += g.total_cost
        t.covered_cost += g.covered_cost
        t.nhsa_fund_paid += g.nhsa_fund_paid
        t.fund_paid += g.fund_paid
    return [out[k] for k in sorted(out)]


def _figures(g: FundGroup) -> list[str]:
    return [format_count(g.claims), format_count(g.differing), format_money(g.nhsa_fund_paid),
            format_money(g.fund_paid), format_money(g.difference)]


def _rule(code: str) -> str:
    return f"{label('rule', code)} / {label('rule', code, 'en')}"


def _chart(by_rule: Sequence[FundGroup]) -> bytes:
    def draw(ax: Any) -> None:
        xs = range(len(by_rule))
        ax.bar([x - 0.2 for x in xs], [wan_yuan(g.nhsa_fund_paid) for g in by_rule], 0.4,
               label=chart_text("平台", "platform"))
        ax.bar([x + 0.2 for x in xs], [wan_yuan(g.fund_paid) for g in by_rule], 0.4,
               label=chart_text("本平台", "ours"))
        ax.set_xticks(list(xs), [label("rule", g.rule, "zh" if cjk_font() else "en")
                                 for g in by_rule], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(chart_text("万元", "10,000 yuan"))
        ax.set_title(chart_title("按待遇规则的基金支付", "fund payment by benefit rule"), fontsize=9)
        plain_axis(ax, decimals=1)
        legend_outside(ax, columns=2)
    return chart_png(draw, size=(PRINT_WIDTH_IN, 3.6))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _inst(c: Comparison, inst_id: str) -> list[str]:
    code, name = c.institutions.get(inst_id, (inst_id, ""))
    return [inst_id, code, name]


def comparison_html(c: Comparison) -> str:
    """The report page."""
    total = _totals(c.groups, "rule")
    whole = _totals([FundGroup(g.inst_id, "", g.claims, g.differing, g.total_cost, g.covered_cost, g.nhsa_fund_paid,
                               g.fund_paid) for g in c.groups], "rule")
    year = f"{c.year} 年度" if c.year else ""
    png = base64.b64encode(_chart(total)).decode()
    note = ("" if c.compared else "<p><b>结果中没有平台的基金支付（nhsa_fund_paid），只列本平台支付 / "
            "the results carry no platform fund payment (nhsa_fund_paid): ours only.</b></p>")
    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{year}医保基金支付对比 / fund payment: ours and the platform's</title>",
        ("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
         "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;vertical-align:top}"
         "td:first-child{text-align:left}img{max-width:100%}</style></head><body>"),
        f"<h1>{year}医保基金支付对比 / fund payment: ours against the national platform's</h1>", note,
        ("<p>平台基金支付取自导入的结算记录（fund_pay_sumamt），本平台基金支付为待遇结算结果（fund_paid）；"
         "差额 = 本平台 − 平台。每行的说明给出决定本平台支付的待遇规则。 / The platform's fund payment is "
         "the imported records' fund_pay_sumamt, ours the adjudication's fund_paid; difference = ours − the "
         "platform's. Each row's explanation names the benefit rule that decided our payment.</p>"),
        _table(["全部 / all", *_HEAD], [["", *_figures(g)] for g in whole]),
        f'<img alt="fund by rule" src="data:image/png;base64,{png}">',
        "<h2>按待遇规则 / by benefit rule</h2>",
        _table(["规则 / rule", *_HEAD, "说明 / explanation"],
               [[_rule(g.rule), *_figures(g), c.explanation(g)] for g in total]),
        "<h2>按机构 / by institution</h2>",
        _table(["机构 / inst_id", "定点医药机构编号 / fixmedins_code", "名称 / name", *_HEAD],
               [[*_inst(c, g.inst_id), *_figures(g)] for g in _totals(c.groups, "inst_id")]),
        "<h2>按机构与规则 / by institution and rule</h2>",
        _table(["机构 / inst_id", "定点医药机构编号 / fixmedins_code", "名称 / name", "规则 / rule", *_HEAD,
                "说明 / explanation"],
               [[*_inst(c, g.inst_id), _rule(g.rule), *_figures(g), c.explanation(g)] for g in c.groups]),
        f"<h2>差额最大的结算 / the {len(c.top)} claims that differ most</h2>",
        _table(["结算ID / setl_id", "机构 / inst_id", "规则 / rule", "总费用 / total", "政策范围内 / covered",
                "平台基金 / platform", "本平台基金 / ours", "差额 / difference"],
               [[r["claim_id"], r["inst_id"], _rule(r["rule"]), format_money(r["total_cost"]),
                 format_money(r["covered_cost"]), format_money(r["nhsa_fund_paid"]), format_money(r["fund_paid"]),
                 format_money(r["difference"])] for r in c.top]),
        "</body></html>", "",
    ]
    return "\n".join(parts)


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def comparison_xlsx(c: Comparison) -> bytes:
    """The workbook: by rule, by institution and rule, the claims that differ most (money as numbers in yuan)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    money = ["平台基金支付 platform fund", "本平台基金支付 our fund", "差额 difference"]
    r = wb.create_sheet("按规则 by rule")
    r.append(["规则 rule", "规则名称", "rule name", "笔数 claims", "不同笔数 differing", *money, "说明 explanation"])
    for g in _totals(c.groups, "rule"):
        r.append([g.rule, label("rule", g.rule), label("rule", g.rule, "en"), g.claims, g.differing,
                  _yuan(g.nhsa_fund_paid), _yuan(g.fund_paid), _yuan(g.difference), c.explanation(g)])
    m = wb.create_sheet("按机构与规则 by institution")
    m.append(["机构 inst_id", "定点医药机构编号 fixmedins_code", "名称 name", "规则 rule", "笔数 claims",
              "不同笔数 differing", "总费用 total", "政策范围内 covered", *money, "说明 explanation"])
    for g in c.groups:
        m.append([*_inst(c, g.inst_id), g.rule, g.claims, g.differing, _yuan(g.total_cost), _yuan(g.covered_cost),
                  _yuan(g.nhsa_fund_paid), _yuan(g.fund_paid), _yuan(g.difference), c.explanation(g)])
    t = wb.create_sheet("差额最大 largest")
    t.append(["结算ID setl_id", "机构 inst_id", "规则 rule", "总费用 total", "政策范围内 covered", *money])
    for row in c.top:
        t.append([row["claim_id"], row["inst_id"], row["rule"], _yuan(row["total_cost"]), _yuan(row["covered_cost"]),
                  _yuan(row["nhsa_fund_paid"]), _yuan(row["fund_paid"]), _yuan(row["difference"])])
    neutralise_workbook(wb)  # no text cell becomes a formula (公式注入)
    buf = io.BytesIO()
    wb.save(buf)
    return _deterministic_zip(buf.getvalue(), stamp=f"{c.year or 2000}-12-31T00:00:00Z")


def write_comparison_reports(c: Comparison, out: Path) -> list[Path]:
    """OUT/fund_comparison.html and .xlsx."""
    paths = [out / f"{COMPARISON_FILE}.html", out / f"{COMPARISON_FILE}.xlsx"]
    for path, data in zip(paths, (comparison_html(c).encode("utf-8"), comparison_xlsx(c)), strict=True):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return paths
