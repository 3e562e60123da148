"""``yigongti package``: the internal package at the start of the year (年初医共体内部包干)."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.budget.service import package_year, write_package
from yigongti.core.cli import DataOption, EngineOption, OutOption, PolicyOption, app, console, exits_on_invalid_input
from yigongti.core.money import format_yuan
from yigongti.core.policy_files import resolve_policy


@app.command("package")
@exits_on_invalid_input
def package(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="the year of the package / 包干年度")],
    out: OutOption,
    policy: PolicyOption = None,
    engine: EngineOption = "duckdb",
) -> None:
    """年初按职责、近年统计和定点人头把预算包干到成员单位，写出 package.csv / At the start of the year, allocate each
    consortium's prospective budget to its members by duty, last year's costs and designated heads (policy
    [package]); writes package.csv (runs enroll first when the designations are not in DIR). The same package that
    ``yigongti settle`` charges the members' monthly statements against."""
    pol = resolve_policy(data, policy)
    lines = package_year(data, year, pol, backend=engine)
    write_package(lines, out)
    totals: dict[str, int] = {}
    for ln in lines:
        totals[ln.consortium_id] = totals.get(ln.consortium_id, 0) + ln.allocation
    for c, total in sorted(totals.items()):
        members = sum(1 for ln in lines if ln.consortium_id == c and ln.allocation)
        console.print(f"{c}: 包干 / package {format_yuan(total)}, {members} 家成员单位 / members")
    console.print(f"[green]OK[/green] {out / 'package.csv'}")


__all__ = ["package"]  # the commands this module adds
