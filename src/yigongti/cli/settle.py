"""``yigongti settle``: capitation budget and year-end settlement (总额预算与年终清算)."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.cli._app import (
    DataOption,
    EngineOption,
    OutOption,
    PolicyOption,
    ReportsOption,
    app,
    console,
    exits_on_invalid_input,
)
from yigongti.domain.money import format_yuan
from yigongti.service.adjudication import parquet_claims_path, parquet_rows
from yigongti.service.policy import resolve_policy
from yigongti.service.settlement import settle_data, settle_folder, write_settlement
from yigongti.service.year import settle_appraised
from yigongti.store.datafolder import find_table_file

STREAM_CLAIMS = 10_000_000  # Parquet claims above this are settled by streaming through the engine


@app.command("settle")
@exits_on_invalid_input
def settle(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="settlement year / 清算年度")],
    out: OutOption,
    policy: PolicyOption = None,
    engine: EngineOption = "duckdb",
    reports: ReportsOption = True,
    appraise: Annotated[bool, typer.Option("--appraise/--no-appraise", help="P4P scores from the appraisal (a scores "
                                           "table or the policy overrides them); --no-appraise: only those "
                                           "/ 按绩效考核得分发放绩效预留金")] = True,
    stream: Annotated[bool | None, typer.Option(
        "--stream/--no-stream", help="Parquet claims adjudicated and summed in the engine, never held in memory "
                                     "(default: above 10 million claims) / 流式清算")] = None,
) -> None:
    """按人头总额预算并年终清算，输出 settlement/allocation/ledger 与各医共体报告 / Budget and settle a year:
    writes settlement.csv, allocation.csv, ledger.csv and a report per consortium (runs enroll and adjudicate first
    when their outputs are not in DIR)."""
    pol = resolve_policy(data, policy)
    claims = parquet_claims_path(data)
    if stream is None:
        try:
            stream = claims is not None and parquet_rows(claims) > STREAM_CLAIMS
        except (OSError, ValueError):  # an unreadable part: reading the folder names it (exit 2)
            stream = False
    if stream and (claims is None or find_table_file(data, "adjudicated") is not None):
        raise typer.BadParameter("--stream needs Parquet claims and no adjudicated table / 需 Parquet 结算清单")
    if stream and engine != "duckdb":
        raise typer.BadParameter("Parquet claims are streamed on DuckDB / 流式清算仅支持 DuckDB")
    if stream:
        # a province's Parquet claims: adjudicated and aggregated in the engine, never held in memory; the P4P
        # scores come from a scores table or the policy (the appraisal holds a county's claims in memory)
        if appraise:
            console.print("Parquet claims: P4P scores from the scores table or policy (no appraisal) / "
                          "Parquet 结算清单：绩效得分取自 scores 表或政策配置")
        result = settle_folder(data, year, pol, backend=engine)
    elif appraise:
        result = settle_appraised(data, year, pol, backend=engine)
    else:
        result = settle_data(data, year, pol, backend=engine)
    write_settlement(result, out, reports=reports)
    for s in result.consortia:
        console.print(
            f"{s.consortium_id}: 预算 / budget {format_yuan(s.budget.prospective)}, "
            f"支出 / spent {format_yuan(s.in_network_spend + s.out_of_network_deductions)}, "
            f"结余 / balance {format_yuan(s.balance)}, 等级 / grade {s.grade}, "
            f"待分配 / to share {format_yuan(s.amount_to_share)}")
    console.print(f"[green]OK[/green] {out} (inputs hash / 输入指纹 {result.inputs_hash[:16]}...)")
