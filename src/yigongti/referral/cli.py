"""``yigongti referral``: two-way referral from files (双向转诊): first-visit flags and proposed down-referrals from
the claims, and the monthly internal statement of referral services between members."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import DataOption, OutOption, PolicyOption, app, console, exits_on_invalid_input

__all__ = ["flags_cmd", "referral_app"]

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
