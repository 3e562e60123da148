"""``yigongti care``: family doctors and chronic disease (家庭医生签约、慢病管理) from files."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import DataOption, EngineOption, OutOption, PolicyOption, app, console, exits_on_invalid_input

__all__ = ["care_app", "gp_pay_cmd", "measures_cmd", "register_cmd"]

DbOption = Annotated[str | None, typer.Option(
    "--db", help="database URL or SQLite file (default: $YIGONGTI_DB, else ./yigongti.sqlite) / 数据库地址")]

care_app = typer.Typer(help="家庭医生签约与慢病管理 / family doctors and chronic disease", no_args_is_help=True)
app.add_typer(care_app, name="care")


@care_app.command("measures")
@exits_on_invalid_input
def measures_cmd(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year / 年度")],
    out: OutOption,
    policy: PolicyOption = None,
    engine: EngineOption = "duckdb",
) -> None:
    """按月计算慢病管理指标（登记、纳入管理、规范管理率、控制率、未随访率、失访率），输出 care_measures.csv /
    The chronic-disease measures by month for each village clinic, township centre, consortium and county: writes
    care_measures.csv."""
    from yigongti.care.batch import measures_folder, write_measures
    from yigongti.core.policy_files import resolve_policy

    pol = resolve_policy(data, policy)
    result = measures_folder(data, year, pol, backend=engine)
    path = write_measures(result, out)
    console.print(f"{result.patients} 慢病患者 / chronic patients, {result.table.num_rows} 行 / rows")
    console.print(f"[green]OK[/green] {path}")


@care_app.command("gp-pay")
@exits_on_invalid_input
def gp_pay_cmd(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year / 年度")],
    out: OutOption,
    policy: PolicyOption = None,
    engine: EngineOption = "duckdb",
) -> None:
    """按签约人头、服务质量和农村补贴计算每位家庭医生的年度薪酬，输出 gp_pay.csv / Each GP's pay for the year:
    contracted heads x per-head pay, quality pay from the control and standardized-management rates of the GP's
    chronic patients, and the rural allowance (policy [care.gp_pay]); writes gp_pay.csv."""
    from yigongti.care.batch import gp_pay_folder, write_gp_pay
    from yigongti.core.money import format_yuan
    from yigongti.core.policy_files import resolve_policy

    pol = resolve_policy(data, policy)
    rows = gp_pay_folder(data, year, pol, backend=engine)
    path = write_gp_pay(rows, year, out)
    total = sum(r.pay.total for r in rows)
    console.print(f"{len(rows)} 位家庭医生 / GPs, 合计 / total {format_yuan(total)} 元 / yuan")
    console.print(f"[green]OK[/green] {path}")


@care_app.command("register")
@exits_on_invalid_input
def register_cmd(
    data: DataOption,
    db: DbOption = None,
    policy: PolicyOption = None,
) -> None:
    """由结算记录的诊断登记慢病患者（高血压 I10-I15、糖尿病 E10-E14）入库 / Register the chronic patients of the
    folder's claims in the database (the persons loaded before with ``yigongti load``); the earliest claim of each
    person and disease is kept, so running it again changes nothing."""
    from yigongti.care.batch import claim_rows
    from yigongti.care.service import register_from_claims
    from yigongti.care.uow import CareUnitOfWork
    from yigongti.core.db import masked_url, resolve_url
    from yigongti.core.policy_files import resolve_policy
    from yigongti.datafolder.folder import read_folder
    from yigongti.platform.settings import Clock

    pol = resolve_policy(data, policy)
    claims = read_folder(data, tables=["claims"]).get("claims")
    url = resolve_url(db)
    uow = CareUnitOfWork(url)
    try:
        n = register_from_claims(uow, claim_rows(claims), policy=pol.care, now=Clock().now()) if claims else 0
    finally:
        uow.dispose()
    console.print(f"{n} 新登记 / new registry entries -> {masked_url(url)}")
    console.print("[green]OK[/green]")
