"""``yigongti settle``: capitation budget and year-end settlement (总额预算与年终清算)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yigongti.budget.opening_service import resolve_opening
from yigongti.budget.service import settle_year, write_settlement
from yigongti.core.cli import (
    DataOption,
    EngineOption,
    OutOption,
    PolicyOption,
    ReportsOption,
    SparkMasterOption,
    app,
    console,
    exits_on_invalid_input,
    use_engine,
)
from yigongti.core.money import format_yuan
from yigongti.core.policy_files import resolve_policy

OpeningOption = Annotated[Path | None, typer.Option(
    "--opening", help="上年的 surplus.csv（或 opening 表）：上年结转与风险基金余额 / last year's OUT/surplus.csv "
                      "(or an opening table): the surplus carried in and the risk reserve's balance; default "
                      "DATA/opening.csv when there is one, else 0", dir_okay=False)]


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
    opening: OpeningOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """按人头总额预算并年终清算，输出 settlement/allocation/ledger 与各医共体报告 / Budget and settle a year:
    writes settlement.csv, allocation.csv, ledger.csv, surplus.csv (the surplus's reserve, carry-forward and
    distribution), package.csv and member_statements.csv (the internal package and the members' monthly
    statements), interim.csv (when the policy settles quarterly) and a report per consortium (runs enroll and
    adjudicate first when their outputs are not in DIR). The same settlement as ``yigongti run``; a province's
    Parquet claims stream through the engine by themselves. ``--opening`` last year's surplus.csv: the year opens
    with the surplus it carried forward and the risk reserve's balance (checked first; nothing is written on a
    problem). ``--engine spark``: enroll, adjudicate, the appraisal's measures and the settlement's head counts
    and spending run on Spark, person-keyed tables spread by county; the money (budgets, shares, rounding) and the
    reports are computed on this machine from the sums Spark returns. Parquet claims are read by the executors
    themselves, never through the driver."""
    engine = use_engine(engine, spark_master)
    pol = resolve_policy(data, policy)
    balances = None if opening is None else resolve_opening(data, year, opening)
    result = settle_year(data, year, pol, backend=engine, appraise=appraise, opening=balances)
    write_settlement(result, out, reports=reports)
    for s in result.consortia:
        console.print(
            f"{s.consortium_id}: 预算 / budget {format_yuan(s.budget.prospective)}, "
            f"支出 / spent {format_yuan(s.in_network_spend + s.out_of_network_deductions)}, "
            f"结余 / balance {format_yuan(s.balance)}, 等级 / grade {s.grade}, "
            f"待分配 / to share {format_yuan(s.amount_to_share)}")
    console.print(f"[green]OK[/green] {out} (inputs hash / 输入指纹 {result.inputs_hash[:16]}...)")


__all__ = ["settle"]  # the commands this module adds
