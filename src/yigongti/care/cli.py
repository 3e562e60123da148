"""``yigongti care``: family doctors and chronic disease (家庭医生签约、慢病管理) from files."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import DataOption, EngineOption, OutOption, PolicyOption, app, console, exits_on_invalid_input

__all__ = ["care_app"]

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
