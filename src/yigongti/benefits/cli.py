"""``yigongti adjudicate --data DIR --year Y --out OUT``: benefits of every claim of a year (待遇结算)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yigongti.benefits.domain import NetworkStatus
from yigongti.benefits.service import (
    AdjudicationSummary,
    adjudicate_data,
    adjudicate_folder,
    adjudicated_format,
    summarize,
    write_adjudicated,
)
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
from yigongti.core.money import format_yuan
from yigongti.core.policy_files import resolve_policy
from yigongti.datafolder.folder import find_table_file, read_folder

# The adjudicated file's format and order, as ``adjudicate`` and ``run`` take them (one definition, one help text)
FormatOption = Annotated[str | None, typer.Option(
    "--format", help="csv or parquet (money decimal yuan); default the claims' format: Parquet claims give Parquet / "
                     "输出格式，默认同结算清单的格式")]
SortOption = Annotated[bool | None, typer.Option(
    "--sort/--no-sort", help="rows ordered by claim_id (default: CSV yes, Parquet claims to Parquet no) / "
                             "按 claim_id 排序")]


def output_format(data: Path, fmt: str | None) -> str:
    """``--format`` of a data folder: the adjudicated file's format (``adjudicated_format``), or a usage error."""
    try:
        return adjudicated_format(data, fmt)
    except ValueError:
        raise typer.BadParameter("--format must be csv or parquet / 格式须为 csv 或 parquet") from None


_STATUS_ZH: dict[str, str] = {NetworkStatus.DESIGNATED: "定点", NetworkStatus.IN_CONSORTIUM: "医共体内",
                              NetworkStatus.OTHER_CONSORTIUM: "其他医共体", NetworkStatus.OUTSIDE: "医共体外"}


@app.command("adjudicate")
@exits_on_invalid_input
def adjudicate_command(
    data: DataOption,
    year: Annotated[int, typer.Option("--year", help="year of the claims (admit date) / 结算年度")],
    out: OutOption,
    policy: PolicyOption = None,
    fmt: FormatOption = None,
    backend: EngineOption = "duckdb",
    sort: SortOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """按年度结算每笔费用的待遇 / Adjudicate every claim of a year: network status, deductible, fund and patient
    payments and the rule that decided. Writes OUT/adjudicated.csv, or OUT/adjudicated.parquet for Parquet claims
    (``--format`` chooses; Parquet rows in no order unless ``--sort``). ``--engine spark``: the
    enrollment (when the folder has no designations of Y) and the adjudication run on Spark, the claims spread by
    the person's county; the driver reads the folder and writes the file. Parquet claims are read by the engine
    itself (on Spark: by the executors, never through the driver)."""
    backend = use_engine(backend, spark_master)
    fmt = output_format(data, fmt)
    pol = resolve_policy(data, policy)
    claims = find_table_file(data, "claims")
    if claims is not None and (claims.is_dir() or claims.suffix == ".parquet"):
        summary = adjudicate_folder(data, year, pol, out, fmt=fmt, backend=backend, sort=sort)
    else:
        folder = read_folder(data)
        table = adjudicate_data(folder, year, pol, backend=backend)
        write_adjudicated(table, out, fmt=fmt)
        summary = summarize(table, year)
    _print(summary)
    console.print(f"[green]written to / 已写入 {out / f'adjudicated.{fmt}'}[/green]")


def _print(s: AdjudicationSummary) -> None:
    console.print(f"{s.year}: {s.claims} claims / 笔; fund / 基金支付 {format_yuan(s.fund_paid)}; "
                  f"patient / 个人支付 {format_yuan(s.patient_paid)}")
    for status, (n, fund) in s.by_status.items():
        label = _STATUS_ZH.get(status, status)
        console.print(f"  {label} / {status}: {n} claims / 笔, fund / 基金 {format_yuan(fund)}")


__all__ = ["FormatOption", "SortOption", "adjudicate_command", "output_format"]  # the commands and the options
