"""``yigongti calibrate``: derive capitation weights from a year of claims (人头权重测算)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yigongti.budget.calibration import calibrate_data, calibration_toml, cost_by_age_png
from yigongti.core.cli import DataOption, PolicyOption, app, console, exits_on_invalid_input
from yigongti.core.policy_files import resolve_policy


@app.command("calibrate")
@exits_on_invalid_input
def calibrate(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year of claims / 理赔年度")],
    out: Annotated[Path, typer.Option("--out", help="policy fragment to write / 输出的配置片段")] = Path(
        "policy-fragment.toml"),
    policy: PolicyOption = None,
) -> None:
    """由一年的理赔测算年龄(及风险)权重，写出配置片段和按年龄费用图 / Derive age (and risk) weights from a year of
    claims: mean fund payment per person in the band / overall mean. Writes a policy TOML fragment and a chart
    (OUT with suffix -cost-by-age.png)."""
    pol = resolve_policy(data, policy)
    try:
        result = calibrate_data(data, year, pol)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(calibration_toml(result), encoding="utf-8")
    tmp.replace(out)
    chart = out.with_name(out.stem + "-cost-by-age.png")
    chart.write_bytes(cost_by_age_png(result))
    for b in result.bands:
        console.print(f"{b.min_age}+: {b.persons} 人 / persons, weight 权重 {b.weight}")
    for k, v in result.risk_weights.items():
        console.print(f"risk {k}: {v}")
    console.print(f"[green]OK[/green] {out}, {chart}")


__all__ = ["calibrate"]  # the commands this module adds
