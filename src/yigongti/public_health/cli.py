"""``yigongti public-health --data DIR --year Y --out OUT``: infectious-disease report cards from a year's claims
(传染病报告卡), for a county without the doctor workstation."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import DataOption, OutOption, PolicyOption, app, console, exits_on_invalid_input
from yigongti.core.policy_files import resolve_policy
from yigongti.public_health.domain import CLASS_LABELS
from yigongti.public_health.engine import write_reports

__all__ = ["public_health_command"]  # the commands this module adds


@app.command("public-health")
@exits_on_invalid_input
def public_health_command(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year of the claims (admit date) / 年度")],
    out: OutOption,
    policy: PolicyOption = None,
) -> None:
    """从结算数据生成法定传染病报告卡 / Report cards of notifiable infectious diseases from the year's claims: each
    claim whose diagnosis is on the disease list is a diagnosis at its admit date's midnight; repeat diagnoses of a
    person and disease within the episode window join one card. Writes OUT/infectious_reports.csv."""
    pol = resolve_policy(data, policy)
    summary = write_reports(data, year, pol.public_health, out)
    console.print(f"{year}: {summary.cards} report cards / 张报告卡")
    for cls, n in summary.by_class.items():
        console.print(f"  {CLASS_LABELS[cls]}: {n}")
    console.print(f"[green]written to / 已写入 {summary.path}[/green]")
