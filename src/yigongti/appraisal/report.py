"""The appraisal report (考核报告): a self-contained HTML page (charts as PNG data URIs, no CDN) and an Excel workbook
in the layout a county health commission hands out: one row per unit, one column per indicator, with the change on
last year (同比增减) when last year's indicators could be computed. Both are byte-identical for the same result.

Chart labels are Chinese and English when a Chinese font is installed (``core.reports.cjk_font``), else English;
headings and tables are Chinese and English.
"""

from __future__ import annotations

import base64
import gc
import html
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from yigongti.appraisal.indicators import Indicator, ScopeKind
from yigongti.appraisal.service import AppraisalResult
from yigongti.core.labels import column_headers, label, labelled
from yigongti.core.reports import (
    PRINT_WIDTH_IN,
    chart_png,
    chart_text,
    chart_title,
    cjk_font,
    report_workers,
    spawned_pool,
)
from yigongti.core.reports import deterministic_zip as _deterministic_zip
from yigongti.datafolder.folder import neutralise_workbook

__all__ = ["PARALLEL_FROM", "appraisal_html", "appraisal_xlsx", "change", "rendering"]

PARALLEL_FROM = 50_000
"""Indicator rows (a unit's indicator is a row) from which :func:`rendering` builds the workbook in another process
while this one goes on (a province of 1 M persons: 271,350 rows, a workbook of a million cells, about 13 CPU s);
below, it is built in this process (a spawned worker costs about 2 CPU s: its imports and its copy of the result)."""

_MISSING_TEXT = {
    "exclude": "未能计算的指标不计入，权重按比例折算 / not-computable indicators are left out and the weights rescaled",
    "zero": "未能计算的指标计0分 / not-computable indicators earn 0 points",
}
KIND_ZH: dict[str, str] = {ScopeKind.COUNTY: "全县 county", ScopeKind.CONSORTIUM: "医共体 consortium",
                           ScopeKind.INSTITUTION: "成员单位 institution"}


def _values(table: Any) -> dict[tuple[str, str], Decimal | None]:
    if table is None:
        return {}
    return {(s, i): (Decimal(v) if v not in (None, "") else None) for s, i, v in
            zip(*(table.column(c).to_pylist() for c in ("scope", "indicator", "value")), strict=True)}


_Both = tuple[dict[tuple[str, str], Decimal | None], dict[tuple[str, str], Decimal | None]]


def _both(result: AppraisalResult) -> _Both:
    """This year's and last year's indicator values by (scope, indicator)."""
    return _values(result.indicators), _values(result.previous)


def change(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    """Change on last year in the indicator's own unit (percentage points for a %); None when either is missing."""
    if current is None or previous is None:
        return None
    return current - previous


def _units(result: AppraisalResult) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for k, s in zip(result.indicators.column("scope_kind").to_pylist(), result.indicators.column("scope").to_pylist(),
                    strict=True):
        seen[(k, s)] = None
    return list(seen)


def _columns(result: AppraisalResult, kinds: Sequence[str]) -> list[Indicator]:
    return [i for i in result.indicator_set.indicators if any(k in i.scopes for k in kinds)]


def _scores(result: AppraisalResult) -> dict[str, tuple[str, str]]:
    return {r["unit_id"]: (r["score"], r["grade"]) for r in result.scores.to_pylist()}


def _text(d: Decimal | None) -> str:
    return "—" if d is None else f"{d:f}"


def _signed(d: Decimal | None) -> str:
    return "" if d is None else (f"+{d:f}" if d > 0 else f"{d:f}")


# --------------------------------------------------------------------------------------------- charts

def _score_chart(result: AppraisalResult) -> bytes:
    rows = [r for r in result.scores.to_pylist() if r["scope_kind"] == ScopeKind.CONSORTIUM]
    grades = [g for g, _ in result.grades]

    def draw(ax: Any) -> None:
        ids = [_unit_name(result, r["unit_id"]) for r in rows]
        vals = [float(r["score"]) for r in rows]  # plotting only; the tables show the exact score
        colors = ["#2e7d32" if r["grade"] == grades[0] else "#f9a825" if r["grade"] in grades[1:] else "#c62828"
                  for r in rows]
        ax.barh(ids[::-1], vals[::-1], color=colors[::-1])
        for g, y in result.grades:
            ax.axvline(float(y), color="grey", linestyle="--", linewidth=0.8)
            ax.text(float(y), len(ids) - 0.4, f"{_chart_label('grade', g)} ≥ {y:f}", ha="center", va="bottom",
                    fontsize=8)
        ax.set_xlim(0, 105)
        ax.set_ylim(-0.6, len(ids) + 0.2)
        ax.set_xlabel(chart_text("得分", "score"))
        ax.set_title(chart_title(f"{result.year}年各医共体考核得分", f"Appraisal scores {result.year} by consortium"),
                     fontsize=10)

    return chart_png(draw, size=(PRINT_WIDTH_IN, 1.4 + 0.4 * max(len(rows), 2)))


def _unit_name(result: AppraisalResult, unit_id: str) -> str:
    """A unit's name on a chart (the part of a bilingual name in the chart's language), its id when unnamed."""
    name = result.names.get(unit_id, "") or unit_id
    zh, sep, en = name.partition(" / ")
    return (zh if cjk_font() else en) if sep else name


def _chart_label(group: str, code: object) -> str:
    return label(group, code, "zh" if cjk_font() else "en")


GRID_LABELLED = 12
"""The indicator grid names each bar's consortium under it for at most this many consortia (a small chart holds
about a dozen ids side by side); past it the bars stand in the order of the table below, unnamed (a province's 100
ids overprinted each other, and drawing them was three quarters of the chart's CPU)."""


def _indicator_grid(result: AppraisalResult, vals: dict[tuple[str, str], Decimal | None]) -> bytes | None:
    plt_inds = [i for i in result.indicator_set.indicators if i.weight > 0 and ScopeKind.CONSORTIUM in i.scopes]
    cons = [s for k, s in _units(result) if k == ScopeKind.CONSORTIUM]
    plotted = [i for i in plt_inds if any(vals.get((c, i.id)) is not None for c in cons)]
    if not plotted or not cons:
        return None
    cols = 4
    rows = (len(plotted) + cols - 1) // cols

    def draw(first: Any) -> None:
        fig = first.figure
        first.remove()
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, ind in zip(axes.flat, plotted, strict=False):
            got = [vals.get((c, ind.id)) for c in cons]
            ax.bar(cons, [float(v) if v is not None else 0.0 for v in got], color="#1565c0")
            for x, v in enumerate(got):
                if v is None:  # not computable: no bar, say so
                    ax.text(x, 0, chart_text("无法计算", "n/a"), ha="center", va="bottom", fontsize=7, color="#c62828")
            if ind.target is not None:
                ax.axhline(float(ind.target), color="#c62828", linestyle="--", linewidth=0.8)
            ax.set_title(f"{ind.id} ({_chart_label('unit', ind.unit)}, {_chart_label('direction', ind.direction)})",
                         fontsize=8)
            ax.tick_params(labelsize=7)
            if len(cons) > GRID_LABELLED:  # a province's ids would overprint each other: in the table's order
                ax.set_xticks([])
                ax.set_xlabel(chart_text("医共体", "consortia"), fontsize=7)
        for ax in list(axes.flat)[len(plotted):]:
            ax.axis("off")

    return chart_png(draw, size=(PRINT_WIDTH_IN * 1.5, 2.3 * rows))  # printed at 2/3: 4 small charts a row


# --------------------------------------------------------------------------------------------- HTML

def _table(head: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str = "") -> str:
    th = "".join(f"<th>{h}</th>" for h in head)  # head cells are pre-escaped
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _matrix(result: AppraisalResult, kinds: Sequence[str], values: _Both) -> str:
    inds = _columns(result, kinds)
    cur, prev = values
    scores = _scores(result)
    head = ["单位 / unit"] + [f'<span title="{html.escape(i.name_en)}">{html.escape(i.id)}<br>'
                              f"{html.escape(i.name_zh)}<br><small>{html.escape(label('unit', i.unit))}</small></span>"
                              for i in inds] + ["得分 / score", "等级 / grade"]
    rows = []
    for kind, scope in _units(result):
        if kind not in kinds:
            continue
        cells = [f"{html.escape(scope)}<br><small>{html.escape(result.names.get(scope, ''))}</small>"]
        for i in inds:
            if kind not in i.scopes:
                cells.append("")
                continue
            v = cur.get((scope, i.id))
            d = change(v, prev.get((scope, i.id)))
            extra = f"<br><small>同比 {html.escape(_signed(d))}</small>" if d is not None else ""
            cells.append(html.escape(_text(v)) + extra)
        sc, gr = scores.get(scope, ("", ""))
        d = change(Decimal(sc), result.previous_scores.get(scope)) if sc else None
        extra = f"<br><small>同比 {html.escape(_signed(d))}</small>" if d is not None else ""
        cells += [html.escape(sc or "") + extra, html.escape(labelled("grade", gr) if gr else "")]
        rows.append(cells)
    return _table(head, rows, cls="matrix")


def appraisal_html(result: AppraisalResult) -> str:
    """The report page."""
    def img(png: bytes, alt: str) -> str:
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'

    iset = result.indicator_set
    values = _both(result)  # once for the page: a province has hundreds of thousands of indicator rows
    grid = _indicator_grid(result, values[0])
    reasons: dict[str, set[str]] = {}
    for ind, st, why in zip(*(result.indicators.column(c).to_pylist() for c in ("indicator", "status", "reason")),
                            strict=True):
        if st != "ok":
            reasons.setdefault(ind, set()).add(why)
    defs = [(html.escape(i.id), html.escape(iset.group(i.group).name_zh), html.escape(i.name_zh),
             html.escape(i.name_en), html.escape(i.numerator or "checklist"), html.escape(i.denominator),
             html.escape(labelled("unit", i.unit)), html.escape(labelled("direction", i.direction)), _text(i.target),
             _text(i.weight),
             _text(i.institution_weight), html.escape(i.source), html.escape(i.note)) for i in iset.indicators]
    yoy = ("含同比增减（与上年之差，百分比指标为百分点）/ with the change on last year (difference; percentage points "
           "for a %)" if result.previous is not None else "无上年数据，未列同比 / no last-year data, no change column")
    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{result.year} 年度医共体绩效考核报告 / performance appraisal report</title>",
        ("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
         "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;vertical-align:top}"
         "td:first-child{text-align:left}img{max-width:100%}small{color:#555}</style></head><body>"),
        f"<h1>{result.year} 年度医共体绩效考核报告 / {result.year} performance appraisal</h1>",
        (f"<p>指标体系 / indicator set: {html.escape(iset.name_zh)} ({html.escape(iset.id)} "
         f"v{html.escape(iset.version)}). 计分 / scoring: {_MISSING_TEXT[iset.scoring.missing]}.</p>"),
        "<h2>医共体得分与等级 / consortium scores and grades</h2>", img(_score_chart(result), "scores"),
    ]
    if grid is not None:
        parts += ["<h2>主要指标 / main indicators (dashed: target)</h2>", img(grid, "indicators")]
    parts += [
        f"<h2>全县与医共体指标 / county and consortia</h2><p>{yoy}</p>", _matrix(result, (ScopeKind.COUNTY,
                                                                                  ScopeKind.CONSORTIUM), values),
        "<h2>成员单位指标 / member institutions</h2>", _matrix(result, (ScopeKind.INSTITUTION,), values),
        "<h2>不可计算的指标 / indicators not computable</h2>",
        _table(["指标 / indicator", "原因 / reason"],
               [(html.escape(k), html.escape("; ".join(sorted(v)))) for k, v in reasons.items()]),
        "<h2>指标说明 / definitions</h2>",
        _table(["编号 / id", "维度 / group", "名称", "name", "分子 / numerator", "分母 / denominator", "单位 / unit",
                "方向 / direction", "目标 / target", "权重 / weight", "机构权重 / inst. weight", "来源 / source",
                "说明 / note"], defs),
    ]
    if result.notes:
        parts += ["<h2>说明 / notes</h2>", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
                  + "</ul>"]
    parts += ["</body></html>", ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------- Excel

def _sheet(wb: Any, title: str, result: AppraisalResult, kinds: Sequence[str], values: _Both) -> None:
    ws = wb.create_sheet(title)
    inds = _columns(result, kinds)
    cur, prev = values
    with_prev = result.previous is not None
    head = ["单位编码 unit", "单位名称 name", "类别 kind"]
    for i in inds:
        head.append(f"{i.id} {i.name_zh} ({label('unit', i.unit)})")
        if with_prev:
            head.append(f"{i.id} 同比增减 change")
    head += ["得分 score"] + (["得分同比 score change"] if with_prev else []) + ["等级 grade"]
    ws.append(head)
    scores = _scores(result)
    for kind, scope in _units(result):
        if kind not in kinds:
            continue
        row: list[Any] = [scope, result.names.get(scope, ""), KIND_ZH[kind]]
        for i in inds:
            v = cur.get((scope, i.id)) if kind in i.scopes else None
            row.append(v)
            if with_prev:
                row.append(change(v, prev.get((scope, i.id))))
        sc, gr = scores.get(scope, (None, None))
        row.append(None if sc in (None, "") else Decimal(sc))
        if with_prev:
            row.append(change(Decimal(sc), result.previous_scores.get(scope)) if sc else None)
        row.append(f"{label('grade', gr)} {gr}" if gr and label("grade", gr) != gr else gr)
        ws.append(row)
    ws.freeze_panes = "D2"
    ws.column_dimensions["B"].width = 22
    for r in ws.iter_rows(min_row=2, min_col=4):
        for cell in r:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"


def _plain_cell_writer(original: Any) -> Any:
    """openpyxl's own cell writer (without lxml: an ElementTree element built and serialised per cell, a third of
    the workbook's CPU at a province's million cells), written out directly for the cells the appraisal's workbook
    holds: a text (``inlineStr``, no surrounding whitespace) or a number, with or without a style. The bytes are
    those of ``original`` (``openpyxl.cell._writer.etree_write_cell``), which writes every other cell."""
    from xml.etree.ElementTree import _escape_cdata  # type: ignore[attr-defined]  # what ``original`` escapes with

    from openpyxl.compat import safe_string

    def write_cell(xf: Any, worksheet: Any, cell: Any, styled: bool | None = None) -> None:
        kind, value = cell.data_type, cell._value
        if kind == "s" and type(value) is str and value and value == value.strip():
            body = f"<is><t>{_escape_cdata(value)}</t></is>"
            t = "inlineStr"
        elif kind == "n" and value is not None and value != "" and (text := safe_string(value)):
            body = f"<v>{_escape_cdata(text)}</v>"
            t = "n"
        else:
            original(xf, worksheet, cell, styled)
            return
        if cell.hyperlink:
            original(xf, worksheet, cell, styled)
            return
        style = f' s="{cell.style_id}"' if styled else ""
        xf._file(f'<c r="{cell.coordinate}"{style} t="{t}">{body}</c>')

    return write_cell


@contextmanager
def _fast_cells() -> Iterator[None]:
    """:func:`_plain_cell_writer` in place of openpyxl's while a workbook is saved (when openpyxl writes with the
    standard library, as here; with lxml it is left alone)."""
    try:  # openpyxl's private writer modules: another version may lay them out otherwise; then save as openpyxl does
        from openpyxl.cell import _writer as cells
        from openpyxl.worksheet import _writer as sheets

        original = sheets.write_cell
        standard = cells.etree_write_cell
        fast = _plain_cell_writer(original)
    except (ImportError, AttributeError):
        yield
        return
    if original is not standard:
        yield
        return
    sheets.write_cell = fast
    try:
        yield
    finally:
        sheets.write_cell = original


def appraisal_xlsx(result: AppraisalResult) -> bytes:
    """The workbook: consortia (and county), institutions, points, definitions."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    values = _both(result)  # once for the workbook
    _sheet(wb, "医共体 consortia", result, (ScopeKind.COUNTY, ScopeKind.CONSORTIUM), values)
    _sheet(wb, "成员单位 institutions", result, (ScopeKind.INSTITUTION,), values)
    p = wb.create_sheet("得分明细 points")
    p.append(column_headers(("unit_id", "indicator", "weight", "points")))
    for r in result.points.to_pylist():
        p.append([r["unit_id"], r["indicator"], Decimal(str(r["weight"])),
                  None if r["points"] in (None, "") else Decimal(str(r["points"]))])
    d = wb.create_sheet("指标说明 definitions")
    d.append(["id", "维度 group", "名称", "name", "分子 numerator", "分母 denominator", "单位 unit", "方向 direction",
              "目标 target", "权重 weight", "机构权重 institution weight", "来源 source", "说明 note"])
    iset = result.indicator_set
    for i in iset.indicators:
        d.append([i.id, iset.group(i.group).name_zh, i.name_zh, i.name_en, i.numerator or "checklist", i.denominator,
                  labelled("unit", i.unit), labelled("direction", i.direction), i.target, i.weight,
                  i.institution_weight, i.source, i.note])
    neutralise_workbook(wb)  # no text cell becomes a formula (公式注入)
    return _deterministic_zip(_saved(wb), stamp=f"{result.year}-12-31T00:00:00Z")


def _saved(wb: Any) -> bytes:
    """``wb.save`` into bytes, but the parts stored uncompressed (as ``openpyxl.writer.excel.save_workbook`` writes
    them otherwise): ``deterministic_zip`` reads them back and compresses each once (the same bytes as from a
    compressed save, without deflating a million cells twice)."""
    import datetime
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    buf = io.BytesIO()
    archive = zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True)
    wb.properties.modified = datetime.datetime.now(tz=datetime.UTC).replace(tzinfo=None)
    with _fast_cells():
        ExcelWriter(wb, archive).save()  # closes the archive
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- rendered aside

@contextmanager
def rendering(result: AppraisalResult, *, parallel: bool | None = None) -> Iterator[Callable[[], tuple[str, bytes]]]:
    """appraisal.html's text and appraisal.xlsx's bytes for ``result``, made while the body of the ``with`` runs:
    yields a function that returns them. ``parallel`` (default: from :data:`PARALLEL_FROM` indicator rows on, unless
    ``core.reports.report_workers`` is 1): the workbook is built by a spawned process, started on entering, the page
    by this one when the function is called (waiting then for the workbook); else both by this one then. The same
    text and bytes either way. If the body raises, the workbook is cancelled (or waited for) and nothing returned."""
    if parallel is None:
        parallel = result.indicators.num_rows >= PARALLEL_FROM and report_workers() > 1
    if not parallel:
        yield lambda: (appraisal_html(result), appraisal_xlsx(result))
        return
    with spawned_pool(1, initializer=gc.disable) as pool:  # short-lived: the cells would run the collector's passes
        workbook = pool.submit(appraisal_xlsx, result)
        try:
            yield lambda: (appraisal_html(result), workbook.result())
        except BaseException:
            workbook.cancel()
            raise
