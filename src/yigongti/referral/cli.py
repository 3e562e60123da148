"""``yigongti referral``: two-way referral from files (双向转诊): first-visit flags and proposed down-referrals from
the claims, and the monthly internal statement of referral services between members."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import DataOption, OutOption, PolicyOption, app, console, exits_on_invalid_input

__all__ = ["export_cmd", "flags_cmd", "referral_app", "statement_cmd"]

DbOption = Annotated[str | None, typer.Option(
    "--db", help="database URL or SQLite file (default: $YIGONGTI_DB, else ./yigongti.sqlite) / 数据库地址")]

referral_app = typer.Typer(help="双向转诊 / two-way referral", no_args_is_help=True)
app.add_typer(referral_app, name="referral")


@referral_app.command("flags")
@exits_on_invalid_input
def flags_cmd(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year of the claims (admit date) / 年度")],
    out: OutOption,
    policy: PolicyOption = None,
) -> None:
    """基层首诊提示与建议下转 / From the year's claims: county-tier visits for a disease first seen at primary level
    without a referral (OUT/referral_flags.csv) and discharged county-tier admissions for a refer-down disease not
    referred down (OUT/down_referral_proposals.csv)."""
    from yigongti.core.policy_files import resolve_policy
    from yigongti.referral.engine import write_flags

    pol = resolve_policy(data, policy)
    summary = write_flags(data, year, pol.referral, out)
    console.print(f"{year}: {summary.flags} 基层首诊提示 / first-visit flags, {summary.proposals} 建议下转 / "
                  f"proposed down-referrals")
    console.print(f"[green]written to / 已写入 {summary.flags_path}, {summary.proposals_path}[/green]")


@referral_app.command("export")
@exits_on_invalid_input
def export_cmd(out: OutOption, db: DbOption = None) -> None:
    """导出转诊单 / Every referral of the workflow in the database as OUT/referrals.csv (the data contract's
    ``referrals`` table): put it in the data folder and ``yigongti appraise`` computes the referral indicators (S3,
    S4, S4b, S5) from it."""
    import pyarrow as pa

    from yigongti.core.db import masked_url, resolve_url
    from yigongti.datafolder.folder import write_table
    from yigongti.referral.service import CONTRACT_COLUMNS, referral_rows
    from yigongti.referral.uow import ReferralUnitOfWork

    url = resolve_url(db)
    rows = referral_rows(ReferralUnitOfWork(url))
    table = pa.table({c: pa.array([r[c] or None for r in rows], pa.string()) for c in CONTRACT_COLUMNS})
    path = write_table(table, out, "referrals")
    console.print(f"{masked_url(url)}: {len(rows)} 转诊单 / referrals")
    console.print(f"[green]written to / 已写入 {path}[/green]")


@referral_app.command("statement")
@exits_on_invalid_input
def statement_cmd(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year / 年度")],
    out: OutOption,
    policy: PolicyOption = None,
) -> None:
    """成员单位内部结算单 / Each member's monthly internal statement for the year: completed referrals (table
    referrals) and remote diagnoses and consultations (table remote_diagnoses) between members of a consortium,
    priced by policy [referral.prices]; each consortium's month sums to zero. Writes OUT/internal_statement.csv."""
    from yigongti.core.money import format_yuan
    from yigongti.core.policy_files import resolve_policy
    from yigongti.referral.engine import write_statement

    pol = resolve_policy(data, policy)
    summary = write_statement(data, year, pol.referral, out)
    console.print(f"{year}: {summary.services} 项服务 / services priced, {format_yuan(summary.moved)} 元 / yuan "
                  f"settled between members; {summary.skipped} 项不在同一医共体内 / not between members of one "
                  f"consortium")
    console.print(f"[green]written to / 已写入 {summary.path}[/green]")
