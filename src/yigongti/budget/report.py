"""Settlement reports (清算报告) per consortium: a self-contained HTML page (charts as inline SVG written directly, no
CDN, no script) and an Excel workbook (its charts native, drawn by Excel). Both are byte-identical for the same
settlement, whichever process writes them.

Sections: budget vs spending by month, where the money went (own tiers vs outside hospitals), the top diagnoses of
out-of-network spending, the balance and how the amount to share is split (after the risk reserve and the
carry-forward, whose balances the summary shows), the internal package with each member's statement for the year,
and the quarters when the policy settles quarterly. Headings, tables and chart labels are Chinese first, then
English; each chart has a title and a description for screen readers and the table of its values under it.
"""

from __future__ import annotations

import functools
import html
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow.compute as pc

from yigongti.budget.agreement import FORMULA_SOURCE
from yigongti.budget.domain import ConsortiumSettlement
from yigongti.budget.service import format_heads
from yigongti.core.labels import column_headers, format_money, label, labelled
from yigongti.core.policy import DISTRIBUTION_FORMS
from yigongti.core.reports import REPORT_WORKERS_ENV, report_workers, spawned_pool
from yigongti.core.svg import Bar, Series, Text, bars_svg, columns_svg
from yigongti.datafolder.folder import neutralise_cell
from yigongti.registry.domain import Tier

__all__ = ["PARALLEL_FROM", "REPORT_WORKERS_ENV", "SPLIT_BARS", "consortium_report_html", "consortium_report_xlsx",
           "report_workers", "split_bars", "write_reports"]

SPLIT_BARS = 20
"""An internal split of up to this many institutions is drawn one bar each; a larger one by tier (a bar per
institution was an unreadable smear of 100 labels); the table beside the chart has every institution."""
IN_COLOUR, OUT_COLOUR, PREPAID_COLOUR = "#2e7d32", "#c62828", "#8fb8de"
"""In-network (and a surplus) green, out-of-network (and an overspend) red, the prepayment light blue."""


def _tier_text(tier: object) -> Text:
    """A tier on a chart: its Chinese label over its English one."""
    return Text(label("tier", tier, "zh"), label("tier", tier, "en"))


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
        "package": _package_rows(result, c),
        "interim": [r for r in getattr(result, "interim", []) if r.consortium_id == c],
    }


def _package_rows(result: Any, consortium_id: str) -> list[dict[str, Any]]:
    """A row per member of the consortium's package: its line and its statement's year (charged, balance)."""
    year_end = {r.inst_id: r for r in getattr(result, "statements", [])
                if r.consortium_id == consortium_id and r.month == 12}
    rows = []
    for ln in getattr(result, "package", []):
        if ln.consortium_id == consortium_id:
            st = year_end.get(ln.inst_id)
            rows.append({"line": ln, "charged": st.charged_to_date if st else 0,
                         "balance": st.balance if st else ln.allocation})
    return rows


def _surplus_of(result: Any, consortium_id: str) -> Any:
    return next((o for o in getattr(result, "surplus", []) if o.consortium_id == consortium_id), None)


PACKAGE_HEAD = ("机构 / institution", "层级 / tier", "类别 / kind", "定点人头 / heads", "按职责 / by duty",
                "按近年统计 / by history", "按人头 / by heads", "包干额 / allocation", "已记账 / charged",
                "年末余额 / balance", "公共卫生（年初） / public health")
INTERIM_HEAD = ("季度 / quarter", "累计预付 / prepaid to date", "累计支出 / spent to date", "累计结余 / balance",
                "本期分配 / distributed", *(f"{label('distribution_form', f)} / {f}" for f in DISTRIBUTION_FORMS),
                "累计分配 / distributed to date")


@functools.lru_cache(maxsize=256)
def _labelled(group: str, code: object) -> str:
    """:func:`~yigongti.core.labels.labelled` of a package row's tier and kind, once per value (a province's
    packages are 12,000 rows)."""
    return labelled(group, code)


def _package_cells(r: dict[str, Any]) -> list[object]:
    ln = r["line"]
    return [ln.inst_id, _labelled("tier", ln.tier), _labelled("kind", ln.kind), int(ln.heads), Fen(ln.duty),
            Fen(ln.history), Fen(ln.by_heads), Fen(ln.allocation), Fen(r["charged"]), Fen(r["balance"]),
            Fen(ln.public_health)]


def _interim_cells(r: Any) -> list[object]:
    return [f"Q{r.quarter}", Fen(r.prepaid_to_date), Fen(r.spent_to_date), Fen(r.balance_to_date),
            Fen(r.distributed), *(Fen(r.forms.get(f, 0)) for f in DISTRIBUTION_FORMS), Fen(r.distributed_to_date)]


def split_bars(alloc: Sequence[Any]) -> list[tuple[Text, int]]:
    """(label, fen) of the split chart: one bar per institution (its id) when there are at most
    :data:`SPLIT_BARS`, else one per tier with the number of institutions; largest first. The sums are exact."""
    if len(alloc) <= SPLIT_BARS:
        return sorted(((Text(a.inst_id), int(a.amount)) for a in alloc), key=lambda r: (-r[1], r[0].zh))
    by_tier: dict[str, list[int]] = {}
    for a in alloc:
        by_tier.setdefault(str(a.tier), []).append(int(a.amount))
    bars = []
    for t, v in by_tier.items():
        name = _tier_text(t)
        bars.append((Text(f"{name.zh}（{len(v)} 家）", f"{name.en} ({len(v)} institutions)"), sum(v)))
    return sorted(bars, key=lambda r: (-r[1], r[0].zh))


WAN_AXIS = Text("万元", "10,000 yuan")


def _charts(f: dict[str, Any]) -> dict[str, str]:
    """The report's four charts as inline SVG, keyed by kind."""
    months = [str(m) for m in f["months"]]
    monthly = columns_svg(
        "chart-monthly", Text("逐月预算与支出", "Budget vs spending by month"),
        "柱状图：每月预付（左柱）与医共体内、外支出（右柱，叠加），单位万元；各月数值见下表。"
        " Column chart: each month's prepayment (left) and in- and out-of-network spending (right, stacked), in "
        "10,000 yuan; the values are in the table below.",
        months, [[Series(Text("预付", "prepayment"), PREPAID_COLOUR, tuple(f["prepaid"]))],
                 [Series(Text("医共体内", "in-network"), IN_COLOUR, tuple(f["in"])),
                  Series(Text("医共体外", "out-of-network"), OUT_COLOUR, tuple(f["out"]))]],
        axis=WAN_AXIS, x_axis=Text("月份", "month"))
    tiers = bars_svg(
        "chart-tiers", Text("基金支付：本医共体各级与外部医院", "Fund payments: own tiers vs outside hospitals"),
        "条形图：基金支付按层级，外部医院为红色，单位万元；数值见下表。"
        " Bar chart: fund payments by tier, outside hospitals in red, in 10,000 yuan; the values are in the table "
        "below.",
        [Bar(_tier_text(r["tier"]), int(r["fund_paid"]), OUT_COLOUR if r["tier"] == Tier.OUTSIDE else IN_COLOUR)
         for r in f["tiers"]], axis=WAN_AXIS)
    top = bars_svg(
        "chart-top", Text("外转支出最多的诊断", "Top diagnoses of out-of-network spending"),
        "条形图：医共体外基金支付最多的诊断，从大到小，单位万元；数值见下表。"
        " Bar chart: the diagnoses with the most out-of-network fund payments, largest first, in 10,000 yuan; the "
        "values are in the table below.",
        [Bar(Text(r["diagnosis"] or "—"), int(r["fund_paid"]), OUT_COLOUR) for r in f["top"]], axis=WAN_AXIS)
    split = bars_svg(
        "chart-split", Text("结余（超支）内部分配", "Internal split of the amount to share"),
        "条形图：待分配金额在成员机构间的分配，结余为绿色、超支为红色，单位万元；每家机构的数值见下表。"
        " Bar chart: the amount to share split among the members, a surplus in green and an overspend in red, in "
        "10,000 yuan; every institution's value is in the table below.",
        [Bar(t, v, IN_COLOUR if v >= 0 else OUT_COLOUR) for t, v in split_bars(f["alloc"])], axis=WAN_AXIS)
    return {"monthly": monthly, "tiers": tiers, "top": top, "split": split}


def _source(result: Any, s: ConsortiumSettlement) -> str:
    sources: dict[str, str] = getattr(result, "budget_sources", {})
    return sources.get(s.consortium_id, FORMULA_SOURCE)


def _summary_of(result: Any, s: ConsortiumSettlement) -> list[tuple[str, object]]:
    o = _surplus_of(result, s.consortium_id)
    return _summary(s, _source(result, s), None if o is None else o.closing.reserve)


MONEY, COUNT, DECIMAL, TEXT = "money", "count", "decimal", "text"
MONEY_FORMAT = "#,##0.00"
COUNT_FORMAT = "#,##0"


class Fen(int):
    """An amount in int fen on the summary: text with separators in HTML, Decimal yuan in Excel."""


def _summary(s: ConsortiumSettlement, source: str = FORMULA_SOURCE,
             reserve_balance: int | None = None) -> list[tuple[str, object]]:
    """(label, value): int counts, :class:`Fen` money, Decimal heads and score, text for the grade and the
    budget's source; ``reserve_balance``: the risk reserve's balance after the year (None: not shown)."""
    b = s.budget
    surplus = [
        ("上年结转 / surplus carried in", Fen(s.carried_in)),
        ("风险基金期初余额 / risk reserve brought in", Fen(s.reserve_carried_in)),
        ("提取风险基金 / to the risk reserve", Fen(s.reserve_funded)),
        ("结转下年 / carried forward", Fen(s.carried_forward)),
        ("风险基金弥补超支 / overspend covered by the reserve", Fen(s.reserve_drawn)),
    ] + ([] if reserve_balance is None else [("风险基金余额 / risk reserve balance", Fen(reserve_balance))])
    return [
        ("预算来源 / budget source", source),
        ("参保人数 / enrollees", int(s.enrollees)),
        ("标准人头 / standard heads", b.standard_heads),
        ("人头标准 / rate per head", Fen(b.rate)),
        ("总额预算 / gross budget", Fen(b.gross)),
        ("绩效预留 / P4P reserve", Fen(b.reserve)),
        ("预付预算 / prospective budget", Fen(b.prospective)),
        ("医共体内支出 / in-network spending", Fen(s.in_network_spend)),
        ("医共体外扣减 / out-of-network deductions", Fen(s.out_of_network_deductions)),
        ("结余(超支) / balance", Fen(s.balance)),
        ("结余留用 / retained surplus", Fen(s.retained_surplus)),
        ("基金分担超支 / overspend borne by the fund", Fen(s.fund_overspend_share)),
        ("医共体承担超支 / overspend borne by the consortium", Fen(s.consortium_overspend)),
        ("考核得分 / score", None if s.score is None else s.score.normalize()),
        ("考核等级 / grade", f"{label('grade', s.grade)} {s.grade}" if label("grade", s.grade) != s.grade
         else s.grade),
        ("绩效支付 / P4P paid", Fen(s.p4p_paid)),
        *surplus,
        ("待分配金额 / amount to share", Fen(s.amount_to_share)),
        ("公共卫生经费（专款专用） / public health (earmarked)", Fen(s.public_health)),
    ]


def _summary_text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, Fen):
        return format_money(value)
    if isinstance(value, Decimal):
        return format_heads(value) if value == value.quantize(Decimal("0.01")) else f"{value:f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f'<table tabindex="0"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def consortium_report_html(result: Any, s: ConsortiumSettlement) -> str:
    """The HTML report of one consortium."""
    f = _figures(result, s)
    figures = {k: f"<figure>{v}</figure>" for k, v in _charts(f).items()}
    name = result.names.get(s.consortium_id, "")
    monthly_rows = [(f"{result.year}-{m:02d}", format_money(p), format_money(i), format_money(o))
                    for m, p, i, o in zip(f["months"], f["prepaid"], f["in"], f["out"], strict=True)]
    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{html.escape(s.consortium_id)} {result.year} 年终清算报告 / settlement report</title>",
        ("<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}figure{margin:1em 0}"
        "svg.chart{display:block;max-width:100%;height:auto}</style></head><body>"),
        f"<h1>{html.escape(name)} {html.escape(s.consortium_id)}: {result.year} 年终清算 / year-end settlement</h1>",
        f"<p>输入指纹 / inputs hash: <code>{html.escape(result.inputs_hash)}</code></p>",
        "<h2>清算结果 / settlement</h2>", _table(["项目 / item", "金额 / value"],
                                                 [(k, _summary_text(v)) for k, v in _summary_of(result, s)]),
        "<h2>按月预算与支出 / budget vs spending by month</h2>", figures["monthly"],
        _table(["月份 / month", "预付 / prepayment", "医共体内 / in-network", "医共体外 / out-of-network"],
               monthly_rows),
        "<h2>资金去向 / where the money went</h2>", figures["tiers"],
        _table(["层级 / tier", "基金支付 / fund paid", "单据数 / claims"],
               [(labelled("tier", r["tier"]), format_money(r["fund_paid"]), f"{r['claims']:,}") for r in f["tiers"]]),
        "<h2>医共体外支出主要病种 / top diagnoses of out-of-network spending</h2>", figures["top"],
        _table(["排名 / rank", "诊断 / diagnosis", "基金支付 / fund paid", "单据数 / claims"],
               [(str(r["rank"]), r["diagnosis"], format_money(r["fund_paid"]), f"{r['claims']:,}") for r in f["top"]]),
        "<h2>结余分配 / the split of the amount to share</h2>", figures["split"],
        _table(["机构 / institution", "层级 / tier", "金额 / amount", "得分 / score",
                "公共卫生经费 / public health", "绩效工资总量上限 / performance pay ceiling"],
               [(a.inst_id, labelled("tier", a.tier), format_money(a.amount),
                 "-" if a.score is None else f"{a.score.normalize():f}", format_money(a.public_health),
                 format_money(a.performance_pay_ceiling)) for a in f["alloc"]]),
        "<h2>年初包干与成员对账 / the package and the members' statements</h2>",
        _table(PACKAGE_HEAD, [[_summary_text(v) for v in _package_cells(r)] for r in f["package"]]),
        *(["<h2>季度预结算 / quarterly interim settlement</h2>",
           _table(INTERIM_HEAD, [[_summary_text(v) for v in _interim_cells(r)] for r in f["interim"]])]
          if f["interim"] else []),
        "</body></html>", "",
    ]
    return "\n".join(parts)


DIGIT_PIXELS = 7
"""Pixels per character of a column's width in XlsxWriter (Calibri 11): ``n * DIGIT_PIXELS`` is stored as width
``n`` exactly, as openpyxl stored it (``set_column(n)`` would add Excel's 5 pixels of padding)."""


def _plain(d: Decimal) -> Decimal:
    """A Decimal as a number cell writes it: no trailing zeros, no exponent (``5134.00`` -> ``5134``, ``1E+2`` ->
    ``100``), so that the cell reads back as the int or the decimal it is, as openpyxl wrote it."""
    n = d.normalize()
    return n.quantize(Decimal(1)) if n.as_tuple().exponent > 0 else n  # type: ignore[operator]


def _plain_yuan(fen: int) -> Decimal:
    """An Excel money cell of ``fen``: exact Decimal yuan (never a float, shown with :data:`MONEY_FORMAT`), as
    ``_plain(Decimal(fen) / 100)`` gives it: the same Decimal (digits and exponent: whole yuan with exponent
    0, else one or two decimals), without normalising and quantising a Decimal per money cell (a province's 100
    workbooks hold some 130,000)."""
    fen = int(fen)
    if fen % 100 == 0:
        return Decimal(fen // 100)
    if fen % 10 == 0:
        return Decimal(fen // 10) / 10
    return Decimal(fen) / 100


def consortium_report_xlsx(result: Any, s: ConsortiumSettlement) -> bytes:
    """The Excel workbook of one consortium: summary, monthly (with a chart), tiers, top diagnoses, split, package
    (and the quarters). Every number is a number cell (money: exact Decimal yuan with 2 decimals and thousands
    separators; counts: integers; months: dates shown yyyy-mm), never text and never a float; text is stored as
    text, never as a formula (公式注入). Written by XlsxWriter (its rows are strings joined, about 4x less CPU than
    openpyxl's cell-by-cell XML writer): the same bytes for the same settlement (fixed document dates, the zip's
    times fixed by XlsxWriter)."""
    import xlsxwriter

    f = _figures(result, s)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    stamp = datetime(result.year, 12, 31, tzinfo=UTC)
    wb.set_properties({"created": stamp})
    formats = {MONEY: wb.add_format({"num_format": MONEY_FORMAT}), COUNT: wb.add_format({"num_format": COUNT_FORMAT}),
               DECIMAL: wb.add_format({"num_format": "#,##0.00##"}), "month": wb.add_format({"num_format": "yyyy-mm"})}

    def put(ws: Any, r: int, c: int, v: object, decimal: str = MONEY) -> None:
        """A cell: Fen as exact yuan in the money format, Decimal in ``decimal``'s format, int a count, date yyyy-mm,
        text as text, None left empty."""
        if v is None:
            return
        if type(v) is Fen:  # (before int: a Fen is one)
            ws.write_number(r, c, _plain_yuan(v), formats[MONEY])
        elif isinstance(v, Decimal):
            ws.write_number(r, c, _plain(v), formats[decimal])
        elif isinstance(v, int):
            ws.write_number(r, c, v, formats[COUNT])
        elif isinstance(v, date):
            ws.write_datetime(r, c, datetime(v.year, v.month, v.day), formats["month"])
        else:
            ws.write_string(r, c, neutralise_cell(str(v)))

    def sheet(name: str, head: Sequence[str], rows: Iterable[Sequence[object]]) -> Any:
        ws = wb.add_worksheet(name)
        for c, h in enumerate(head):
            ws.write_string(0, c, neutralise_cell(h))
        for r, row in enumerate(rows, 1):
            for c, v in enumerate(row):
                put(ws, r, c, v)
        ws.set_column_pixels(0, 3, 22 * DIGIT_PIXELS)
        return ws

    ws = wb.add_worksheet("summary 清算")
    for r, (k, v) in enumerate(_summary_of(result, s)):
        ws.write_string(r, 0, neutralise_cell(k))
        # money (Fen), a score with up to 4 decimals, a count, text; "-" for none
        put(ws, r, 1, "-" if v is None else v, DECIMAL)
    ws.set_column_pixels(0, 0, 44 * DIGIT_PIXELS)
    ws.set_column_pixels(1, 1, 20 * DIGIT_PIXELS)

    n = len(f["months"])
    m = sheet("monthly 按月", column_headers(("month", "prepayment", "in_network", "out_of_network")),
              [[date(result.year, mo, 1), Fen(p), Fen(i), Fen(o)]
               for mo, p, i, o in zip(f["months"], f["prepaid"], f["in"], f["out"], strict=True)])
    chart = wb.add_chart({"type": "column"})
    for col in (1, 2, 3):
        chart.add_series({"name": [m.name, 0, col], "categories": [m.name, 1, 0, n, 0],
                          "values": [m.name, 1, col, n, col]})
    chart.set_title({"name": "逐月预算与支出 Budget vs spending by month"})
    chart.set_y_axis({"name": "元 yuan", "num_format": COUNT_FORMAT})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 567, "height": 283})  # 15 x 7.5 cm, as before
    m.insert_chart("F2", chart)
    sheet("tiers 资金去向", column_headers(("tier", "fund_paid", "claims")),
          [[labelled("tier", r["tier"]), Fen(r["fund_paid"]), int(r["claims"])] for r in f["tiers"]])
    sheet("top diagnoses 病种", column_headers(("rank", "diagnosis", "fund_paid", "claims")),
          [[int(r["rank"]), r["diagnosis"], Fen(r["fund_paid"]), int(r["claims"])] for r in f["top"]])
    sheet("split 分配", column_headers(("inst_id", "tier", "amount", "score", "public_health",
                                        "performance_pay_ceiling")),
          [[al.inst_id, labelled("tier", al.tier), Fen(al.amount),
            None if al.score is None else al.score.normalize(), Fen(al.public_health),
            Fen(al.performance_pay_ceiling)] for al in f["alloc"]])
    sheet("package 包干", [" ".join(reversed(h.split(" / "))) for h in PACKAGE_HEAD],
          [_package_cells(r) for r in f["package"]])
    if f["interim"]:
        sheet("interim 季度", [" ".join(reversed(h.split(" / "))) for h in INTERIM_HEAD],
              [_interim_cells(r) for r in f["interim"]])
    wb.close()
    return buf.getvalue()


PARALLEL_FROM = 128
"""Fewer consortia than this are written in this process: a consortium's reports cost about 0.03 CPU s (the HTML
0.004 s, the workbook 0.025 s) and a spawned worker about 1.5 s to start (its imports), so a province of 100
consortia is written faster in CPU, and about as fast in wall time on 2 cores, by this process alone."""


def _parts(result: Any) -> list[tuple[Any, ConsortiumSettlement]]:
    """(what the consortium's report reads of ``result``, its settlement) for every consortium: the settlement with
    only that consortium's rows (grouped once: a province's statements are 12 rows per member), nothing it does not
    read (the adjudicated claims, the appraisal), so that it is cheap to hand to another process."""
    def grouped(rows: Iterable[Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for r in rows:
            out.setdefault(r.consortium_id, []).append(r)
        return out

    def table_of(table: Any) -> dict[str, Any]:
        ids = table.column("consortium_id")
        return {c: table.filter(pc.equal(ids, c)) for c in {s.consortium_id for s in result.consortia}}

    allocations, package = grouped(result.allocations), grouped(getattr(result, "package", []))
    statements = grouped(r for r in getattr(result, "statements", []) if r.month == 12)
    surplus, interim = grouped(getattr(result, "surplus", [])), grouped(getattr(result, "interim", []))
    months, tiers, top = table_of(result.by_month), table_of(result.by_tier), table_of(result.top_diagnoses)
    sources = getattr(result, "budget_sources", {})
    parts = []
    for s in result.consortia:
        c = s.consortium_id
        parts.append((SimpleNamespace(
            year=result.year, inputs_hash=result.inputs_hash, names={c: result.names.get(c, "")},
            by_month=months[c], by_tier=tiers[c], top_diagnoses=top[c], allocations=allocations.get(c, []),
            package=package.get(c, []), statements=statements.get(c, []), surplus=surplus.get(c, []),
            interim=interim.get(c, []), budget_sources={c: sources[c]} if c in sources else {}), s))
    return parts


def _write_report(part: Any, s: ConsortiumSettlement, folder: Path) -> list[Path]:
    """One consortium's ``settlement-<consortium>.html`` and ``.xlsx`` (in a worker process or this one)."""
    html_path = folder / f"settlement-{s.consortium_id}.html"
    html_path.write_text(consortium_report_html(part, s), encoding="utf-8")
    xlsx_path = folder / f"settlement-{s.consortium_id}.xlsx"
    xlsx_path.write_bytes(consortium_report_xlsx(part, s))
    return [html_path, xlsx_path]


def _write_some(parts: list[tuple[Any, ConsortiumSettlement]], folder: Path) -> list[Path]:
    return [p for part, s in parts for p in _write_report(part, s, folder)]


def write_reports(result: Any, folder: Path, *, workers: int | None = None) -> list[Path]:
    """``settlement-<consortium>.html`` and ``.xlsx`` for every consortium of ``result`` into ``folder``, rendered
    by ``workers`` processes (default :func:`report_workers`, from :data:`PARALLEL_FROM` consortia on; a
    province's 100 consortia in this process). Each file is
    the same bytes whichever process draws it (charts without time stamps, the same fonts)."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = _parts(result)
    if workers is None:
        workers = report_workers() if len(parts) >= PARALLEL_FROM else 1
    n = min(max(1, workers), len(parts))
    if n <= 1:
        return _write_some(parts, folder)
    chunks = [parts[i::n * 2] for i in range(n * 2)]  # a few chunks per worker
    with spawned_pool(n) as pool:
        done = list(pool.map(_write_some, chunks, [folder] * len(chunks)))
    return sorted(p for paths in done for p in paths)
