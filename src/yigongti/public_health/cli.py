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
from yigongti.public_health.engine import (
    foodborne_claims,
    load_catalogue,
    load_foodborne,
    notifiable_claims,
    write_reports,
)
from yigongti.public_health.service import import_claims, import_foodborne_claims
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
    person and disease within the episode window join one card. Writes OUT/infectious_reports.csv, and
    OUT/foodborne_reports.csv from the claims on the food-borne list (食源性疾病病例报告) the same way."""
    pol = resolve_policy(data, policy)
    cases = load_foodborne()
    summary = write_reports(data, year, pol.public_health, out, cases)
    console.print(f"{year}: {summary.cards} report cards / 张报告卡")
    for cls, n in summary.by_class.items():
        console.print(f"  {CLASS_LABELS[cls]}: {n}")
    console.print(f"{year}: {summary.foodborne} food-borne case reports / 份食源性疾病病例报告")
    console.print(f"[green]written to / 已写入 {summary.path}, {summary.foodborne_path}[/green]")
    if db is not None:
        url = resolve_url(db)
        catalogue = load_catalogue(pol.public_health, data)
        claims = notifiable_claims(data, year, catalogue)
        done = import_claims(PublicHealthUnitOfWork(url), claims, catalogue=catalogue, policy=pol.public_health,
                             now=china_now())
        console.print(f"{masked_url(url)}: {done.matching} notifiable claims / 条; {done.opened} cards opened / "
                      f"新建报告卡, {done.joined} joined / 并入, {done.skipped} already imported / 已导入, "
                      f"{done.unknown} of unknown persons or institutions / 人员或机构不在库中")
        food = import_foodborne_claims(PublicHealthUnitOfWork(url), foodborne_claims(data, year, cases), cases=cases,
                                       policy=pol.public_health, now=china_now())
        console.print(f"{masked_url(url)}: {food.matching} food-borne claims / 条食源性疾病; {food.opened} reports "
                      f"opened / 新建病例报告, {food.joined} joined / 并入, {food.skipped} already imported / 已导入, "
                      f"{food.unknown} of unknown persons or institutions / 人员或机构不在库中")
