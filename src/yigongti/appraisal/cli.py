"""``yigongti appraise``: performance appraisal (绩效考核): indicators, scores and grades."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from yigongti.appraisal.indicators import IndicatorSetError, ScopeKind
from yigongti.core.cli import (
    EXIT_INVALID,
    DataOption,
    EngineOption,
    OutOption,
    PolicyOption,
    ReportsOption,
    SparkMasterOption,
    app,
    console,
    err_console,
    exits_on_invalid_input,
    use_engine,
)


@app.command("appraise")
@exits_on_invalid_input
def appraise(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="appraisal year / 考核年度")],
    out: OutOption,
    policy: PolicyOption = None,
    indicators: Annotated[str | None, typer.Option(
        "--indicators", help="indicator set: a TOML file or a packaged id (default: DIR/indicator_set.toml, else "
                             "national-2024) / 指标体系")] = None,
    engine: EngineOption = "duckdb",
    reports: ReportsOption = True,
    spark_master: SparkMasterOption = None,
) -> None:
    """计算监测指标、考核得分与等级，输出 indicators.csv、scores.csv 与考核报告 / Compute the indicators, scores and
    grades of a year: writes indicators.csv, scores.csv, points.csv and appraisal.html / appraisal.xlsx (runs enroll
    and adjudicate first when their outputs are not in DIR). ``--engine spark``: enroll, adjudicate and the
    indicators' measures run on Spark; the scores and reports are computed on this machine from the measures."""
    from yigongti.appraisal.indicator_sets import folder_indicator_set, load_indicator_set
    from yigongti.appraisal.service import appraise_folder, write_appraisal
    from yigongti.core.policy_files import resolve_policy

    engine = use_engine(engine, spark_master)
    try:
        iset = load_indicator_set(indicators) if indicators else folder_indicator_set(data)
    except IndicatorSetError as exc:
        err_console.print(str(exc), markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    pol = resolve_policy(data, policy)
    result = appraise_folder(data, year, pol, indicator_set=iset, backend=engine)
    write_appraisal(result, out, reports=reports)
    for r in result.scores.to_pylist():
        if r["scope_kind"] == ScopeKind.CONSORTIUM:
            console.print(f"{r['unit_id']} {result.names.get(r['unit_id'], '')}: 得分 / score {r['score']}, "
                          f"等级 / grade {r['grade']}")
    not_ok = sum(1 for s in result.indicators.column("status").to_pylist() if s != "ok")
    console.print(f"{result.indicators.num_rows} 指标值 / indicator values, {not_ok} 不可计算 / not computable; "
                  f"{result.scores.num_rows} 得分 / scores")
    if result.pending:
        console.print(f"无可计算指标，未评分 / no computable indicator, not scored: {', '.join(result.pending)}")
    for note in result.notes:
        console.print(note)
    console.print(f"[green]OK[/green] {out}")


@app.command("indicator-set")
def indicator_set(
    set_id: Annotated[str, typer.Argument(help="packaged set id / 指标体系编号")] = "national-2024",
) -> None:
    """打印内置指标体系（可另存为 indicator_set.toml 后修改）/ Print a packaged indicator set as TOML, a template for a
    county's own indicator_set.toml."""
    from yigongti.appraisal.indicator_sets import packaged_set_text

    try:
        text = packaged_set_text(set_id)
    except IndicatorSetError as exc:
        err_console.print(str(exc), markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    sys.stdout.write(text)


__all__ = ["appraise", "indicator_set"]  # the commands this module adds
