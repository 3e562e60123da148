"""Enrollment outputs (定点结果): head counts, movement, and the files of ``yigongti enroll``.

``enrollment_outputs`` adds head counts per unit (Jan 1 of Y, by age band and insurance type) and the year-on-year
movement ("vote with feet" 用脚投票) to an :class:`EnrollmentResult`; ``write_enrollment`` writes every table and a
self-contained HTML report (chart as a PNG data URI, no CDN) into a folder, all-or-nothing and byte-identical for the
same inputs.
"""

from __future__ import annotations

import base64
import html
import io
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.core.policy import Insurance, Policy
from yigongti.datafolder.folder import DataFolder, write_csv_parts, write_table
from yigongti.enrollment.headcount import band_labels, head_counts, movement_tables
from yigongti.enrollment.service import EnrollmentResult, limited_duckdb

__all__ = ["OUTPUT_FILES", "EnrollmentOutputs", "enrollment_outputs", "report_html", "write_enrollment"]

_SLICE = 1_000_000  # rows of designations.csv made into text at a time
OUTPUT_FILES = ("designations.csv", "refused_choices.csv", "unassigned.csv", "stale_carried.csv", "headcounts.csv",
                "movements.csv", "movement_summary.csv", "enrollment_report.html")


@dataclass(frozen=True)
class EnrollmentOutputs:
    """Everything ``yigongti enroll`` writes."""

    result: EnrollmentResult
    headcounts: pa.Table
    movements: pa.Table
    movement_summary: pa.Table
    previous_year_known: bool
    age_bands: list[str]
    names: dict[str, str]


def enrollment_outputs(data: DataFolder, result: EnrollmentResult, policy: Policy) -> EnrollmentOutputs:
    """Head counts for the result's year and the movement from the designations of the year before (if given)."""
    min_ages = [b.min_age for b in policy.capitation.age_bands]
    prev_all = data.get("designations")
    prev = None if prev_all is None else prev_all.filter(pc.equal(prev_all.column("year"), result.year - 1))
    known = prev is not None and prev.num_rows > 0
    with limited_duckdb() as con:
        hc = head_counts(result.designations, data["persons"], year=result.year, min_ages=min_ages, con=con)
        flows, summary = movement_tables(prev if known else None, result.designations, con=con)
    inst = data["institutions"]
    names = dict(zip(inst.column("inst_id").to_pylist(), inst.column("name").to_pylist(), strict=True))
    cons = data["consortia"]
    names |= dict(zip(cons.column("consortium_id").to_pylist(), cons.column("name").to_pylist(), strict=True))
    return EnrollmentOutputs(result, hc, flows, summary, known, band_labels(min_ages), names)


def write_enrollment(outputs: EnrollmentOutputs, out: Path, *, other_years: pa.Table | None = None) -> list[Path]:
    """Write every output into ``out``: first into a temporary folder beside it, then moved in, so that a failure
    leaves ``out`` as it was. Returns the paths written.

    ``other_years``: designations of other years to keep in ``designations.csv`` (when ``out`` is the data folder
    itself, its history must not be lost); rows are then ordered by year, then person.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        r = outputs.result
        des = r.designations
        if other_years is not None and other_years.num_rows:
            kept = other_years.filter(pc.not_equal(other_years.column("year"), r.year))
            des = pa.concat_tables([kept.select(des.schema.names).cast(des.schema), des]).sort_by(
                [("year", "ascending"), ("person_id", "ascending")])
        # in slices: the text of a province's 10 M designations is never made at once (the same bytes)
        write_csv_parts((des.slice(i, _SLICE) for i in range(0, max(des.num_rows, 1), _SLICE)), tmp, "designations")
        write_table(r.refused, tmp, "refused_choices")
        write_table(r.unassigned, tmp, "unassigned")
        write_table(r.stale_carried, tmp, "stale_carried")
        write_table(outputs.headcounts, tmp, "headcounts")
        write_table(outputs.movements, tmp, "movements")
        write_table(outputs.movement_summary, tmp, "movement_summary")
        (tmp / "enrollment_report.html").write_text(report_html(outputs), encoding="utf-8")
        if not out.exists():
            tmp.rename(out)
        else:
            for name in OUTPUT_FILES:
                os.replace(tmp / name, out / name)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return [out / n for n in OUTPUT_FILES]


# ------------------------------------------------------------------------------------------------- the report

def _esc(v: object) -> str:
    return html.escape("" if v is None else str(v))


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _level(table: pa.Table, level: str) -> pa.Table:
    """The rows of one level of a head count or movement table (selected column-wise: the report reads the
    consortium or township rows of a province's 120,000, never all of them as Python values)."""
    return table.filter(pc.equal(table.column("level"), level))


def _chart(outputs: EnrollmentOutputs) -> str:
    """Two panels: enrollees by age band per consortium; persons gained and lost per township-tier institution."""
    from yigongti.core.reports import chart_text as t
    from yigongti.core.reports import pyplot

    plt = pyplot()

    hc = _level(outputs.headcounts, "consortium").to_pylist()
    units = sorted({r["unit_id"] for r in hc})
    per: dict[tuple[str, str], int] = defaultdict(int)
    for r in hc:
        per[(r["unit_id"], r["age_band"])] += r["enrollees"]
    ms = _level(outputs.movement_summary, "township").to_pylist()
    if len(ms) > _CHART_UNITS:  # the units that moved most, in id order
        keep = {r["unit_id"] for r in sorted(ms, key=lambda r: (-(r["gained"] + r["lost"]), r["unit_id"]))[
            :_CHART_UNITS]}
        ms = [r for r in ms if r["unit_id"] in keep]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    try:
        bottom = [0] * len(units)
        colors = plt.get_cmap("viridis")
        for n, band in enumerate(outputs.age_bands):
            vals = [per[(u, band)] for u in units]
            ax1.bar(units, vals, bottom=bottom, label=band, color=colors(n / max(1, len(outputs.age_bands) - 1)))
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        year = outputs.result.year
        ax1.set_title(t(f"{year}年1月1日各年龄组参保人数", f"Enrollees on Jan 1, {year}, by age band"))
        ax1.set_ylabel(t("人", "persons"))
        ax1.set_ylim(0, max([1, *bottom]) * 1.3)  # room for the legend above the bars
        ax1.legend(fontsize=7, ncols=4, loc="upper center")
        labels = [r["unit_id"] for r in ms]
        ax2.barh(labels, [r["gained"] for r in ms], color="tab:green", label=t("转入", "gained"))
        ax2.barh(labels, [-r["lost"] for r in ms], color="tab:red", label=t("转出", "lost"))
        ax2.plot([r["net"] for r in ms], labels, "k|", markersize=12, label=t("净变化", "net"))
        ax2.axvline(0, color="black", linewidth=0.6)
        ax2.invert_yaxis()
        top = len(ms) == _CHART_UNITS
        ax2.set_title(t(f"{outputs.result.year - 1}→{outputs.result.year}年乡镇级机构人员流动"
                        f"{'（前' + str(_CHART_UNITS) + '）' if top else ''}",
                        f"Movement {outputs.result.year - 1} -> {outputs.result.year} (township tier"
                        f"{', top ' + str(_CHART_UNITS) if top else ''})"))
        ax2.set_xlabel(t("人", "persons"))
        ax2.legend(fontsize=7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


_CHART_UNITS = 30
_CSS = ("body{font-family:sans-serif;margin:2em;max-width:72em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}th{background:#eee}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}")


def report_html(outputs: EnrollmentOutputs) -> str:
    """The enrollment report (定点诊疗报告) as one HTML page."""
    r = outputs.result
    names = outputs.names
    parts = [(f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>定点诊疗 {r.year} / Designated care "
             f"{r.year}</title><style>{_CSS}</style></head><body>"),
             f"<h1>{r.year} 年度定点诊疗 / Designated care for {r.year}</h1>",
             (f"<p>选择窗口 / switch window: {r.window[0].isoformat()} – {r.window[1].isoformat()}"
             f"（含首尾 / both days included）</p>"),
             "<h2>定点来源 / Where designations come from</h2>",
             _table(["来源 / source", "人数 / persons"], [[k, v] for k, v in r.by_source.items()]
                    + [["合计 / total", r.persons]])]
    reasons = pc.value_counts(r.refused.column("reason")).to_pylist() if r.refused.num_rows else []
    parts += ["<h2>被拒绝的选择 / Refused choices</h2>",
              _table(["原因 / reason", "次数 / choices"],
                     sorted(([c["values"], c["counts"]] for c in reasons), key=lambda x: (-x[1], x[0])))
              if reasons else "<p>无 / none</p>"]
    parts.append(f"<p>无法定点（参保区县没有医共体）/ not designated (county without a consortium): "
                 f"{r.unassigned.num_rows}; 上年定点已失效 / stale designations of {r.year - 1}: "
                 f"{r.stale_carried.num_rows}</p>")
    parts += [f"<h2>人头数（{r.year}-01-01）/ Head counts on Jan 1</h2>",
              f"<img alt='head counts and movement' src='{_chart(outputs)}'>"]
    cons_rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in _level(outputs.headcounts, "consortium").to_pylist():
        cons_rows[row["unit_id"]][row["age_band"]] += row["enrollees"]
        cons_rows[row["unit_id"]][row["insurance"]] += row["enrollees"]
    parts.append(_table(
        ["医共体 / consortium", *outputs.age_bands, "居民 / resident", "职工 / employee", "合计 / total"],
        [[f"{u} {names.get(u, '')}", *[v[b] for b in outputs.age_bands], v[Insurance.RESIDENT], v[Insurance.EMPLOYEE],
          v[Insurance.RESIDENT] + v[Insurance.EMPLOYEE]] for u, v in sorted(cons_rows.items())]))
    parts.append("<h2>各机构人头数与变化 / Enrollees and movement per institution</h2>")
    if not outputs.previous_year_known:
        parts.append(f"<p>没有 {r.year - 1} 年的定点数据，全部计为新增 / no designations for {r.year - 1} were "
                     "given: every enrollee counts as gained.</p>")
    parts.append(_table(
        ["层级 / level", "机构 / unit", "名称 / name", "医共体 / consortium", f"{r.year - 1}", f"{r.year}",
         "增加 / gained", "减少 / lost", "净变化 / net"],
        [[m["level"], m["unit_id"], names.get(m["unit_id"], ""), m["consortium_id"], m["previous"], m["current"],
          m["gained"], m["lost"], m["net"]] for m in outputs.movement_summary.to_pylist()]))
    flows = outputs.movements.slice(0, 20).to_pylist()
    parts += ["<h2>主要流向（前 20）/ Largest flows (top 20)</h2>",
              _table(["从 / from", "到 / to", "人数 / persons"],
                     [[f.get("from_village_id") or "（新参保 / new）", f.get("to_village_id") or "（退出 / left）",
                       f["persons"]] for f in flows])]
    parts.append("</body></html>\n")
    return "\n".join(parts)
