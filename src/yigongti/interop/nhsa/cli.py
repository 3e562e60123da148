"""``yigongti nhsa import --data DIR --records FILE [--records FILE ...] --out OUT``: the national insurance
platform's settlement records as claims (导入国家医保信息平台结算记录)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yigongti.core.cli import DataOption, OutOption, PolicyOption, app, console, exits_on_invalid_input
from yigongti.core.money import format_yuan
from yigongti.core.policy_files import resolve_policy
from yigongti.interop.nhsa.records import ENCODINGS
from yigongti.interop.nhsa.report import write_comparison_reports
from yigongti.interop.nhsa.service import adjudicate_year, export_results, import_records

nhsa_app = typer.Typer(help="国家医保信息平台 / the national medical insurance information platform's formats",
                       no_args_is_help=True)
app.add_typer(nhsa_app, name="nhsa")


@nhsa_app.command("import")
@exits_on_invalid_input
def import_command(
    data: DataOption,
    records: Annotated[list[Path], typer.Option(
        "--records", help="settlement export (CSV, .xlsx, .jsonl), or a settlement list (4101, told by its content); "
                          "repeat for more files / 结算记录或结算清单导出文件")],
    out: OutOption,
    settlement_list: Annotated[list[Path] | None, typer.Option(
        "--settlement-list", help="settlement list export (4101; JSON lines of messages, or CSV/.xlsx of setlinfo, "
                                  "diseinfo or oprninfo); repeat for more files / 医保结算清单")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help=f"text encoding of the exports "
                                                                    f"({', '.join(ENCODINGS)}; default: detected) / "
                                                                    "文件编码")] = None,
) -> None:
    """导入医保结算记录（2207 门诊结算、2304 住院结算及其撤销 2208、2305；4101 结算清单）/ Import the platform's
    settlement records (and their settlement lists: main diagnosis, referrals) as claims: writes OUT/claims.csv
    (the contract's columns and nhsa_fund_paid) and OUT/import_report.csv (one row per record and list row:
    imported, cancelled or refused, with the reason)."""
    if encoding is not None and encoding.lower() not in ENCODINGS:
        raise typer.BadParameter(f"--encoding must be one of {', '.join(ENCODINGS)} / 编码应为其一")
    s = import_records(data, records, out, encoding=encoding.lower() if encoding else None,
                       settlement_lists=settlement_list or [])
    console.print(f"{s.records:,} records / 条记录: imported / 导入 {s.imported:,}, cancelled / 撤销 {s.cancelled:,}, "
                  f"refused / 拒绝 {s.refused:,}; not balanced / 不平衡 {s.unbalanced:,}")
    if settlement_list or s.listed:
        console.print(f"  settlement list rows joined / 结算清单并入 {s.listed:,}; referrals / 转诊 {s.referrals:,}")
    console.print(f"  total cost / 医疗费总额 {format_yuan(s.total_cost)}; platform fund / 平台基金支付 "
                  f"{format_yuan(s.nhsa_fund_paid)}")
    for reason, n in sorted(s.refusals.items(), key=lambda kv: -kv[1])[:10]:
        console.print(f"  refused / 拒绝 {n:,}: {reason}")
    console.print(f"[green]written to / 已写入 {out / 'claims.csv'}, {out / 'import_report.csv'}[/green]")


@nhsa_app.command("export")
@exits_on_invalid_input
def export_command(
    data: DataOption,
    out: OutOption,
    year: Annotated[int | None, typer.Option("--year", help="adjudicate the claims of this year (admit date) first, "
                                                            "into OUT/adjudicated.csv / 先按年度结算")] = None,
    results: Annotated[Path | None, typer.Option(
        "--results", help="or: a folder with adjudicated.csv (or .parquet) already (yigongti adjudicate --out) / "
                          "或：已有的待遇结算结果目录")] = None,
    policy: PolicyOption = None,
) -> None:
    """导出结算结果为医保平台格式并对比基金支付 / The adjudication results in the platform's vocabulary
    (OUT/nhsa/setl_results.csv and .jsonl, OUT/nhsa/setl_list.jsonl) and our fund payment against the platform's
    (OUT/fund_comparison.csv, .html, .xlsx). ``--year Y`` adjudicates the data folder's claims of that year first
    (OUT/adjudicated.csv); ``--results DIR`` takes an adjudication done before."""
    if (year is None) == (results is None):
        raise typer.BadParameter("give --year (adjudicate now) or --results (adjudicated before), one of them / "
                                 "请给出 --year 或 --results 之一")
    if results is None:
        assert year is not None
        adjudicate_year(data, year, resolve_policy(data, policy), out)
        results = out
    s = export_results(data, results, out)
    assert s.comparison is not None
    files = [*s.files, *write_comparison_reports(s.comparison, out)]
    console.print(f"{s.records:,} settlements / 条结算, {s.lists:,} settlement lists / 份结算清单")
    if s.comparison.compared:
        theirs = sum(g.nhsa_fund_paid for g in s.comparison.groups)
        ours = sum(g.fund_paid for g in s.comparison.groups)
        differing = sum(g.differing for g in s.comparison.groups)
        console.print(f"  platform fund / 平台基金支付 {format_yuan(theirs)}; ours / 本平台 {format_yuan(ours)}; "
                      f"difference / 差额 {format_yuan(ours - theirs)}; {differing:,} claims differ / 笔不同")
    else:
        console.print("  [yellow]no platform fund payment in the results (nhsa_fund_paid) / 结果中没有平台基金支付"
                      "[/yellow]")
    console.print("[green]written to / 已写入[/green] " + ", ".join(str(f) for f in files))


__all__ = ["export_command", "import_command"]  # the commands this module adds
