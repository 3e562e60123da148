"""``yigongti workforce staffing --data DIR --year Y --out OUT``: the stationing rules judged for every township
centre and consortium (派驻规则达标情况), the 2024 indicators 2.1 and 2.3 and the training hours of primary staff,
from the folder's ``staff``, ``stationing`` and ``training`` tables."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import DataOption, OutOption, PolicyOption, app, console, exits_on_invalid_input
from yigongti.core.labels import label
from yigongti.core.policy_files import resolve_policy
from yigongti.workforce.engine import write_staffing

__all__ = ["staffing_command", "workforce_app"]  # the commands this module adds

workforce_app = typer.Typer(help="人员县管乡用、乡聘村用 / pooled staff and care quality", no_args_is_help=True)
app.add_typer(workforce_app, name="workforce")


@workforce_app.command("staffing")
@exits_on_invalid_input
def staffing_command(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year judged / 年度")],
    out: OutOption,
    policy: PolicyOption = None,
) -> None:
    """派驻达标与人员指标 / Judge the stationing rules day by day for the year (policy [workforce]: a lead-hospital
    doctor of attending level or above at every township centre, city experts in every consortium, every day);
    writes OUT/stationing_coverage.csv, OUT/workforce_indicators.csv (2.1, 2.3) and OUT/training_hours.csv."""
    pol = resolve_policy(data, policy)
    s = write_staffing(data, year, pol.workforce, out)
    console.print(f"{year}: {label('staffing_rule', 'attending')}: {s.townships_met} / {s.townships} "
                  f"乡镇卫生院达标 / township centres met")
    console.print(f"{year}: {label('staffing_rule', 'city_experts')}: {s.consortia_met} / {s.consortia} "
                  f"医共体达标 / consortia met")
    for path in s.files:
        console.print(f"[green]written to / 已写入 {path}[/green]")
