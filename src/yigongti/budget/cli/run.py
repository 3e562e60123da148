"""``yigongti run --data DIR --year Y --out OUT``: the whole year in one command (年度运行)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from yigongti.benefits.cli import FormatOption, SortOption, output_format
from yigongti.budget.cli.settle import OpeningOption
from yigongti.budget.year import STEPS, YearResult, run_year
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

__all__ = ["phase_times", "run_and_report"]

_STEP_NAMES = {"check": "检查 / check",
               "enroll": "定点 / enroll", "adjudicate": "待遇结算 / adjudicate", "appraise": "绩效考核 / appraise",
               "settle": "总额清算 / settle"}


def phase_times(started: dict[str, float], end: float) -> str:
    """One line with the seconds of each step (各步用时), from when each step started to when the next did."""
    names = [n for n in STEPS if n in started]
    if not names:
        return ""
    ends = [started[n] for n in names[1:]] + [end]
    parts = [f"{_STEP_NAMES[n]} {e - started[n]:.1f} s" for n, e in zip(names, ends, strict=True)]
    return f"用时 / time: {'; '.join(parts)}; 合计 / total {end - started[names[0]]:.1f} s"


def run_and_report(data: Path, year: int, out: Path, *, policy: Path | None = None, engine: str = "duckdb",
                   reports: bool = True, opening: Path | None = None, fmt: str | None = None,
                   sort: bool | None = None) -> YearResult:
    """Run the year with a progress line per step, then print what a bureau reads first."""
    pol = resolve_policy(data, policy)
    started: dict[str, float] = {}
    with console.status("") as status:
        def step(name: str) -> None:
            started[name] = time.perf_counter()
            status.update(f"[{STEPS.index(name) + 1}/{len(STEPS)}] {_STEP_NAMES[name]} ...")
        result = run_year(data, year, out, policy=pol, backend=engine, reports=reports, step=step,
                          opening=opening, fmt=fmt, sort=sort)
    console.print(phase_times(started, time.perf_counter()))
    console.print(f"{year}: {result.designated:,} 人已定点 / persons designated; {result.claims:,} 单已结算 / claims")
    for s in result.settlement.consortia:
        console.print(
            f"  {s.consortium_id}: 预算 / budget {format_yuan(s.budget.prospective)}, "
            f"支出 / spent {format_yuan(s.in_network_spend + s.out_of_network_deductions)}, "
            f"结余 / balance {format_yuan(s.balance)}, 等级 / grade {s.grade}")
    console.print(f"[green]结果已写入 / results in[/green] {out}")
    return result


@app.command("run")
@exits_on_invalid_input
def run(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="the year / 年度")],
    out: OutOption,
    policy: PolicyOption = None,
    engine: EngineOption = "duckdb",
    reports: ReportsOption = True,
    opening: OpeningOption = None,
    fmt: FormatOption = None,
    sort: SortOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """运行一个年度：定点、待遇结算、绩效考核、总额清算 / Run a year: enroll, adjudicate, appraise and settle
    (``--opening`` last year's surplus.csv: what the year brings in). ``--engine spark``: every step's engine
    (designation, adjudication, measures, head counts and spending) runs on Spark; money and reports on this
    machine, as for ``settle``. The adjudicated file follows the claims' format (Parquet claims give
    adjudicated.parquet, in no order unless ``--sort``), as ``adjudicate``'s does; ``--format`` chooses."""
    engine = use_engine(engine, spark_master)
    run_and_report(data, year, out, policy=policy, engine=engine, reports=reports, opening=opening,
                   fmt=output_format(data, fmt), sort=sort)
