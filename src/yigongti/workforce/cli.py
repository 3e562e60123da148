"""``yigongti workforce staffing --data DIR --year Y --out OUT``: the stationing rules judged for every township
centre and consortium (派驻规则达标情况), the 2024 indicators 2.1 and 2.3 and the training hours of primary staff,
from the folder's ``staff``, ``stationing`` and ``training`` tables."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import DataOption, OutOption, PolicyOption, app, console, exits_on_invalid_input
from yigongti.core.dates import china_now
from yigongti.core.db import masked_url, resolve_url
from yigongti.core.labels import label
from yigongti.core.policy_files import resolve_policy
from yigongti.workforce.engine import write_export, write_staffing
from yigongti.workforce.service import export_tables
from yigongti.workforce.uow import WorkforceUnitOfWork

__all__ = ["export_command", "staffing_command", "workforce_app"]  # the commands this module adds

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


@workforce_app.command("export")
def export_command(
    year: Annotated[int, typer.Option("--year", help="year / 年度")],
    out: OutOption,
    db: Annotated[str | None, typer.Option("--db", help="database URL or SQLite file / 数据库地址")] = None,
) -> None:
    """导出人员与质控数据 / Write the database's staff (with the year's income), stationing, training, scored
    prescription reviews and record checks of the year as data-folder tables into OUT (staff.csv, stationing.csv,
    training.csv, prescription_reviews.csv, record_checks.csv): put beside a county's folder, ``yigongti appraise``
    computes 2.1, 2.3 and the quality measures from them."""
    url = resolve_url(db)
    tables = export_tables(WorkforceUnitOfWork(url), year=year, now=china_now())
    for path in write_export(tables, out):
        console.print(f"[green]written to / 已写入 {path}[/green]")
    console.print(f"{masked_url(url)}: " + ", ".join(f"{k} {len(v)}" for k, v in tables.items()))
