"""``yigongti enroll --data DIR --year Y --out OUT``: designations for a year (定点诊疗)."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import (
    DataOption,
    EngineOption,
    OutOption,
    PolicyOption,
    SparkMasterOption,
    app,
    console,
    exits_on_invalid_input,
    use_engine,
)
from yigongti.core.policy_files import resolve_policy
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.report import enrollment_outputs, write_enrollment
from yigongti.enrollment.service import enroll_data


@app.command("enroll")
@exits_on_invalid_input
def enroll(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year of the designations / 定点年度")],
    out: OutOption,
    policy: PolicyOption = None,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
) -> None:
    """确定年度定点并统计人头数 / Designate every insured person for a year; head counts and movement.

    Writes designations.csv, refused_choices.csv, unassigned.csv, stale_carried.csv, headcounts.csv, movements.csv,
    movement_summary.csv and enrollment_report.html into OUT. When OUT is DIR itself, designations.csv keeps the
    folder's designations of other years (those of Y are replaced). ``--engine spark``: the designation runs on
    Spark (persons and choices spread by county); the head counts, movements and report are small tables computed
    on this machine (DuckDB) from the designations Spark returns.
    """
    engine = use_engine(engine, spark_master)
    pol = resolve_policy(data, policy)
    folder = read_folder(data, tables=["institutions", "consortia", "persons", "choices", "designations"])
    result = enroll_data(folder, year, pol, backend=engine)
    outputs = enrollment_outputs(folder, result, pol)
    same_folder = out.resolve() == data.resolve()  # keep the folder's designations of other years
    write_enrollment(outputs, out, other_years=folder.get("designations") if same_folder else None)
    src = ", ".join(f"{k} {v}" for k, v in result.by_source.items())
    console.print(f"{year}: {result.persons} persons designated / 人已定点 ({src})")
    console.print(f"refused choices / 被拒绝的选择: {result.refused.num_rows}; "
                  f"not designated / 无法定点: {result.unassigned.num_rows}")
    console.print(f"[green]written to / 已写入 {out}[/green]")


__all__ = ["enroll"]  # the commands this module adds
