"""``yigongti public-health --data DIR --year Y --out OUT``: infectious-disease report cards from a year's claims
(传染病报告卡), for a county without the doctor workstation."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import DataOption, OutOption, PolicyOption, app, console, exits_on_invalid_input
from yigongti.core.dates import china_now
from yigongti.core.db import masked_url, resolve_url
from yigongti.core.policy_files import resolve_policy
from yigongti.public_health.domain import CLASS_LABELS
from yigongti.public_health.engine import load_catalogue, notifiable_claims, write_reports
from yigongti.public_health.service import import_claims
from yigongti.public_health.uow import PublicHealthUnitOfWork

__all__ = ["public_health_command"]  # the commands this module adds



@app.command("public-health")
@exits_on_invalid_input
def public_health_command(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year of the claims (admit date) / 年度")],
    out: OutOption,
    policy: PolicyOption = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="also import the cards into this database (URL or SQLite file), where they are tracked to "
                     "submission; a claim already imported is skipped / 同时导入数据库")] = None,
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
    if db is not None:
        url = resolve_url(db)
        catalogue = load_catalogue(pol.public_health, data)
        claims = notifiable_claims(data, year, catalogue)
        done = import_claims(PublicHealthUnitOfWork(url), claims, catalogue=catalogue, policy=pol.public_health,
                             now=china_now())
        console.print(f"{masked_url(url)}: {done.notifiable} notifiable claims / 条; {done.opened} cards opened / "
                      f"新建报告卡, {done.joined} joined / 并入, {done.skipped} already imported / 已导入, "
                      f"{done.unknown} of unknown persons or institutions / 人员或机构不在库中")
