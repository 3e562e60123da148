"""``yigongti check DIR [--engine spark]``: validate a data folder (数据校验).

Here, not in ``datafolder``, because ``--engine spark`` checks the claims with the engine's claims check
(``benefits.folder_check``), which the data folder's layer may not import; without it the command is
``datafolder.service.check_data_folder`` as it always was.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from yigongti.core.cli import EXIT_INVALID, EngineOption, SparkMasterOption, app, console, use_engine
from yigongti.datafolder.service import PROBLEMS_PER_COLUMN, check_data_folder


@app.command("check")
def check(folder: Annotated[Path, typer.Argument(help="data folder / 数据目录")],
          every: Annotated[bool, typer.Option("--all", help="list every problem (default: the first 1,000 of each "
                                                            "file and column, then its count) / 列出全部错误")] = False,
          engine: EngineOption = "duckdb",
          spark_master: SparkMasterOption = None,
          ) -> None:
    """校验数据目录，逐条列出 file:row:column: message（--engine spark：Parquet 结算清单由 Spark 校验，结果相同）/
    Validate a data folder and list its problems (the first 1,000 of each file and column, then how many that column
    has; --all: every one). --engine spark: Parquet claims are checked by Spark (on a cluster: by its executors),
    the other tables on this machine; the same problems are listed."""
    engine = use_engine(engine, spark_master)
    limit = None if every else PROBLEMS_PER_COLUMN
    if engine == "duckdb":
        report = check_data_folder(folder, limit=limit)
    else:
        from yigongti.benefits.folder_check import check_folder_on  # the engines' imports, only when asked

        report = check_folder_on(folder, engine=engine, limit=limit)
    for p in report.problems:
        print(str(p), file=sys.stderr)
    failed = [p for p in report.problems if not p.warning]
    if failed:
        console.print(f"[red]{len(failed)} problem(s) / 共 {len(failed)} 处错误[/red]")
        raise typer.Exit(EXIT_INVALID)
    if report.problems:  # warnings only: the folder is valid
        console.print(f"[yellow]{len(report.problems)} warning(s) / 共 {len(report.problems)} 处警告[/yellow]")
    for name, rows in report.rows.items():
        console.print(f"{name}: {rows} rows / 行")
    console.print("[green]OK / 校验通过[/green]")


__all__ = ["check"]  # the commands this module adds
